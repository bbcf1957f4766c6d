//! `INSERT` (Algorithm 1 of the paper), in two phases so a caller can act between
//! them (the index merges an exact duplicate into an existing element instead of
//! adding it): [`find_neighbours`] only reads the graph, [`connect`] writes it.

use super::search::{descend, search_layer};
use super::select::select_neighbours;
use super::{Candidate, GraphMut, Params, Visited};

/// For a new element with vector `query` and level `level`: the neighbours it should
/// link to on each layer `0..=min(level, entry level)` (index = layer), as chosen by
/// the heuristic from an `ef_construction`-wide search, nearest first. Empty for an
/// empty graph. `found` keeps the whole layer-0 search, so that a caller can find
/// the elements that hold a copy of the vector ([`Neighbourhood::copies`]).
pub struct Neighbourhood<Id> {
    /// Selected neighbours per layer.
    pub layers: Vec<Vec<Candidate<Id>>>,
    /// The live elements the layer-0 search found, nearest first.
    pub found: Vec<Candidate<Id>>,
}

impl<Id: Copy> Neighbourhood<Id> {
    /// The elements found at exactly `self_distance` from the query (the index
    /// distance of the query to itself, `Metric::distance(q, q)`): the candidates to
    /// hold a copy of it, nearest-first order kept. Every copy of the query is among
    /// them when the search found it; the caller compares the vectors. Under inner
    /// product, where a copy need not be the nearest element, the whole list is
    /// looked at, not only its head.
    pub fn copies(&self, self_distance: f32) -> impl Iterator<Item = Id> + '_ {
        self.found
            .iter()
            .filter(move |c| c.distance == self_distance)
            .map(|c| c.id)
    }
}

/// Phase 1: greedy descent to `level + 1`, then an `ef_construction` search on each
/// layer from `min(level, entry level)` down to 0. The new element takes up to the
/// layer's maximum links (`2·m` on layer 0, as pgvector does; hnswlib takes `m`),
/// which costs some build time and buys recall.
pub fn find_neighbours<G: GraphMut>(
    graph: &mut G,
    query: &[f32],
    level: usize,
    params: &Params,
    visited: &mut impl Visited<G::Id>,
) -> Neighbourhood<G::Id> {
    let Some((ep, ep_level)) = graph.entry_point() else {
        return Neighbourhood {
            layers: Vec::new(),
            found: Vec::new(),
        };
    };
    let entry = Candidate {
        distance: graph.distance(query, ep),
        id: ep,
    };
    let top = level.min(ep_level);
    let mut eps = vec![descend(graph, query, entry, ep_level, top, visited)];
    let mut layers = vec![Vec::new(); top + 1];
    let mut found0 = Vec::new();
    for layer in (0..=top).rev() {
        visited.clear();
        // Live elements only (see `search_layer`).
        let found = search_layer(graph, query, &eps, params.ef_construction, layer, visited);
        layers[layer] = select_neighbours(
            graph,
            &found,
            params.max_links(layer),
            params.max_links(layer),
        );
        if layer == 0 {
            found0 = found;
        } else if !found.is_empty() {
            eps = found;
        }
    }
    visited.clear();
    Neighbourhood {
        layers,
        found: found0,
    }
}

/// Phase 2: writes the new element's links ([`GraphMut::set_neighbours`]), links
/// its neighbours back ([`link_back`]), and makes the element the entry point when
/// its level is above the current one (or the graph was empty).
pub fn connect<G: GraphMut>(
    graph: &mut G,
    id: G::Id,
    level: usize,
    neighbourhood: &Neighbourhood<G::Id>,
    params: &Params,
) {
    for (layer, selected) in neighbourhood.layers.iter().enumerate() {
        let ids: Vec<G::Id> = selected.iter().map(|c| c.id).collect();
        graph.set_neighbours(id, layer, &ids);
    }
    link_back(graph, id, neighbourhood, params);
    match graph.entry_point() {
        Some((_, ep_level)) if ep_level >= level => {}
        _ => graph.set_entry_point(id, level),
    }
}

/// Gives the new element `id` its in-links: each selected neighbour on each layer
/// adds the link back (pruning a full list with the heuristic). When every
/// neighbour on a layer prefers its old links, the nearest one keeps the link
/// anyway (forced), so that a search can reach the new element: under inner
/// product, where the largest vectors are everyone's nearest, a new element would
/// otherwise often be left without in-links (a 3-d `random()*random()` build had
/// recall@20 0.87 at ef_search 40 without it, 0.99 with it).
pub fn link_back<G: GraphMut>(
    graph: &mut G,
    id: G::Id,
    neighbourhood: &Neighbourhood<G::Id>,
    params: &Params,
) {
    for (layer, selected) in neighbourhood.layers.iter().enumerate() {
        let max = params.max_links(layer);
        let mut linked = false;
        for c in selected {
            let back = Candidate {
                distance: c.distance,
                id,
            };
            linked |= graph.add_link(c.id, layer, back, max, None);
        }
        if let (false, Some(nearest)) = (linked, selected.first()) {
            let back = Candidate {
                distance: nearest.distance,
                id,
            };
            graph.add_link(nearest.id, layer, back, max, Some(&|_| true));
        }
    }
}

/// Both phases: inserts element `id` with vector `query` at `level`.
pub fn insert<G: GraphMut>(
    graph: &mut G,
    id: G::Id,
    query: &[f32],
    level: usize,
    params: &Params,
    visited: &mut impl Visited<G::Id>,
) {
    let neighbourhood = find_neighbours(graph, query, level, params, visited);
    connect(graph, id, level, &neighbourhood, params);
}
