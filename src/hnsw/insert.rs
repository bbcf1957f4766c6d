//! `INSERT` (Algorithm 1 of the paper), in two phases so a caller can act between
//! them (the index merges an exact duplicate into an existing element instead of
//! adding it): [`find_neighbours`] only reads the graph, [`connect`] writes it.

use super::search::{descend, search_layer};
use super::select::select_neighbours;
use super::{Candidate, GraphMut, Params, Visited};

/// For a new element with vector `query` and level `level`: the neighbours it should
/// link to on each layer `0..=min(level, entry level)` (index = layer), as chosen by
/// the heuristic from an `ef_construction`-wide search, nearest first. Empty for an
/// empty graph. `nearest` of layer 0 is the first candidate of the search, so a
/// caller can detect an exact duplicate.
pub struct Neighbourhood<Id> {
    /// Selected neighbours per layer.
    pub layers: Vec<Vec<Candidate<Id>>>,
    /// The nearest element found on layer 0, if any.
    pub nearest: Option<Candidate<Id>>,
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
            nearest: None,
        };
    };
    let entry = Candidate {
        distance: graph.distance(query, ep),
        id: ep,
    };
    let top = level.min(ep_level);
    let mut eps = vec![descend(graph, query, entry, ep_level, top, visited)];
    let mut layers = vec![Vec::new(); top + 1];
    let mut nearest = None;
    for layer in (0..=top).rev() {
        visited.clear();
        let found = search_layer(graph, query, &eps, params.ef_construction, layer, visited);
        let usable: Vec<Candidate<G::Id>> = found
            .iter()
            .copied()
            .filter(|c| !graph.is_deleted(c.id))
            .collect();
        layers[layer] = select_neighbours(
            graph,
            &usable,
            params.max_links(layer),
            params.max_links(layer),
        );
        if layer == 0 {
            nearest = usable.first().copied();
        }
        eps = found;
    }
    visited.clear();
    Neighbourhood { layers, nearest }
}

/// Phase 2: writes the new element's links, links each neighbour back (pruning full
/// lists with the heuristic), and makes the element the entry point when its level
/// is above the current one (or the graph was empty).
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
        for c in selected {
            let back = Candidate {
                distance: c.distance,
                id,
            };
            graph.add_link(c.id, layer, back, params.max_links(layer));
        }
    }
    match graph.entry_point() {
        Some((_, ep_level)) if ep_level >= level => {}
        _ => graph.set_entry_point(id, level),
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
