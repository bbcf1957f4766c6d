//! `SEARCH-LAYER` (Algorithm 2 of the paper) and the greedy descent through the upper
//! layers (the first loop of Algorithms 1 and 5).

use super::{Candidate, Graph, Visited};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
    let ef = ef.max(1);
    let mut candidates: BinaryHeap<Reverse<Candidate<G::Id>>> = BinaryHeap::new();
    let mut results: BinaryHeap<Candidate<G::Id>> = BinaryHeap::new();
    for &e in entry {
        if e.distance.is_finite() && visited.insert(e.id) {
            candidates.push(Reverse(e));
            if !graph.is_deleted(e.id) {
                results.push(e);
                if results.len() > ef {
                    results.pop();
                }
            }
        }
    }
    let mut neighbours = Vec::new();
    let mut fresh = Vec::new();
    let mut distances = Vec::new();
    while let Some(Reverse(nearest)) = candidates.pop() {
        let farthest = results.peek().map_or(f32::INFINITY, |c| c.distance);
        if nearest.distance > farthest && results.len() >= ef {
            break;
        }
        graph.neighbours(nearest.id, layer, &mut neighbours);
        fresh.clear();
        fresh.extend(neighbours.iter().copied().filter(|&id| visited.insert(id)));
        graph.distances(query, &fresh, &mut distances);
        for (&id, &distance) in fresh.iter().zip(&distances) {
            // An infinite distance is an element that is gone (VACUUM freed its
            // slot after the link to it was read): never a result, never expanded.
            if !distance.is_finite() {
                continue;
            }
            let farthest = results.peek().map_or(f32::INFINITY, |c| c.distance);
            if results.len() < ef || distance < farthest {
                let c = Candidate { distance, id };
                candidates.push(Reverse(c));
                if !graph.is_deleted(id) {
                    results.push(c);
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
    }
    results.into_sorted_vec()
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
