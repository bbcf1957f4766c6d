//! `ambeginscan`, `amrescan`, `amgettuple`, `amendscan`: `ORDER BY embedding <op> $1`.
//!
//! On the first `amgettuple` after a rescan, the search runs to completion: greedy
//! descent from the entry point, then `SEARCH-LAYER` on layer 0 with
//! `hnsw.ef_search` candidates (Algorithm 5 of the paper). The heap TIDs of the
//! found elements, nearest first, are then returned one per call; with
//! `hnsw.iterative_scan` on, further batches follow, or, when the scan evaluates the
//! query's filter or in strict order, a best-first walk (returning only accepted
//! rows), the first batch only seeding it ([`super::iterative`]). An element whose
//! page is read again for its rows must still be at the distance the search measured
//! ([`DiskGraph::result_heap_tids`]), so an element that VACUUM frees, and whose slot
//! an insert reuses, during the search cannot lend another row its rank. The index
//! distance orders like the operator
//! (see [`crate::hnsw::Metric`]), so no recheck is needed. A NULL query returns rows
//! in graph order; so does a zero query vector under cosine distance (undefined:
//! every element is at the same distance), as with pgvector.
//!
//! Each scan counts once in `pg_stat_user_indexes.idx_scan`
//! (`pgstat_count_index_scan`) and, from PostgreSQL 18, as one of `EXPLAIN ANALYZE`'s
//! "Index Searches"; PostgreSQL counts the tuples returned.

use super::disk::DiskGraph;
use super::element::query_element;
use super::iterative::Resumable;
use super::options::ef_search;
use super::scan_settings::scan_limits;
use crate::error::raise;
use crate::hnsw::search::{descend, search_layer};
use crate::hnsw::{Candidate, Graph, IdSet};
use crate::pg::qual::ScanFilter;
use crate::storage::meta::Meta;
use crate::storage::tuple::Tid;
use pgrx::{pg_guard, pg_sys, PgMemoryContexts, PgSqlErrorCode};

#[derive(Default)]
struct ScanState {
    started: bool,
    /// Heap TIDs of the current batch, nearest first, and the next to return.
    results: Vec<Tid>,
    next: usize,
    /// With `hnsw.iterative_scan` on: the search that gives the later batches.
    resumable: Option<Resumable>,
}

/// `ambeginscan`.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(
    index: pg_sys::Relation,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    // SAFETY: RelationGetIndexScan allocates the descriptor; the state lives in the
    // current (executor) memory context and is dropped with it.
    unsafe {
        let scan = pg_sys::RelationGetIndexScan(index, nkeys, norderbys);
        (*scan).opaque = PgMemoryContexts::CurrentMemoryContext
            .leak_and_drop_on_delete(ScanState::default())
            .cast();
        scan
    }
}

/// `amrescan`: new ORDER BY argument; the search restarts on the next `amgettuple`.
#[pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    keys: pg_sys::ScanKey,
    nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    // SAFETY: the executor passes arrays of `nkeys`/`norderbys` scan keys that fit the
    // descriptor's arrays allocated by RelationGetIndexScan.
    unsafe {
        if !keys.is_null() && nkeys > 0 {
            std::ptr::copy(keys, (*scan).keyData, nkeys as usize);
        }
        if !orderbys.is_null() && norderbys > 0 {
            std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
        }
        end_search(scan);
    }
}

/// Ends the scan's search (an iterative scan's filter, [`Resumable::end`]) and
/// resets its state.
///
/// # Safety
/// `scan` is an open scan whose `opaque` is the ScanState set by ambeginscan.
unsafe fn end_search(scan: pg_sys::IndexScanDesc) {
    // SAFETY: per the caller's guarantee.
    let state = unsafe { &mut *(*scan).opaque.cast::<ScanState>() };
    if let Some(resumable) = state.resumable.take() {
        resumable.end();
    }
    *state = ScanState::default();
}

/// Runs the search for the scan's ORDER BY argument: its first batch of heap TIDs,
/// nearest first (none yet when the search walks), and, with
/// `hnsw.iterative_scan` on, the search that goes on.
///
/// # Safety
/// `scan` must be an open scan with one ORDER BY key.
unsafe fn search(scan: pg_sys::IndexScanDesc) -> (Vec<Tid>, Option<Resumable>) {
    // SAFETY: the caller passes a live scan descriptor.
    let (index, key) = unsafe {
        if (*scan).numberOfOrderBys < 1 {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "cannot scan hnsw index without order",
                None,
            );
        }
        ((*scan).indexRelation, *(*scan).orderByData)
    };
    let meta = Meta::read(index);
    let Some((entry, top)) = meta.entry else {
        return (Vec::new(), None);
    };
    let query = if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
        super::element::null_query(&meta)
    } else {
        // SAFETY: a non-null ORDER BY argument of the operator class's type.
        unsafe { query_element(meta.metric, meta.dim, key.sk_argument) }
    };
    let mut graph = DiskGraph::new(index, meta.metric);
    let ef = ef_search();
    let entry = Candidate {
        distance: graph.distance(&query, entry.pack()),
        id: entry.pack(),
    };
    let mut tids = Vec::new();
    if let Some(limits) = scan_limits() {
        let filter = limits
            .filter_in_scan
            .then(|| crate::pg::scan_node::running_node(scan))
            .flatten()
            // SAFETY: the node is running this scan.
            .map(|node| unsafe { ScanFilter::new(node, scan) });
        let resumable = Resumable::start(graph, query, entry, top, ef, limits, filter, &mut tids);
        return (tids, Some(resumable));
    }
    // About ef·m elements are visited; sizing the set once avoids rehashing it.
    let mut visited = IdSet::with_capacity_and_hasher(ef * 48, Default::default());
    let entry = descend(&mut graph, &query, entry, top, 0, &mut visited);
    let found = search_layer(&mut graph, &query, &[entry], ef, 0, &mut visited);
    tids.reserve(found.len());
    for c in found {
        graph.result_heap_tids(c.id, &query, c.distance, &mut tids);
    }
    (tids, None)
}

/// `amgettuple`: the next heap TID in distance order.
#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(
    scan: pg_sys::IndexScanDesc,
    _dir: pg_sys::ScanDirection::Type,
) -> bool {
    // SAFETY: `opaque` is the ScanState set by ambeginscan.
    unsafe {
        let state = &mut *(*scan).opaque.cast::<ScanState>();
        if !state.started {
            state.started = true;
            crate::pg::count_index_scan((*scan).indexRelation);
            crate::pg::count_index_search(scan);
            (state.results, state.resumable) = search(scan);
            state.next = 0;
        }
        while state.next == state.results.len() {
            // This batch is used up: the next one, if the scan is iterative.
            state.results.clear();
            state.next = 0;
            let more = state
                .resumable
                .as_mut()
                .is_some_and(|r| r.next_batch(&mut state.results));
            if !more {
                if let Some(resumable) = state.resumable.take() {
                    resumable.end();
                }
                return false;
            }
        }
        let tid = state.results[state.next];
        state.next += 1;
        pgrx::itemptr::item_pointer_set_all(&mut (*scan).xs_heaptid, tid.block, tid.offset);
        (*scan).xs_recheck = false;
        (*scan).xs_recheckorderby = false;
        true
    }
}

/// `amendscan`: drops what an iterative scan holds at once (up to `work_mem` ×
/// `hnsw.scan_mem_multiplier`); the state itself goes with its memory context.
#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: `opaque` is the ScanState set by ambeginscan.
    unsafe { end_search(scan) }
}
