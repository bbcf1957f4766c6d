//! Linking an element that no walk from the entry point reaches: one mechanism for
//! the build's last step and VACUUM's cleanup (VACUUM's other forced link, from an
//! element's nearest neighbour, is about search quality, not reachability).
//!
//! The neighbour selection heuristic (Algorithm 4 of the paper) can prune away every
//! layer-0 in-link of an older element, and VACUUM's repair can drop the last ones of
//! an element whose neighbours were deleted; a search then never finds it. Such an
//! element is linked from the nearest element that is reached, as an insert forces its
//! nearest neighbour's link back ([`crate::hnsw::insert::link_back`]): through
//! [`GraphMut::add_link`], so a full list is re-selected with the heuristic and the
//! new link takes the place of one whose target keeps another in-link. Re-selecting
//! matters: replacing links one by one, without it, filled the lists of the elements
//! everyone links to with far elements under inner product (issue 10: 6,400 of 10,000
//! 3-d rows relinked, recall@20 fell from 0.997 to 0.85).
//!
//! The caller keeps the picture of the graph ([`Reach`]: what a walk reached, how many
//! in-links each element has) in whatever form fits its size: plain vectors for the
//! build arena, a few bytes per line pointer for an index on disk.
use super::{Candidate, Graph, GraphMut};

/// What the relinker knows of a graph beyond its links.
pub trait Reach<G: Graph + ?Sized> {
    /// `true` when a walk from the entry point along layer 0 reached `id`.
    fn reached(&self, id: G::Id) -> bool;

    /// Marks every element a walk from `from` along layer-0 links reaches.
    fn walk_from(&mut self, graph: &mut G, from: G::Id);

    /// `true` when `id` keeps another layer-0 in-link if one of its in-links is taken
    /// away: a forced link may take the place of a link to it.
    fn can_spare(&self, id: G::Id) -> bool;

    /// Counts a layer-0 in-link of `id` that was added (`added`) or removed.
    fn count_in_link(&mut self, id: G::Id, added: bool);
}

/// Links `lost` on layer 0 from the first element of `candidates` (nearest first;
/// `distance` is the distance from `lost`) that `reach` says is reached and whose list
/// takes the link (forced, in the place of a link whose target can be spared: see
/// the module docs). Keeps `reach` up to date: the in-links the new list dropped and
/// gained, and everything now reachable through `lost`. The lists are read before
/// and after the link, each under its own lock: an insert that changed the list in
/// between moves the counts by its own links too, which only steers which link a
/// later forced link replaces (callers read the graph again between rounds).
/// Returns the element `lost` was linked from, or `None` when no candidate took the
/// link (a candidate whose list changed meanwhile is passed over for the next).
pub fn link_from_reached<G: GraphMut, R: Reach<G>>(
    graph: &mut G,
    reach: &mut R,
    lost: G::Id,
    candidates: &[Candidate<G::Id>],
    max: usize,
) -> Option<G::Id> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for c in candidates {
        if c.id == lost || !reach.reached(c.id) {
            continue;
        }
        graph.neighbours(c.id, 0, &mut before);
        let link = Candidate {
            distance: c.distance,
            id: lost,
        };
        let spare = |id: G::Id| reach.can_spare(id);
        if !graph.add_link(c.id, 0, link, max, Some(&spare)) {
            continue;
        }
        graph.neighbours(c.id, 0, &mut after);
        for &dropped in before.iter().filter(|w| !after.contains(w)) {
            reach.count_in_link(dropped, false);
        }
        if !before.contains(&lost) && after.contains(&lost) {
            reach.count_in_link(lost, true);
        }
        reach.walk_from(graph, lost);
        return Some(c.id);
    }
    None
}

/// A [`Reach`] over dense ids `0..n` (the build arena's, and the in-memory graph's
/// of the tests): per element, whether a walk from the entry point reached it and
/// its layer-0 in-links.
pub struct DenseReach {
    /// Reached by a walk, by id.
    pub seen: Vec<bool>,
    /// Layer-0 in-links, by id.
    pub in_links: Vec<u32>,
}

impl DenseReach {
    /// Nothing reached and no in-link counted, for `n` elements.
    pub fn new(n: usize) -> DenseReach {
        DenseReach {
            seen: vec![false; n],
            in_links: vec![0; n],
        }
    }
}

impl<G: Graph<Id = u32>> Reach<G> for DenseReach {
    fn reached(&self, id: u32) -> bool {
        self.seen[id as usize]
    }

    fn walk_from(&mut self, graph: &mut G, from: u32) {
        if std::mem::replace(&mut self.seen[from as usize], true) {
            return;
        }
        let (mut stack, mut links) = (vec![from], Vec::new());
        while let Some(id) = stack.pop() {
            graph.neighbours(id, 0, &mut links);
            for &l in &links {
                if !std::mem::replace(&mut self.seen[l as usize], true) {
                    stack.push(l);
                }
            }
        }
    }

    fn can_spare(&self, id: u32) -> bool {
        self.in_links[id as usize] >= 2
    }

    fn count_in_link(&mut self, id: u32, added: bool) {
        let n = &mut self.in_links[id as usize];
        *n = if added { *n + 1 } else { n.saturating_sub(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::memory::MemoryGraph;
    use crate::hnsw::{Metric, Params};

    #[test]
    fn links_from_the_nearest_reached_and_counts_in_links() {
        // 0 → 1 → 2 on a line; 3 (beside 2) and 4 (beside 3) are reached by nothing.
        let params = Params {
            m: 2,
            ef_construction: 8,
        };
        let mut g = MemoryGraph::new(1, Metric::L2, params);
        for x in [0.0, 1.0, 2.0, 3.0, 4.0] {
            g.push(&[x], 0);
        }
        g.set_neighbours(0, 0, &[1]);
        g.set_neighbours(1, 0, &[0, 2]);
        g.set_neighbours(2, 0, &[1]);
        g.set_neighbours(3, 0, &[4]);
        g.set_neighbours(4, 0, &[3]);
        let mut reach = DenseReach {
            seen: vec![false; 5],
            in_links: vec![1, 2, 1, 1, 1],
        };
        reach.walk_from(&mut g, 0);
        assert_eq!(reach.seen, [true, true, true, false, false]);
        // 4 (unreached) and 2 (reached, distance 1) are its candidates: 2 links it.
        let candidates = [
            Candidate {
                distance: 1.0,
                id: 4,
            },
            Candidate {
                distance: 1.0,
                id: 2,
            },
            Candidate {
                distance: 2.0,
                id: 1,
            },
        ];
        assert_eq!(
            link_from_reached(&mut g, &mut reach, 3, &candidates, 1),
            Some(2)
        );
        // A list of one link: 2 → 1 gave way to 2 → 3 (1 keeps its in-link from 0).
        let mut links = Vec::new();
        g.neighbours(2, 0, &mut links);
        assert_eq!(links, [3]);
        assert_eq!(reach.in_links, [1, 1, 1, 2, 1]);
        assert!(
            reach.seen.iter().all(|&s| s),
            "3 and 4 are reached through the new link"
        );
        // Nothing reached among the candidates: no link.
        reach.seen = vec![false, false, false, false, false];
        assert_eq!(
            link_from_reached(&mut g, &mut reach, 4, &candidates, 1),
            None
        );
    }
}
