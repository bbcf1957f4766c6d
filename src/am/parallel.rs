//! Parallel `CREATE INDEX`: the leader and the workers scan the heap together (a
//! parallel table scan) and insert into one graph held in dynamic shared memory
//! ([`SharedGraph`]: a spinlock per element, never one lock for the graph), each
//! with its own [`Builder`]. When the scan is over, the leader writes the graph to
//! pages with the serial build's [`flush`]; when the graph fills up first, the
//! participant that notices writes it out and everyone continues on disk (see
//! [`Shared`]). The worker count comes from the planner (`max_parallel_maintenance_workers`,
//! the table's `parallel_workers`, its size): from 17 PostgreSQL plans it because the
//! access method says `amcanbuildparallel`; before, `ambuild` asks
//! `plan_create_index_workers` itself ([`crate::pg::planned_build_workers`]). Either
//! way `ambuild` launches the workers, as nbtree's `nbtsort.c` does (PostgreSQL docs,
//! "Parallel Query"; `access/parallel.h`).
//!
//! Memory: the shared block is sized from the row estimate with a fifth to spare, and
//! capped like the serial build's block ([`block_limit`]) so that it plus each
//! process's private memory stays within `maintenance_work_mem`.

use super::build::{
    block_limit, build_callback, flush, graph_lanes, Builder, Shared, FLUSHED, MEMORY,
};
use crate::storage::meta::Meta;
use crate::storage::page::UnloggedBuild;
use crate::storage::shared_graph::{Lanes, SharedGraph};
use pgrx::{pg_guard, pg_sys};
use std::sync::atomic::Ordering;

const KEY_SHARED: u64 = 0x4853_4e57_0000_0001;
const KEY_SCAN: u64 = 0x4853_4e57_0000_0002;
const KEY_GRAPH: u64 = 0x4853_4e57_0000_0003;

/// Scans this participant's share of the heap into the shared graph.
///
/// # Safety
/// `toc` is the build's DSM table of contents; the relations are open.
unsafe fn participate(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
    toc: *mut pg_sys::shm_toc,
    leader: bool,
) {
    let meta = Meta::read(index);
    // SAFETY: the keys were inserted by the leader before the workers started.
    let (shared, scan, graph) = unsafe {
        (
            pg_sys::shm_toc_lookup(toc, KEY_SHARED, false).cast::<Shared>(),
            pg_sys::shm_toc_lookup(toc, KEY_SCAN, false)
                .cast::<pg_sys::ParallelTableScanDescData>(),
            SharedGraph::attach(
                pg_sys::shm_toc_lookup(toc, KEY_GRAPH, false).cast(),
                meta.metric,
                meta.params(),
            ),
        )
    };
    let mut builder = Builder::new(index, shared, graph, leader);
    // SAFETY: a parallel scan over the shared descriptor; the callback receives
    // `builder`; table_index_build_scan ends the scan.
    let tuples = unsafe {
        let scan = pg_sys::table_beginscan_parallel(heap, scan);
        pg_sys::table_index_build_scan(
            heap,
            index,
            index_info,
            true,
            leader,
            Some(build_callback),
            (&mut builder as *mut Builder).cast(),
            scan,
        )
    };
    // SAFETY: as above.
    unsafe { &*shared }
        .heap_tuples
        .fetch_add(tuples as u64, Ordering::Relaxed);
}

/// The entry point of a worker (`CreateParallelContext` names it).
///
/// # Safety
/// Called by PostgreSQL in a parallel worker with the build's DSM segment.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn hnsw_parallel_build_main(
    _seg: *mut pg_sys::dsm_segment,
    toc: *mut pg_sys::shm_toc,
) {
    // SAFETY: the leader wrote the shared state; the worker opens the relations with
    // the locks nbtree's workers take (the leader holds stronger ones).
    unsafe {
        let shared = &*pg_sys::shm_toc_lookup(toc, KEY_SHARED, false).cast::<Shared>();
        let heap_lock = if shared.concurrent {
            pg_sys::ShareUpdateExclusiveLock
        } else {
            pg_sys::ShareLock
        } as pg_sys::LOCKMODE;
        let index_lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
        let heap = pg_sys::table_open(shared.heap, heap_lock);
        let index = pg_sys::index_open(shared.index, index_lock);
        let index_info = pg_sys::BuildIndexInfo(index);
        (*index_info).ii_Concurrent = shared.concurrent;
        let unlogged = UnloggedBuild::start(index);
        participate(heap, index, index_info, toc, false);
        drop(unlogged);
        pg_sys::index_close(index, index_lock);
        pg_sys::table_close(heap, heap_lock);
    }
}

/// Rows the heap probably holds: its rows per page when last analysed times its
/// pages now (the planner's way, `estimate_rel_size`); `None` when it was never
/// analysed.
pub fn row_estimate(heap: pg_sys::Relation) -> Option<f64> {
    // SAFETY: reads the relation's statistics and size.
    let (reltuples, relpages, blocks) = unsafe {
        (
            (*(*heap).rd_rel).reltuples as f64,
            (*(*heap).rd_rel).relpages,
            pg_sys::RelationGetNumberOfBlocksInFork(heap, pg_sys::ForkNumber::MAIN_FORKNUM),
        )
    };
    (reltuples >= 0.0 && relpages > 0).then(|| reltuples / f64::from(relpages) * f64::from(blocks))
}

/// Bytes of the shared graph: enough for `rows` (if known: the table was analysed or
/// vacuumed) with a fifth to spare and at least 64 MB, at most [`block_limit`].
/// Elements of varying length (`lanes`), whose sizes the scan has yet to see, are
/// counted at the largest (`largest` lanes, in the upper area, beside a record of two
/// lanes), so the block is never too small for the rows, and a small table does not
/// take all of `maintenance_work_mem` of shared memory.
fn graph_bytes(rows: Option<f64>, lanes: Lanes, largest: usize, m: usize, limit: usize) -> usize {
    let (dim, cap) = match lanes {
        Lanes::Fixed(n) => (n, block_limit(limit, n, m)),
        Lanes::Variable => (2 + largest, block_limit(limit, 2, m)),
    };
    match rows {
        Some(rows) => {
            let wanted = SharedGraph::bytes_for((rows * 1.2) as usize + 1000, dim, m);
            wanted.max(64 << 20).min(cap)
        }
        None => cap,
    }
}

/// `BUFFERALIGN`: shm_toc chunks are aligned to 32 bytes.
fn buffer_align(n: usize) -> usize {
    n.next_multiple_of(pg_sys::ALIGNOF_BUFFER as usize)
}

/// Builds the index with `workers` workers and the leader; returns the heap tuples
/// scanned, the rows indexed and whether the graph outgrew its block (the rest went
/// to disk), or `None` (nothing done) when no worker could be launched, so the
/// caller builds serially. `estimate` is [`row_estimate`].
///
/// # Safety
/// Called from `ambuild` with the relations it was given, the metapage written,
/// and [`UnloggedBuild`] started.
pub unsafe fn build(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
    workers: i32,
    limit: usize,
    estimate: Option<f64>,
) -> Option<(f64, f64, bool)> {
    let meta = Meta::read(index);
    // The largest element: at most two lanes per dimension (a sparsevec(3) has 6).
    let largest = meta.lanes().min(2 * meta.dim);
    let bytes = graph_bytes(estimate, graph_lanes(&meta), largest, meta.m, limit);
    // SAFETY: the sequence of nbtsort.c's _bt_begin_parallel / _bt_end_parallel: a
    // parallel context with our shared state, the parallel scan descriptor and the
    // graph in its DSM segment; every exit path destroys it and leaves parallel mode
    // (an error does so through transaction abort).
    unsafe {
        let concurrent = (*index_info).ii_Concurrent;
        pg_sys::EnterParallelMode();
        let pcxt = pg_sys::CreateParallelContext(
            c"pgvec_hnsw".as_ptr(),
            c"hnsw_parallel_build_main".as_ptr(),
            workers,
        );
        let snapshot = if concurrent {
            pg_sys::RegisterSnapshot(pg_sys::GetTransactionSnapshot())
        } else {
            &raw mut pg_sys::SnapshotAnyData
        };
        let scan_bytes = pg_sys::table_parallelscan_estimate(heap, snapshot);
        let e = &mut (*pcxt).estimator;
        e.space_for_chunks += buffer_align(std::mem::size_of::<Shared>())
            + buffer_align(scan_bytes)
            + buffer_align(bytes);
        e.number_of_keys += 3;
        pg_sys::InitializeParallelDSM(pcxt);
        let finish = |pcxt: *mut pg_sys::ParallelContext| {
            pg_sys::DestroyParallelContext(pcxt);
            if concurrent {
                pg_sys::UnregisterSnapshot(snapshot);
            }
            pg_sys::ExitParallelMode();
        };
        if (*pcxt).seg.is_null() {
            // No DSM segment could be created: PostgreSQL runs without workers.
            finish(pcxt);
            return None;
        }
        let toc = (*pcxt).toc;
        let shared = pg_sys::shm_toc_allocate(toc, std::mem::size_of::<Shared>()).cast::<Shared>();
        shared.write(Shared::new(
            heap,
            index,
            concurrent,
            estimate.unwrap_or(0.0),
        ));
        pg_sys::shm_toc_insert(toc, KEY_SHARED, shared.cast());
        let scan =
            pg_sys::shm_toc_allocate(toc, scan_bytes).cast::<pg_sys::ParallelTableScanDescData>();
        pg_sys::table_parallelscan_initialize(heap, scan, snapshot);
        pg_sys::shm_toc_insert(toc, KEY_SCAN, scan.cast());
        let block = pg_sys::shm_toc_allocate(toc, bytes).cast::<u8>();
        let graph = SharedGraph::init(block, bytes, graph_lanes(&meta), meta.metric, meta.params());
        pg_sys::shm_toc_insert(toc, KEY_GRAPH, block.cast());

        pg_sys::LaunchParallelWorkers(pcxt);
        LAST_LAUNCHED.set((*pcxt).nworkers_launched);
        if (*pcxt).nworkers_launched == 0 {
            pg_sys::WaitForParallelWorkersToFinish(pcxt);
            finish(pcxt);
            return None;
        }
        pgrx::debug1!("using {} parallel workers", (*pcxt).nworkers_launched);
        pgrx::debug1!("hnsw parallel build: shared graph of {} MB", bytes >> 20);
        let started = std::time::Instant::now();
        participate(heap, index, index_info, toc, true);
        pg_sys::WaitForParallelWorkersToFinish(pcxt);
        let shared = &*shared;
        if shared.mode.load(Ordering::SeqCst) == MEMORY {
            let scanned = started.elapsed();
            flush(index, meta.m, &graph);
            pgrx::debug1!(
                "hnsw parallel build: {} elements inserted in {:.2} s, written in {:.2} s",
                graph.len(),
                scanned.as_secs_f64(),
                (started.elapsed() - scanned).as_secs_f64()
            );
        }
        let counts = (
            shared.heap_tuples.load(Ordering::SeqCst) as f64,
            shared.indexed.load(Ordering::SeqCst) as f64,
            shared.mode.load(Ordering::SeqCst) == FLUSHED,
        );
        finish(pcxt);
        Some(counts)
    }
}

thread_local! {
    /// Workers the last parallel build of this backend launched (0 when none
    /// started); read by tests that must know a worker really ran.
    static LAST_LAUNCHED: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// The number of workers the last `CREATE INDEX` of this backend launched.
pub fn last_workers_launched() -> i32 {
    LAST_LAUNCHED.get()
}

/// Workers the planner allows for building an index on `heap`
/// (`max_parallel_maintenance_workers`, the table's `parallel_workers`, its size;
/// [`crate::pg::planned_build_workers`]: PostgreSQL plans them from 17, the access
/// method asks before). Called once per build: [`last_workers_launched`] reads 0
/// until workers start.
pub fn planned_workers(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> i32 {
    LAST_LAUNCHED.set(0);
    // SAFETY: reads a global of this backend.
    if !unsafe { pg_sys::IsUnderPostmaster } {
        return 0;
    }
    crate::pg::planned_build_workers(heap, index, index_info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_block_follows_the_estimate_within_the_limit() {
        let mb = 1usize << 20;
        let b = graph_bytes(Some(100_000.0), Lanes::Fixed(384), 384, 16, 2048 * mb);
        assert!(b >= SharedGraph::bytes_for(120_000, 384, 16), "{b}");
        assert!(b < 300 * mb, "{b}");
        assert_eq!(
            graph_bytes(Some(10.0), Lanes::Fixed(384), 384, 16, 2048 * mb),
            64 * mb
        );
        assert_eq!(
            graph_bytes(Some(1e9), Lanes::Fixed(384), 384, 16, 64 * mb),
            block_limit(64 * mb, 384, 16)
        );
        assert_eq!(
            graph_bytes(None, Lanes::Fixed(384), 384, 16, 2048 * mb),
            block_limit(2048 * mb, 384, 16)
        );
        // Sparse rows, counted at 1,000 non-zero elements each (8,000 bytes of lanes).
        let b = graph_bytes(
            Some(10_000.0),
            Lanes::Variable,
            2 * crate::hnsw::metric::MAX_SPARSE_NNZ,
            16,
            2048 * mb,
        );
        assert!(b >= 13_000 * 8_000 && b < 200 * mb, "{b}");
        assert_eq!(
            graph_bytes(
                None,
                Lanes::Variable,
                2 * crate::hnsw::metric::MAX_SPARSE_NNZ,
                16,
                2048 * mb
            ),
            block_limit(2048 * mb, 2, 16)
        );
    }
}
