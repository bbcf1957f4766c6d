//! `SEARCH-LAYER` (Algorithm 2 of the paper) and the greedy descent through the upper
//! layers (the first loop of Algorithms 1 and 5).

use super::{Candidate, Graph, Visited};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a resumable search measured but did not return: nearest first. The next
/// batch starts from its nearest elements ([`resume_layer`]).
pub type Discarded<Id> = BinaryHeap<Reverse<Candidate<Id>>>;

/// Searches one layer from `entry`, keeping the `ef` nearest live elements to
/// `query` found; returns them nearest first.
///
/// Starts from the entry candidates, expands the nearest unexpanded candidate while it
/// is nearer than the farthest of the current `ef` results, and visits each element at
/// most once (`visited` is not cleared here). Deleted elements
/// ([`Graph::is_deleted`], known once measured) are expanded like any other, so the
/// search routes through them, but take no place among the results (as hnswlib does
/// with elements marked deleted): otherwise, where most elements are deleted, a
/// search would return a handful of live ones and the links VACUUM rebuilds from it
/// would be too few.
pub fn search_layer<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: &[Candidate<G::Id>],
    ef: usize,
    layer: usize,
    visited: &mut impl Visited<G::Id>,
) -> Vec<Candidate<G::Id>> {
    let start = unvisited(entry, visited);
    expand(graph, query, &start, ef, layer, visited, None)
}

/// [`search_layer`] as the first batch of a resumable search (the iterative index
/// scan of pgvector 0.8): every element it measures and does not return, and every
/// deleted element it did not expand, goes to `discarded`.
pub fn search_layer_resumable<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: &[Candidate<G::Id>],
    ef: usize,
    layer: usize,
    visited: &mut impl Visited<G::Id>,
    discarded: &mut Discarded<G::Id>,
) -> Vec<Candidate<G::Id>> {
    let start = unvisited(entry, visited);
    expand(graph, query, &start, ef, layer, visited, Some(discarded))
}

/// The next batch of a resumable search: the search goes on from the `ef` nearest
/// elements of `discarded` (already visited: `visited` is the first batch's, kept),
/// which compete for the `ef` results with what it finds from them; the rest goes
/// back to `discarded`. Empty once `discarded` is.
pub fn resume_layer<G: Graph>(
    graph: &mut G,
    query: &[f32],
    ef: usize,
    layer: usize,
    visited: &mut impl Visited<G::Id>,
    discarded: &mut Discarded<G::Id>,
) -> Vec<Candidate<G::Id>> {
    let mut start = Vec::with_capacity(ef.max(1));
    while start.len() < ef.max(1) {
        let Some(Reverse(c)) = discarded.pop() else {
            break;
        };
        start.push(c);
    }
    expand(graph, query, &start, ef, layer, visited, Some(discarded))
}

/// The entries not visited yet (marking them visited), with a finite distance.
fn unvisited<Id: Copy>(
    entry: &[Candidate<Id>],
    visited: &mut impl Visited<Id>,
) -> Vec<Candidate<Id>> {
    entry
        .iter()
        .copied()
        .filter(|e| e.distance.is_finite() && visited.insert(e.id))
        .collect()
}

/// The loop of `SEARCH-LAYER` from `start` (visited already); with `discarded`,
/// what is measured and not kept goes there (see [`search_layer_resumable`]).
fn expand<G: Graph>(
    graph: &mut G,
    query: &[f32],
    start: &[Candidate<G::Id>],
    ef: usize,
    layer: usize,
    visited: &mut impl Visited<G::Id>,
    mut discarded: Option<&mut Discarded<G::Id>>,
) -> Vec<Candidate<G::Id>> {
    let ef = ef.max(1);
    let mut candidates: BinaryHeap<Reverse<Candidate<G::Id>>> = BinaryHeap::new();
    let mut results: BinaryHeap<Candidate<G::Id>> = BinaryHeap::new();
    // Keeps `c` among the results, dropping the farthest when there are more than ef.
    let keep = |results: &mut BinaryHeap<Candidate<G::Id>>,
                c,
                discarded: &mut Option<&mut Discarded<G::Id>>| {
        results.push(c);
        if results.len() > ef {
            let farthest = results.pop().expect("more than ef results");
            if let Some(d) = discarded {
                d.push(Reverse(farthest));
            }
        }
    };
    for &e in start {
        candidates.push(Reverse(e));
        if !graph.is_deleted(e.id) {
            keep(&mut results, e, &mut discarded);
        }
    }
    let mut scratch = Scratch::default();
    while let Some(Reverse(nearest)) = candidates.pop() {
        let farthest = results.peek().map_or(f32::INFINITY, |c| c.distance);
        if nearest.distance > farthest && results.len() >= ef {
            if discarded.is_some() && graph.is_deleted(nearest.id) {
                candidates.push(Reverse(nearest));
            }
            break;
        }
        measure_neighbours(
            graph,
            query,
            nearest.id,
            layer,
            visited,
            &mut scratch,
            |graph, c| {
                let farthest = results.peek().map_or(f32::INFINITY, |c| c.distance);
                if results.len() < ef || c.distance < farthest {
                    candidates.push(Reverse(c));
                    if !graph.is_deleted(c.id) {
                        keep(&mut results, c, &mut discarded);
                    }
                } else if let Some(d) = discarded.as_mut() {
                    d.push(Reverse(c));
                }
            },
        );
    }
    if let Some(d) = discarded {
        // Deleted elements left unexpanded: later batches may route through them
        // (the live ones left are among the results or already discarded).
        d.extend(
            candidates
                .into_iter()
                .filter(|Reverse(c)| graph.is_deleted(c.id)),
        );
    }
    results.into_sorted_vec()
}

/// Reusable buffers of [`measure_neighbours`].
pub struct Scratch<Id> {
    neighbours: Vec<Id>,
    fresh: Vec<Id>,
    distances: Vec<f32>,
}

impl<Id> Scratch<Id> {
    /// The neighbour list [`measure_listed`] measures.
    pub fn neighbours(&mut self) -> &mut Vec<Id> {
        &mut self.neighbours
    }

    /// Bytes of heap memory held.
    pub fn bytes(&self) -> usize {
        (self.neighbours.capacity() + self.fresh.capacity()) * size_of::<Id>()
            + self.distances.capacity() * size_of::<f32>()
    }
}

impl<Id> Default for Scratch<Id> {
    fn default() -> Self {
        Scratch {
            neighbours: Vec::new(),
            fresh: Vec::new(),
            distances: Vec::new(),
        }
    }
}

/// Expands element `id` on `layer`: measures its neighbours not visited yet (marking
/// them visited) and passes each one at a finite distance from `query` to `found`.
/// An infinite distance is an element that is gone (VACUUM freed its slot after the
/// link to it was read): never a result, never expanded.
pub fn measure_neighbours<G: Graph>(
    graph: &mut G,
    query: &[f32],
    id: G::Id,
    layer: usize,
    visited: &mut impl Visited<G::Id>,
    scratch: &mut Scratch<G::Id>,
    found: impl FnMut(&G, Candidate<G::Id>),
) {
    graph.neighbours(id, layer, &mut scratch.neighbours);
    measure_listed(graph, query, visited, scratch, found);
}

/// [`measure_neighbours`] of a neighbour list already read into
/// [`Scratch::neighbours`].
pub fn measure_listed<G: Graph>(
    graph: &mut G,
    query: &[f32],
    visited: &mut impl Visited<G::Id>,
    scratch: &mut Scratch<G::Id>,
    mut found: impl FnMut(&G, Candidate<G::Id>),
) {
    scratch.fresh.clear();
    scratch.fresh.extend(
        scratch
            .neighbours
            .iter()
            .copied()
            .filter(|&id| visited.insert(id)),
    );
    graph.distances(query, &scratch.fresh, &mut scratch.distances);
    for (&id, &distance) in scratch.fresh.iter().zip(&scratch.distances) {
        if distance.is_finite() {
            found(graph, Candidate { distance, id });
        }
    }
}

/// Descends greedily from the entry point at `top` down to `bottom + 1`, one nearest
/// live element per layer (staying where it is on a layer whose search finds none),
/// and returns the entry for layer `bottom`.
pub fn descend<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: Candidate<G::Id>,
    top: usize,
    bottom: usize,
    visited: &mut impl Visited<G::Id>,
) -> Candidate<G::Id> {
    let mut best = entry;
    for layer in (bottom + 1..=top).rev() {
        visited.clear();
        if let Some(&nearest) = search_layer(graph, query, &[best], 1, layer, visited).first() {
            best = nearest;
        }
    }
    visited.clear();
    best
}
