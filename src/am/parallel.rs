//! Parallel `CREATE INDEX`: the leader and the workers scan the heap together (a
//! parallel table scan) and insert into one graph held in dynamic shared memory
//! ([`SharedGraph`]: a spinlock per element, never one lock for the graph). When the
//! scan is over, the leader writes the graph to pages with the serial build's
//! [`flush`]. PostgreSQL 15 leaves parallel builds to the access method
//! (`amcanbuildparallel` came in 17), so `ambuild` asks the planner for a worker count
//! (`plan_create_index_workers`: `max_parallel_maintenance_workers`, the table's
//! `parallel_workers`, its size) and launches them itself, as nbtree's `nbtsort.c`
//! does (PostgreSQL docs, "Parallel Query"; `access/parallel.h`).
//!
//! Memory: the shared block holds the graph and is sized from the row estimate,
//! capped so that it, plus the per-process visited set and the flush's bookkeeping,
//! stays within `maintenance_work_mem`. When it fills up anyway, the participant that
//! notices sets the mode to "full", waits for the inserts in flight to finish, raises
//! the build's NOTICE, writes the graph out, and sets the mode to "flushed"; everyone
//! then inserts the rest on disk, with `aminsert`'s locking (without per-change WAL: the
//! leader logs every page at the end). An insert announces itself (`inflight`) before
//! it looks at the mode, so the flush never sees a graph being changed.

use super::build::{flush, notice_over_budget, prepare_row, FLUSH_BYTES_PER_ELEMENT};
use super::disk;
use super::progress::{self, Phase};
use crate::hnsw::memory::EpochVisited;
use crate::hnsw::Params;
use crate::storage::meta::Meta;
use crate::storage::page::{self, UnloggedBuild};
use crate::storage::shared_graph::{Inserted, SharedGraph};
use crate::storage::tuple::Tid;
use crate::types::datum::VectorArg;
use pgrx::{pg_guard, pg_sys, PgMemoryContexts};
use rand::SeedableRng;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const KEY_SHARED: u64 = 0x4853_4e57_0000_0001;
const KEY_SCAN: u64 = 0x4853_4e57_0000_0002;
const KEY_GRAPH: u64 = 0x4853_4e57_0000_0003;

/// Inserting into the shared graph.
const MEMORY: u32 = 0;
/// The graph is full; one participant is writing it out.
const FULL: u32 = 1;
/// The graph is on disk; the rest go there.
const FLUSHED: u32 = 2;

/// The build's state in shared memory.
#[repr(C)]
struct Shared {
    heap: pg_sys::Oid,
    index: pg_sys::Oid,
    concurrent: bool,
    /// [`MEMORY`], [`FULL`] or [`FLUSHED`].
    mode: AtomicU32,
    /// Participants inserting into the shared graph right now.
    inflight: AtomicU32,
    /// Rows indexed by all participants.
    indexed: AtomicU64,
    /// Heap tuples scanned by all participants.
    heap_tuples: AtomicU64,
    /// The planner's row estimate (for the NOTICE).
    estimate: f64,
}

/// One participant (the leader or a worker).
struct Participant {
    index: pg_sys::Relation,
    shared: *const Shared,
    graph: SharedGraph,
    dim: usize,
    params: Params,
    metric: crate::hnsw::Metric,
    max_level: usize,
    visited: EpochVisited,
    rng: rand::rngs::StdRng,
    leader: bool,
    phase: u32,
    tmp: PgMemoryContexts,
}

impl Participant {
    fn shared(&self) -> &Shared {
        // SAFETY: the shared state lives in the DSM segment for the whole build.
        unsafe { &*self.shared }
    }

    fn add(&mut self, raw: &[f32], heap_tid: Tid) {
        let Some(v) = prepare_row(self.metric, self.dim, raw) else {
            return;
        };
        let done = self.shared().indexed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.leader {
            progress::tuples_done(done as f64);
        }
        let shared = self.shared;
        // SAFETY: as in `shared()`; a raw deref so `self.graph` can be borrowed.
        let shared = unsafe { &*shared };
        if shared.mode.load(Ordering::SeqCst) == MEMORY {
            shared.inflight.fetch_add(1, Ordering::SeqCst);
            if shared.mode.load(Ordering::SeqCst) == MEMORY {
                let level = self.params.random_level(&mut self.rng).min(self.max_level);
                let r = self
                    .graph
                    .insert(&v, level, heap_tid.pack(), &mut self.visited);
                shared.inflight.fetch_sub(1, Ordering::SeqCst);
                if r != Inserted::Full {
                    return;
                }
                if shared
                    .mode
                    .compare_exchange(MEMORY, FULL, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    self.spill();
                }
            } else {
                shared.inflight.fetch_sub(1, Ordering::SeqCst);
            }
        }
        while shared.mode.load(Ordering::SeqCst) != FLUSHED {
            wait();
        }
        self.report_phase();
        disk::insert(self.index, &v, heap_tid, &mut self.rng);
    }

    /// The shared graph is full: wait for the inserts in flight, say so, write it out.
    fn spill(&mut self) {
        let shared = self.shared();
        while shared.inflight.load(Ordering::SeqCst) != 0 {
            wait();
        }
        let total = shared
            .estimate
            .max(shared.indexed.load(Ordering::Relaxed) as f64) as u64;
        notice_over_budget(self.graph.len(), total, self.dim, self.params.m);
        flush(self.index, self.dim, self.params.m, &self.graph);
        self.shared().mode.store(FLUSHED, Ordering::SeqCst);
    }

    /// The leader reports a phase change it sees.
    fn report_phase(&mut self) {
        let mode = self.shared().mode.load(Ordering::Relaxed);
        if self.leader && mode != self.phase {
            self.phase = mode;
            progress::phase(Phase::InsertingOnDisk);
        }
    }
}

/// Sleeps briefly, serving interrupts (a failed participant's error reaches the
/// leader here; a cancelled leader stops the workers).
fn wait() {
    pgrx::check_for_interrupts!();
    // SAFETY: a plain sleep.
    unsafe { pg_sys::pg_usleep(100) };
}

#[pg_guard]
unsafe extern "C-unwind" fn callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _tuple_is_alive: bool,
    state: *mut std::ffi::c_void,
) {
    // SAFETY: `state` is the Participant passed to table_index_build_scan; `values`
    // and `isnull` hold the one indexed column; `tid` is the heap TID.
    unsafe {
        let state = &mut *state.cast::<Participant>();
        if *isnull {
            return;
        }
        let (block, offset) = pgrx::itemptr::item_pointer_get_both(*tid);
        let datum = *values;
        state.tmp.reset();
        let mut tmp = PgMemoryContexts::For(state.tmp.value());
        tmp.switch_to(|_| {
            let v = VectorArg::from_datum(datum);
            state.add(&v, Tid { block, offset });
        });
    }
}

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
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    // SAFETY: the keys were inserted by the leader before the workers started.
    let (shared, scan, graph) = unsafe {
        (
            pg_sys::shm_toc_lookup(toc, KEY_SHARED, false).cast::<Shared>(),
            pg_sys::shm_toc_lookup(toc, KEY_SCAN, false)
                .cast::<pg_sys::ParallelTableScanDescData>(),
            SharedGraph::attach(
                pg_sys::shm_toc_lookup(toc, KEY_GRAPH, false).cast(),
                meta.metric,
                params,
            ),
        )
    };
    let mut state = Participant {
        index,
        shared,
        graph,
        dim: meta.dim,
        params,
        metric: meta.metric,
        max_level: page::max_level(meta.dim, meta.m),
        visited: EpochVisited::default(),
        rng: rand::rngs::StdRng::from_rng(&mut rand::rng()),
        leader,
        phase: MEMORY,
        tmp: PgMemoryContexts::new("hnsw parallel build tuple"),
    };
    // SAFETY: a parallel scan over the shared descriptor; the callback receives
    // `state`; table_index_build_scan ends the scan.
    let tuples = unsafe {
        let scan = pg_sys::table_beginscan_parallel(heap, scan);
        pg_sys::table_index_build_scan(
            heap,
            index,
            index_info,
            true,
            leader,
            Some(callback),
            (&mut state as *mut Participant).cast(),
            scan,
        )
    };
    state
        .shared()
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
/// pages now, or (never analysed) its pages times the rows of `dim` dimensions that
/// fit on one.
fn row_estimate(heap: pg_sys::Relation, dim: usize) -> f64 {
    // SAFETY: reads the relation's statistics and size.
    let (reltuples, relpages, blocks) = unsafe {
        (
            (*(*heap).rd_rel).reltuples as f64,
            (*(*heap).rd_rel).relpages,
            pg_sys::RelationGetNumberOfBlocksInFork(heap, pg_sys::ForkNumber::MAIN_FORKNUM),
        )
    };
    if reltuples > 0.0 && relpages > 0 {
        // The planner's way (estimate_rel_size): the density seen by the last
        // VACUUM/ANALYZE times the pages the table has now.
        reltuples / f64::from(relpages) * f64::from(blocks)
    } else {
        f64::from(blocks) * (page::BLOCK_SIZE / (dim * 4 + 40)).max(1) as f64
    }
}

/// Bytes of the shared graph: enough for the estimated rows with a fifth to spare (at
/// least 64 MB), at most what leaves room in `limit` for each process's visited set
/// and the flush's bookkeeping.
fn graph_bytes(rows: f64, dim: usize, m: usize, limit: usize) -> usize {
    let per_element_private = 4 + FLUSH_BYTES_PER_ELEMENT;
    let cap = limit.saturating_sub(SharedGraph::capacity(limit, dim, m) * per_element_private);
    let wanted = SharedGraph::bytes_for((rows * 1.2) as usize + 1000, dim, m).max(64 << 20);
    wanted.min(cap).max(1 << 20)
}

/// `BUFFERALIGN`: shm_toc chunks are aligned to 32 bytes.
fn buffer_align(n: usize) -> usize {
    n.next_multiple_of(pg_sys::ALIGNOF_BUFFER as usize)
}

/// What a parallel build returns: heap tuples scanned, rows indexed.
pub struct Counts {
    /// Heap tuples the scan saw.
    pub heap_tuples: f64,
    /// Rows indexed.
    pub indexed: f64,
}

/// Builds the index with `workers` workers and the leader; `None` (nothing done)
/// when no worker could be launched, so the caller builds serially.
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
) -> Option<Counts> {
    let meta = Meta::read(index);
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    let estimate = row_estimate(heap, meta.dim);
    let bytes = graph_bytes(estimate, meta.dim, meta.m, limit);
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
        shared.write(Shared {
            heap: (*heap).rd_id,
            index: (*index).rd_id,
            concurrent,
            mode: AtomicU32::new(MEMORY),
            inflight: AtomicU32::new(0),
            indexed: AtomicU64::new(0),
            heap_tuples: AtomicU64::new(0),
            estimate,
        });
        pg_sys::shm_toc_insert(toc, KEY_SHARED, shared.cast());
        let scan =
            pg_sys::shm_toc_allocate(toc, scan_bytes).cast::<pg_sys::ParallelTableScanDescData>();
        pg_sys::table_parallelscan_initialize(heap, scan, snapshot);
        pg_sys::shm_toc_insert(toc, KEY_SCAN, scan.cast());
        let block = pg_sys::shm_toc_allocate(toc, bytes).cast::<u8>();
        let graph = SharedGraph::init(block, bytes, meta.dim, meta.metric, params);
        pg_sys::shm_toc_insert(toc, KEY_GRAPH, block.cast());

        pg_sys::LaunchParallelWorkers(pcxt);
        if (*pcxt).nworkers_launched == 0 {
            pg_sys::WaitForParallelWorkersToFinish(pcxt);
            finish(pcxt);
            return None;
        }
        pgrx::debug1!(
            "hnsw parallel build: {} workers launched, shared graph of {} MB",
            (*pcxt).nworkers_launched,
            bytes >> 20
        );
        let started = std::time::Instant::now();
        participate(heap, index, index_info, toc, true);
        pg_sys::WaitForParallelWorkersToFinish(pcxt);
        let shared = &*shared;
        if shared.mode.load(Ordering::SeqCst) == MEMORY {
            let scanned = started.elapsed();
            flush(index, meta.dim, meta.m, &graph);
            pgrx::debug1!(
                "hnsw parallel build: {} elements inserted in {:.2} s, written in {:.2} s",
                graph.len(),
                scanned.as_secs_f64(),
                (started.elapsed() - scanned).as_secs_f64()
            );
        }
        let counts = Counts {
            heap_tuples: shared.heap_tuples.load(Ordering::SeqCst) as f64,
            indexed: shared.indexed.load(Ordering::SeqCst) as f64,
        };
        finish(pcxt);
        Some(counts)
    }
}

/// Workers the planner allows for building an index on `heap`
/// (`max_parallel_maintenance_workers`, the table's `parallel_workers`, its size).
pub fn planned_workers(heap: pg_sys::Relation, index: pg_sys::Relation) -> i32 {
    // SAFETY: both relations are open; the planner reads the catalogs.
    unsafe {
        if !pg_sys::IsUnderPostmaster {
            return 0;
        }
        pg_sys::plan_create_index_workers((*heap).rd_id, (*index).rd_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_block_stays_within_the_limit() {
        let mb = 1usize << 20;
        // Plenty of memory: sized from the estimate.
        let b = graph_bytes(100_000.0, 384, 16, 2048 * mb);
        assert!(b >= SharedGraph::bytes_for(100_000, 384, 16), "{b}");
        assert!(b < 300 * mb, "{b}");
        // Too little: the block plus private bookkeeping fit in the limit.
        for limit in [64 * mb, 2048 * mb] {
            let b = graph_bytes(1e9, 384, 16, limit);
            let n = SharedGraph::capacity(b, 384, 16);
            assert!(
                b + n * (4 + FLUSH_BYTES_PER_ELEMENT) <= limit,
                "{limit}: {b}"
            );
            assert!(b >= limit / 100 * 98, "{limit}: {b}");
        }
        assert_eq!(graph_bytes(1e9, 384, 16, mb / 2), mb, "at least 1 MB");
    }
}
