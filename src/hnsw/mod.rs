//! The HNSW algorithms of Malkov & Yashunin, "Efficient and robust approximate nearest
//! neighbor search using Hierarchical Navigable Small World graphs" (2016/2018).
//!
//! Postgres-free: the algorithms are written once, generic over [`Graph`] (read the
//! neighbours of an element, measure a distance) and [`GraphMut`] (write neighbour
//! lists, move the entry point), so that the in-memory build (`storage::shared_graph`), the on-disk
//! insert and vacuum's repair run the same code. Plain `cargo test` covers it.
//!
//! - [`search`]: `SEARCH-LAYER` (Algorithm 2) and the greedy descent through the upper
//!   layers;
//! - [`select`]: `SELECT-NEIGHBORS-HEURISTIC` (Algorithm 4);
//! - [`insert`]: `INSERT` (Algorithm 1), split into finding neighbours and connecting;
//! - [`reconnect`]: linking an element no walk from the entry point reaches;
//! - [`visited`]: the visited set over dense ids;
//! - `memory` (tests only): a plain in-memory graph the tests build and search.

pub mod insert;
#[cfg(test)]
pub mod memory;
pub mod metric;
pub mod reconnect;
pub mod search;
pub mod select;
pub mod visited;

pub use metric::Metric;

use std::cmp::Ordering;
use std::fmt::Debug;
use std::hash::Hash;

/// The highest layer an element can be drawn for. With `m ≥ 2` the chance of a higher
/// draw is below 2·10⁻⁵; capping bounds the size of a neighbour list.
pub const MAX_LEVEL: usize = 15;

/// Build parameters of an index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// `M`: links per element on layers ≥ 1; layer 0 keeps up to `2·M`.
    pub m: usize,
    /// `efConstruction`: width of the candidate search while inserting.
    pub ef_construction: usize,
}

impl Params {
    /// The most links an element keeps on `layer` (`M_max0 = 2·M` on layer 0).
    pub fn max_links(&self, layer: usize) -> usize {
        if layer == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    /// `mL = 1 / ln(M)`, the level normalisation factor (paper, section 4.1).
    pub fn level_multiplier(&self) -> f64 {
        1.0 / (self.m as f64).ln()
    }

    /// Draws an element's level `floor(-ln(U) · mL)` for `U` uniform in `(0, 1]`,
    /// capped at [`MAX_LEVEL`].
    pub fn random_level(&self, rng: &mut impl rand::Rng) -> usize {
        let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        ((-u.ln() * self.level_multiplier()).floor() as usize).min(MAX_LEVEL)
    }
}

/// An element and its distance to some query: the unit of every candidate list.
/// Ordered by distance, then by id, so heaps and sorts are total.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<Id> {
    /// Distance to the query (smaller is nearer).
    pub distance: f32,
    /// The element.
    pub id: Id,
}

impl<Id: Ord> PartialEq for Candidate<Id> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<Id: Ord> Eq for Candidate<Id> {}
impl<Id: Ord> PartialOrd for Candidate<Id> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<Id: Ord> Ord for Candidate<Id> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Read access to an HNSW graph.
pub trait Graph {
    /// How an element is named: a dense number in memory, a TID on disk.
    type Id: Copy + Eq + Ord + Hash + Debug;

    /// Distance from `query` to element `id`.
    fn distance(&mut self, query: &[f32], id: Self::Id) -> f32;

    /// Distance between two elements.
    fn distance_between(&mut self, a: Self::Id, b: Self::Id) -> f32;

    /// Replaces `out` with the neighbours of `id` on `layer` (empty above its level).
    fn neighbours(&mut self, id: Self::Id, layer: usize, out: &mut Vec<Self::Id>);

    /// The metric distances are measured in.
    fn metric(&self) -> Metric;

    /// Whether `id` is deleted (all its rows are gone; VACUUM will unlink it): a
    /// search still routes through it, but it is never chosen as a neighbour. Needs
    /// to be right only for elements whose distance was just asked for; the default
    /// (an in-memory build graph) has no deleted elements.
    fn is_deleted(&self, _id: Self::Id) -> bool {
        false
    }

    /// Replaces `out` with the distances from `query` to each of `ids`, in order.
    ///
    /// One call per expanded neighbour list lets an implementation fetch the
    /// elements' memory together and read each page once; the default calls
    /// [`Graph::distance`] for each.
    fn distances(&mut self, query: &[f32], ids: &[Self::Id], out: &mut Vec<f32>) {
        out.clear();
        for &id in ids {
            let d = self.distance(query, id);
            out.push(d);
        }
    }
}

/// Write access to an HNSW graph.
pub trait GraphMut: Graph {
    /// The entry point and its level, or `None` for an empty graph.
    fn entry_point(&mut self) -> Option<(Self::Id, usize)>;

    /// Makes `id` (of level `level`) the entry point.
    fn set_entry_point(&mut self, id: Self::Id, level: usize);

    /// Replaces the neighbour list of `id` on `layer`.
    fn set_neighbours(&mut self, id: Self::Id, layer: usize, neighbours: &[Self::Id]);

    /// Adds the link `id → new` on `layer`, where `new.distance` is the distance
    /// from `id` ([`select::with_link`]: appended, or the full list of `max` links
    /// re-selected with the heuristic; with `force`, `new` stays in any case, in the
    /// place of a link `force` says can be spared).
    /// Returns whether the list now holds `new`. The build arena and the on-disk
    /// graph override this to choose without holding their lock and write only if
    /// the list did not change meanwhile.
    fn add_link(
        &mut self,
        id: Self::Id,
        layer: usize,
        new: Candidate<Self::Id>,
        max: usize,
        force: Option<&dyn Fn(Self::Id) -> bool>,
    ) -> bool {
        let mut current = Vec::new();
        self.neighbours(id, layer, &mut current);
        match select::with_link(self, id, &current, new, max, force) {
            None => true,
            Some(list) => {
                self.set_neighbours(id, layer, &list);
                list.contains(&new.id)
            }
        }
    }
}

/// A folded-multiply hasher for integer ids: visited sets hash thousands of ids per
/// search, and SipHash's DoS resistance buys nothing here.
///
/// Each word is multiplied by an odd constant into 128 bits and the two halves are
/// xored (the "folded multiply" of wyhash and foldhash), so every bit of the id moves
/// the low bits that pick a bucket. A plain multiply (FxHash) does not: its low bits
/// depend only on the id's low bits, and a packed TID ([`crate::storage::tuple::Tid::pack`])
/// keeps its block number above bit 16, so ids at one page offset would share their
/// bucket bits and turn every set lookup into a long probe.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        let product = u128::from(self.0 ^ v) * 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
}

/// Heap bytes of a hash table (std's, hashbrown's layout) with room for `capacity`
/// entries of `entry` bytes: a power-of-two number of buckets loaded to at most 7/8,
/// each an entry and a control byte (plus a group of control bytes). What an
/// iterative scan counts of its visited set.
pub fn hash_table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8).div_ceil(7).next_power_of_two();
    buckets * (entry + 1) + 16
}

/// A hash set of ids using [`IdHasher`]; the visited set of on-disk searches.
pub type IdSet<Id> = std::collections::HashSet<Id, std::hash::BuildHasherDefault<IdHasher>>;

/// A set of visited elements for one search.
pub trait Visited<Id> {
    /// Marks `id` visited; `true` when it was not visited before.
    fn insert(&mut self, id: Id) -> bool;
    /// Forgets every element.
    fn clear(&mut self);
}

impl<Id: Hash + Eq, S: std::hash::BuildHasher> Visited<Id> for std::collections::HashSet<Id, S> {
    fn insert(&mut self, id: Id) -> bool {
        std::collections::HashSet::insert(self, id)
    }
    fn clear(&mut self) {
        std::collections::HashSet::clear(self)
    }
}

#[cfg(test)]
mod tests {
    use super::IdHasher;
    use std::hash::Hasher;

    /// The low 12 bits of the hash (the bucket of a 4096-bucket table) of 4096 packed
    /// TIDs at one page offset on consecutive blocks.
    fn buckets_used(offset: u64) -> usize {
        let mut used = std::collections::HashSet::new();
        for block in 0..4096u64 {
            let mut h = IdHasher::default();
            h.write_u64((block << 16) | offset);
            used.insert(h.finish() & 4095);
        }
        used.len()
    }

    #[test]
    fn ids_at_one_page_offset_spread_over_buckets() {
        // Random placement fills about 1 - 1/e of the buckets (2589 of 4096).
        for offset in [1, 2, 5] {
            assert!(buckets_used(offset) > 2400, "{}", buckets_used(offset));
        }
    }
}
