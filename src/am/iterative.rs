//! The batches of an iterative index scan (`hnsw.iterative_scan`, as in pgvector
//! 0.8): when the first `ef_search` results are used up, the layer-0 search goes on
//! from the nearest elements it had measured and not returned, with its visited set
//! kept, `ef_search` results a batch ([`crate::hnsw::search::resume_layer`]).
//!
//! It stops searching once it has visited `hnsw.max_scan_tuples` elements or its
//! memory (the visited set, the discarded elements and the graph's caches, counted
//! from their allocations) exceeds `work_mem` × `hnsw.scan_mem_multiplier`; then it
//! returns what it still holds, nearest first, and ends. `relaxed_order` returns
//! each batch in distance order; `strict_order` leaves out any element nearer than
//! one whose rows it already returned.
//!
//! Between batches (and between `amgettuple` calls) the scan holds no buffer pin or
//! lock, only element TIDs and distances: inserts and VACUUM go on beside a paused
//! cursor. A discarded element that VACUUM has freed since is not measured again: it
//! is expanded (no neighbours) and may take a result place of its batch at its old
//! distance, but gives no rows; one whose slot an insert reused gives rows only if
//! its vector is at the distance measured before ([`DiskGraph::result_heap_tids`]),
//! so no row takes another's rank.

use super::disk::DiskGraph;
use super::scan_settings::ScanLimits;
use crate::hnsw::search::{descend, resume_layer, search_layer_resumable, Discarded};
use crate::hnsw::{hash_table_bytes, Candidate, IdSet};
use crate::pg::qual::ScanFilter;
use crate::storage::tuple::Tid;

/// A layer-0 search that can go on, batch after batch.
pub struct Resumable {
    graph: DiskGraph,
    query: Vec<f32>,
    ef: usize,
    limits: ScanLimits,
    visited: IdSet<u64>,
    discarded: Discarded<u64>,
    /// Distance of the last element whose rows were returned (for strict order).
    last: f32,
    /// The query's filter, when the scan evaluates it ([`crate::pg::scan_node`]).
    filter: Option<ScanFilter>,
    /// Heap TIDs of one element, before the filter.
    tids: Vec<Tid>,
}

impl Resumable {
    /// Descends from `entry` (on layer `top`), runs the first batch of `ef`
    /// results on layer 0 and appends their heap TIDs, nearest first, to `out`
    /// (with `filter`, only those of rows it accepts).
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
            filter,
            tids: Vec::new(),
        };
        search.take(&batch, out);
        search
    }

    /// Appends the heap TIDs of the next batch to `out`; `false` when the scan has
    /// nothing more to return.
    pub fn next_batch(&mut self, out: &mut Vec<Tid>) -> bool {
        while out.is_empty() {
            pgrx::check_for_interrupts!();
            if self.discarded.is_empty() {
                return false;
            }
            let batch = if self.visited.len() >= self.limits.max_tuples
                || self.bytes() > self.limits.max_bytes
            {
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

    /// Appends the rows of `batch` (nearest first) to `out`, in strict order only
    /// those not nearer than the last returned, with a filter only those it accepts.
    fn take(&mut self, batch: &[Candidate<u64>], out: &mut Vec<Tid>) {
        for c in batch {
            if self.limits.strict && c.distance < self.last {
                continue;
            }
            self.tids.clear();
            self.graph
                .result_heap_tids(c.id, &self.query, c.distance, &mut self.tids);
            let before = out.len();
            match self.filter.as_mut() {
                Some(filter) => out.extend(self.tids.iter().filter(|&&t| filter.accepts(t))),
                None => out.extend_from_slice(&self.tids),
            }
            if out.len() > before {
                self.last = c.distance;
            }
        }
    }

    /// Releases what the filter holds ([`ScanFilter::end`]); the rest is memory.
    pub fn end(mut self) {
        if let Some(filter) = self.filter.take() {
            filter.end();
        }
    }

    /// Heap bytes held: the visited set, the discarded elements and the graph's
    /// caches.
    fn bytes(&self) -> usize {
        hash_table_bytes(self.visited.capacity(), size_of::<u64>())
            + self.discarded.capacity() * size_of::<Candidate<u64>>()
            + self.query.capacity() * size_of::<f32>()
            + self.tids.capacity() * size_of::<Tid>()
            + self.graph.heap_bytes()
    }
}
