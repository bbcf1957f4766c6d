//! The batches of an iterative index scan (`hnsw.iterative_scan`, as in pgvector
//! 0.8): when the first `ef_search` results are used up, the layer-0 search goes on
//! from the nearest elements it had measured and not returned, with its visited set
//! kept, `ef_search` results a batch ([`crate::hnsw::search::resume_layer`]).
//!
//! It stops searching once it has visited `hnsw.max_scan_tuples` elements or its
//! memory (the visited set, the discarded elements and the graph's caches, counted
//! from their allocations) exceeds `work_mem` × `hnsw.scan_mem_multiplier`; then it
//! returns what it still holds, nearest first, and ends. `relaxed_order` returns
//! each batch in distance order; `strict_order` leaves out any row nearer than one
//! it already returned.
//!
//! With the query's filter in the scan ([`crate::pg::scan_node`]), or in strict
//! order, the search after the first batch is one best-first walk instead of
//! batches: it takes the nearest element measured and not yet expanded, evaluates
//! the filter (if any) on its rows, and expands it
//! (measures its neighbours), whether its rows pass or not, so rejected elements
//! still lead the walk to accepted ones (as ACORN-1 does, Patel et al. 2024, §4).
//! An accepted row is returned once no element left to expand is nearer and `ef`
//! expanded elements are farther (the walk looks as far past a row as a search of
//! `ef` results looks past its last one); so rows come nearly in distance order,
//! rejected rows take no place a batch could have given an accepted one, strict order
//! has almost nothing to leave out, and the walk goes about `ef` elements past the
//! rows the executor asks for. Its memory counts the accepted rows and expanded
//! distances it holds too.
//!
//! Between batches (and between `amgettuple` calls) the scan holds no buffer pin or
//! lock, only element TIDs and distances: inserts and VACUUM go on beside a paused
//! cursor. A discarded element that VACUUM has freed since is not measured again: it
//! is expanded (its slot's neighbours, if any) and may take a result place of its
//! batch (or count among the walk's `ef` farther elements) at its old distance, but
//! gives no rows; one whose slot an insert reused gives rows only if its vector is at
//! the distance measured before ([`DiskGraph::result_heap_tids`]), so no row takes
//! another's rank.

use super::disk::DiskGraph;
use super::scan_settings::ScanLimits;
use crate::hnsw::search::{
    descend, measure_listed, resume_layer, search_layer_resumable, Discarded, Scratch,
};
use crate::hnsw::{hash_table_bytes, Candidate, Graph, IdSet};
use crate::pg::qual::ScanFilter;
use crate::storage::tuple::Tid;
use std::cmp::Reverse;

/// The part of a walking search (with the query's filter, or in strict order) that
/// batches lack.
struct Walk {
    /// The query's filter, when the scan evaluates it; otherwise every row passes.
    filter: Option<ScanFilter>,
    /// Heap TIDs (packed) of accepted rows not returned yet, nearest first.
    accepted: Discarded<u64>,
    /// The expanded elements not nearer than the nearest accepted row (as far as it
    /// knows), nearest first: that row is returned once `ef` of them are farther.
    beyond: Discarded<u64>,
    scratch: Scratch<u64>,
}

impl Walk {
    /// Appends to `out` the accepted rows that are settled; if there are none, takes
    /// the nearest element of `search` not expanded yet, keeps its rows the filter
    /// accepts and expands it (unless over a limit). `false` when nothing is left.
    ///
    /// An accepted row is settled when no element left to expand is nearer and `ef`
    /// expanded elements are farther: an element can be reachable only through
    /// farther ones.
    fn step(&mut self, search: &mut Resumable, out: &mut Vec<Tid>) -> bool {
        let frontier = search.discarded.peek().map(|c| c.0.distance);
        while let Some(&Reverse(row)) = self.accepted.peek() {
            while self
                .beyond
                .peek()
                .is_some_and(|c| c.0.distance <= row.distance)
            {
                self.beyond.pop();
            }
            let settled =
                frontier.is_none_or(|f| f > row.distance && self.beyond.len() >= search.ef);
            if !settled {
                break;
            }
            self.accepted.pop();
            if search.in_order(row.distance) {
                out.push(Tid::unpack(row.id));
            }
        }
        if !out.is_empty() {
            return true;
        }
        let Some(Reverse(nearest)) = search.discarded.pop() else {
            return false;
        };
        // A deleted element is expanded but, as in a batch, takes no place: it is
        // not one of the `ef` farther elements a row waits for.
        if !search.graph.is_deleted(nearest.id) {
            self.beyond.push(Reverse(nearest));
        }
        search.tids.clear();
        let exhausted = search.exhausted(self.bytes());
        if exhausted {
            search.graph.result_heap_tids(
                nearest.id,
                &search.query,
                nearest.distance,
                &mut search.tids,
            );
        } else {
            search.graph.result_heap_tids_and_neighbours(
                nearest.id,
                &search.query,
                nearest.distance,
                0,
                &mut search.tids,
                self.scratch.neighbours(),
            );
        }
        for &tid in &search.tids {
            if self.filter.as_mut().is_none_or(|f| f.accepts(tid)) {
                self.accepted.push(Reverse(Candidate {
                    distance: nearest.distance,
                    id: tid.pack(),
                }));
            }
        }
        if !exhausted {
            let discarded = &mut search.discarded;
            measure_listed(
                &mut search.graph,
                &search.query,
                &mut search.visited,
                &mut self.scratch,
                |_, c| discarded.push(Reverse(c)),
            );
        }
        true
    }

    /// Heap bytes held: the accepted rows, the expanded distances and the scratch.
    fn bytes(&self) -> usize {
        (self.accepted.capacity() + self.beyond.capacity()) * size_of::<Candidate<u64>>()
            + self.scratch.bytes()
    }
}

/// A layer-0 search that can go on, batch after batch.
pub struct Resumable {
    graph: DiskGraph,
    query: Vec<f32>,
    ef: usize,
    limits: ScanLimits,
    visited: IdSet<u64>,
    /// Measured elements not returned, nearest first; in a walk, those not
    /// expanded yet.
    discarded: Discarded<u64>,
    /// Distance of the last element whose rows were returned (for strict order).
    last: f32,
    /// The walk after the first batch, with the query's filter when the scan
    /// evaluates it ([`crate::pg::scan_node`]) or in strict order; batches otherwise.
    walk: Option<Walk>,
    /// Heap TIDs of one element, before the filter.
    tids: Vec<Tid>,
}

impl Resumable {
    /// Descends from `entry` (on layer `top`), runs the first batch of `ef`
    /// results on layer 0 and appends their heap TIDs, nearest first, to `out`; with
    /// `filter` or in strict order, the batch only seeds the walk of
    /// [`Resumable::next_batch`], and `out` stays empty.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        mut graph: DiskGraph,
        query: Vec<f32>,
        entry: Candidate<u64>,
        top: usize,
        ef: usize,
        limits: ScanLimits,
        filter: Option<ScanFilter>,
        out: &mut Vec<Tid>,
    ) -> Resumable {
        let mut visited = IdSet::with_capacity_and_hasher(ef * 48, Default::default());
        let mut discarded = Discarded::new();
        let entry = descend(&mut graph, &query, entry, top, 0, &mut visited);
        let batch = search_layer_resumable(
            &mut graph,
            &query,
            &[entry],
            ef,
            0,
            &mut visited,
            &mut discarded,
        );
        let mut search = Resumable {
            graph,
            query,
            ef,
            limits,
            visited,
            discarded,
            last: f32::NEG_INFINITY,
            walk: (filter.is_some() || limits.strict).then(|| Walk {
                filter,
                accepted: Discarded::new(),
                beyond: Discarded::new(),
                scratch: Scratch::default(),
            }),
            tids: Vec::new(),
        };
        if search.walk.is_some() {
            search.discarded.extend(batch.into_iter().map(Reverse));
        } else {
            search.take(&batch, out);
        }
        search
    }

    /// Whether the search has visited `hnsw.max_scan_tuples` elements or holds more
    /// than its memory budget (with `more` bytes held elsewhere): then it measures
    /// nothing more.
    fn exhausted(&self, more: usize) -> bool {
        self.visited.len() >= self.limits.max_tuples || self.bytes() + more > self.limits.max_bytes
    }

    /// Whether a row at `distance` may be returned now (in strict order, not nearer
    /// than the last returned); if so, it is the last returned.
    fn in_order(&mut self, distance: f32) -> bool {
        if self.limits.strict && distance < self.last {
            return false;
        }
        self.last = distance;
        true
    }

    /// Appends the heap TIDs of the next batch (in a walk, the next rows it settles)
    /// to `out`; `false` when the scan has nothing more to return.
    pub fn next_batch(&mut self, out: &mut Vec<Tid>) -> bool {
        while out.is_empty() {
            pgrx::check_for_interrupts!();
            if self.walk.is_some() {
                if !self.walk_step(out) {
                    return false;
                }
                continue;
            }
            if self.discarded.is_empty() {
                return false;
            }
            let batch = if self.exhausted(0) {
                // Over a limit: no more searching; what is held, nearest first.
                let n = self.ef.max(1).min(self.discarded.len());
                (0..n)
                    .filter_map(|_| self.discarded.pop().map(|c| c.0))
                    .collect()
            } else {
                resume_layer(
                    &mut self.graph,
                    &self.query,
                    self.ef,
                    0,
                    &mut self.visited,
                    &mut self.discarded,
                )
            };
            self.take(&batch, out);
        }
        true
    }

    /// One step of the walk ([`Walk::step`]); `false` when nothing is left.
    fn walk_step(&mut self, out: &mut Vec<Tid>) -> bool {
        // Taken out for the step and put back. An ERROR in between ends the scan
        // without `end` (see ScanFilter::end: no Drop; its resource owner releases
        // what it holds).
        let Some(mut walk) = self.walk.take() else {
            return false;
        };
        let more = walk.step(self, out);
        self.walk = Some(walk);
        more
    }

    /// Appends the rows of `batch` (nearest first) to `out` (relaxed order: strict
    /// order walks).
    fn take(&mut self, batch: &[Candidate<u64>], out: &mut Vec<Tid>) {
        for c in batch {
            self.graph
                .result_heap_tids(c.id, &self.query, c.distance, out);
        }
    }

    /// Releases what the filter holds ([`ScanFilter::end`]); the rest is memory.
    pub fn end(mut self) {
        if let Some(filter) = self.walk.take().and_then(|w| w.filter) {
            filter.end();
        }
    }

    /// Heap bytes held: the visited set, the discarded elements, the graph's caches
    /// and what a walk holds.
    fn bytes(&self) -> usize {
        self.walk.as_ref().map_or(0, Walk::bytes)
            + hash_table_bytes(self.visited.capacity(), size_of::<u64>())
            + self.discarded.capacity() * size_of::<Candidate<u64>>()
            + self.query.capacity() * size_of::<f32>()
            + self.tids.capacity() * size_of::<Tid>()
            + self.graph.heap_bytes()
    }
}
