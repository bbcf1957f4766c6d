//! `ambuild` and `ambuildempty`: `CREATE INDEX … USING hnsw`.
//!
//! The heap is scanned once. Each row's vector is inserted into an in-memory graph
//! ([`SharedGraph`]: fixed-size element records in one block of memory, and the
//! `sparsevec` elements, which differ in length, beside them) sized to
//! `maintenance_work_mem`, less what each process needs besides it (a visited set,
//! the flush's bookkeeping). A serial build keeps the block in private memory (only
//! the part used becomes resident); a parallel build ([`super::parallel`]) puts it in
//! dynamic shared memory, and the leader and its workers insert concurrently with the
//! same [`Builder`]. When the graph is complete it is written to pages in one pass, in
//! an order chosen for locality (see [`locality_order`]): the upper layers that every
//! search walks together on the first pages, then layer 0 in breadth-first order,
//! each element's neighbour tuple beside it. Every page is WAL-logged once at the end.
//!
//! When the next element does not fit, the build raises a NOTICE (how many tuples
//! fitted and roughly how much memory the whole graph needs), writes the graph it has,
//! and inserts the remaining rows on disk with the same algorithm `aminsert` uses
//! (without a WAL record per change: the build logs every page at its end). It never
//! exceeds the limit and never fails for lack of memory.
//!
//! NULL rows are skipped, and so are zero vectors for `vector_cosine_ops` and
//! `halfvec_cosine_ops` (their cosine distance is undefined). Rows with a value
//! identical to an element already in the graph become an extra heap TID of that
//! element (up to 10). Elements are held as lanes ([`crate::distance::lanes`]): `dim`
//! below is an element's length in lanes (the dimensions of a `vector`; each element
//! its own for a `sparsevec`).

use super::element::{index_dimensions, index_metric, row_element};
use super::insert;
use super::options::index_options;
use super::parallel;
use super::progress::{self, Phase};
use crate::hnsw::visited::EpochVisited;
use crate::hnsw::{Metric, Params};
use crate::storage::chain;
use crate::storage::layout;
use crate::storage::meta::Meta;
use crate::storage::page::{self, BuildPage};
use crate::storage::shared_graph::{Inserted, Lanes, SharedGraph};
use crate::storage::tuple::{self, Body, Tid, MAX_HEAP_TIDS};
use crate::storage::PAGE_ELEMENTS;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{pg_guard, pg_sys, PgLogLevel, PgMemoryContexts, PgSqlErrorCode};
use rand::SeedableRng;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Inserting into the in-memory graph.
pub(super) const MEMORY: u32 = 0;
/// The graph is full; one participant is writing it out.
pub(super) const FULL: u32 = 1;
/// The graph is on disk; the remaining rows go there.
pub(super) const FLUSHED: u32 = 2;

/// The state of a build that all its participants share (in dynamic shared memory
/// for a parallel build).
///
/// The mode moves from [`MEMORY`] to [`FULL`] (set by the participant whose insert
/// found the graph full; it waits for the inserts in flight, raises the NOTICE and
/// writes the graph out) to [`FLUSHED`] (everyone inserts on disk from then on). An
/// insert announces itself in `inflight` before it looks at the mode, so the flush
/// never sees a graph being changed.
#[repr(C)]
pub(super) struct Shared {
    pub heap: pg_sys::Oid,
    pub index: pg_sys::Oid,
    pub concurrent: bool,
    /// [`MEMORY`], [`FULL`] or [`FLUSHED`].
    pub mode: AtomicU32,
    /// Participants inserting into the in-memory graph right now.
    pub inflight: AtomicU32,
    /// Rows indexed by all participants.
    pub indexed: AtomicU64,
    /// Heap tuples scanned by all participants.
    pub heap_tuples: AtomicU64,
    /// The row estimate (for the NOTICE).
    pub estimate: f64,
}

impl Shared {
    /// The state of a new build of `index` on `heap`.
    pub fn new(
        heap: pg_sys::Relation,
        index: pg_sys::Relation,
        concurrent: bool,
        estimate: f64,
    ) -> Shared {
        // SAFETY: both relations are open.
        let (heap, index) = unsafe { ((*heap).rd_id, (*index).rd_id) };
        Shared {
            heap,
            index,
            concurrent,
            mode: AtomicU32::new(MEMORY),
            inflight: AtomicU32::new(0),
            indexed: AtomicU64::new(0),
            heap_tuples: AtomicU64::new(0),
            estimate,
        }
    }
}

/// One participant of a build (the leader, alone or with workers, or a worker): its
/// view of the graph and its own visited set, random levels and tuple context.
pub(super) struct Builder {
    index: pg_sys::Relation,
    shared: *const Shared,
    graph: SharedGraph,
    /// The column's dimensions (rows are checked against them).
    dim: usize,
    params: Params,
    metric: Metric,
    max_level: usize,
    visited: EpochVisited,
    rng: rand::rngs::StdRng,
    leader: bool,
    phase: u32,
    tmp: PgMemoryContexts,
}

impl Builder {
    /// A participant of the build of `index` (its metapage written) with state
    /// `shared` and graph `graph`; the leader reports progress.
    pub fn new(
        index: pg_sys::Relation,
        shared: *const Shared,
        graph: SharedGraph,
        leader: bool,
    ) -> Builder {
        let meta = Meta::read(index);
        Builder {
            index,
            shared,
            graph,
            dim: meta.dim,
            params: Params {
                m: meta.m,
                ef_construction: meta.ef_construction,
            },
            metric: meta.metric,
            max_level: layout::max_level(meta.m),
            visited: EpochVisited::default(),
            rng: rand::rngs::StdRng::from_rng(&mut rand::rng()),
            leader,
            phase: MEMORY,
            tmp: PgMemoryContexts::new("hnsw build tuple"),
        }
    }

    fn shared(&self) -> &'static Shared {
        // SAFETY: the shared state outlives the build's scan, which is as long as a
        // Builder is used.
        unsafe { &*self.shared }
    }

    /// Adds the row `heap_tid` of value `datum` (of the index's type).
    ///
    /// # Safety
    /// `datum` is a non-null value of the indexed column's type.
    unsafe fn add(&mut self, datum: pg_sys::Datum, heap_tid: Tid) {
        // SAFETY: passed on from the caller.
        let Some(v) = (unsafe { row_element(self.metric, self.dim, datum) }) else {
            return;
        };
        let shared = self.shared();
        let done = shared.indexed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.leader {
            progress::tuples_done(done as f64);
        }
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
        if self.leader && self.phase != FLUSHED {
            self.phase = FLUSHED;
            progress::phase(Phase::InsertingOnDisk);
        }
        insert::insert(self.index, &v, heap_tid, &mut self.rng);
    }

    /// The graph is full: wait for the inserts in flight, say so, write it out.
    fn spill(&mut self) {
        let shared = self.shared();
        while shared.inflight.load(Ordering::SeqCst) != 0 {
            wait();
        }
        let total = shared
            .estimate
            .max(shared.indexed.load(Ordering::Relaxed) as f64) as u64;
        let lanes = self.graph.estimate_lanes();
        notice_over_budget(self.graph.len(), total, lanes, self.params.m);
        flush(self.index, self.params.m, &self.graph);
        shared.mode.store(FLUSHED, Ordering::SeqCst);
    }
}

/// Sleeps briefly, serving interrupts (a failed worker's error reaches the leader
/// here; a cancelled leader stops its workers).
fn wait() {
    pgrx::check_for_interrupts!();
    // SAFETY: a plain sleep.
    unsafe { pg_sys::pg_usleep(100) };
}

/// The `table_index_build_scan` callback of every participant: `state` is its
/// [`Builder`].
#[pg_guard]
pub(super) unsafe extern "C-unwind" fn build_callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _tuple_is_alive: bool,
    state: *mut std::ffi::c_void,
) {
    // SAFETY: `state` is the Builder passed to table_index_build_scan; `values` and
    // `isnull` hold the one indexed column, of the type the Builder's metric reads
    // (the build refused any other); `tid` is the heap TID.
    unsafe {
        let state = &mut *state.cast::<Builder>();
        if *isnull {
            return;
        }
        let (block, offset) = pgrx::itemptr::item_pointer_get_both(*tid);
        let datum = *values;
        state.tmp.reset();
        let mut tmp = PgMemoryContexts::For(state.tmp.value());
        tmp.switch_to(|_| state.add(datum, Tid { block, offset }));
    }
}

/// Memory a build of `rows` elements of `dim` lanes with `m` needs to stay in
/// memory, in bytes: the graph block ([`SharedGraph::bytes_for`]: per element its
/// vector, its link slots, its heap TID, and 1.5× the average upper-layer links),
/// plus per element the visited set and the flush's bookkeeping, plus 1 MB.
/// `hnsw_build_memory()` in SQL; the NOTICE of an over-budget build quotes it.
pub fn build_memory(rows: u64, dim: usize, m: usize) -> u64 {
    let rows = rows as usize;
    (SharedGraph::bytes_for(rows, dim, m) + rows * PRIVATE_BYTES_PER_ELEMENT + (1 << 20)) as u64
}

/// Bytes per element a participant needs besides the graph block: its visited set
/// (4) and, in the one that writes the graph out, the page placement, the write order
/// and the breadth-first traversal (8 + 4 + 1 + 4).
pub(super) const PRIVATE_BYTES_PER_ELEMENT: usize = 4 + 8 + 4 + 1 + 4;

/// How the graph of an index holds its elements: all of the same length, or (for
/// `sparsevec`) each of its own.
pub(super) fn graph_lanes(meta: &Meta) -> Lanes {
    meta.fixed_lanes().map_or(Lanes::Variable, Lanes::Fixed)
}

/// The element length to plan the build's memory for: the elements' own, or for
/// `sparsevec` that of the smallest (an empty one, its record alone), so that room
/// is kept for as many elements as the block can hold.
pub(super) fn planning_lanes(meta: &Meta) -> usize {
    meta.fixed_lanes().unwrap_or(2)
}

/// Bytes of the graph block a build with `maintenance_work_mem` = `limit` may use:
/// what leaves room in `limit` for [`PRIVATE_BYTES_PER_ELEMENT`] per element it
/// can hold (at least 1 MB).
pub(super) fn block_limit(limit: usize, dim: usize, m: usize) -> usize {
    let private = SharedGraph::capacity(limit, dim, m) * PRIVATE_BYTES_PER_ELEMENT;
    limit.saturating_sub(private).max(1 << 20) & !7
}

/// The NOTICE of a build whose graph stopped fitting in `maintenance_work_mem` after
/// `fitted` elements, with the memory `total` rows would need.
pub(super) fn notice_over_budget(fitted: usize, total: u64, dim: usize, m: usize) {
    let needed_mb = build_memory(total, dim, m).div_ceil(1024 * 1024);
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        format!("hnsw graph no longer fits into maintenance_work_mem after {fitted} tuples"),
        "",
    )
    .set_detail(format!(
        "Building will take significantly more time. The whole graph needs about {needed_mb} MB."
    ))
    .set_hint(format!(
        "Increase maintenance_work_mem to at least '{needed_mb}MB' to speed up builds."
    ))
    .report(PgLogLevel::NOTICE);
}

/// Writes the finished in-memory graph `g` (no insert in flight; elements that lost
/// every path from the entry point are linked first, [`SharedGraph::link_unreachable`],
/// and any left unreached set the metapage's `relink_pending`) built with `m` to new
/// pages at the end of `index` (after the metapage), in [`locality_order`], and
/// points the metapage at its entry point.
pub(super) fn flush(index: pg_sys::Relation, m: usize, g: &SharedGraph) {
    let n = g.len();
    if n == 0 {
        return;
    }
    progress::phase(Phase::WritingPages);
    let (linked, unreached) = g.clone().link_unreachable();
    if linked > 0 {
        pgrx::debug1!("hnsw build: {linked} elements without a path from the entry point linked from a neighbour");
    }
    let order = locality_order(g);

    // Plan where every tuple goes, so neighbour TIDs are known before writing; then
    // write the pages, making the same plan again.
    let first_block = page::block_count(index);
    let mut placement = vec![
        Tid {
            block: 0,
            offset: 0
        };
        n
    ];
    let mut plan = PagePlan::new(first_block);
    let mut pieces = Vec::new();
    for &id in &order {
        let dim = g.vector(id).len();
        plan.chain(dim, &mut pieces);
        placement[id as usize] = plan.place(dim, m, g.level(id)).0;
    }

    let mut plan = PagePlan::new(first_block);
    let mut pages: [Option<BuildPage>; RUNS] = [None, None, None, None];
    let mut nb = Vec::new();
    let mut el = Vec::new();
    let mut piece = Vec::new();
    let xid = chain::writer_xid();
    let mut links = Vec::new();
    let mut tids = Vec::new();
    let mut packed = Vec::with_capacity(MAX_HEAP_TIDS);
    let mut heap = Vec::with_capacity(MAX_HEAP_TIDS);
    for &id in &order {
        let level = g.level(id);
        let vector = g.vector(id);
        let dim = vector.len();
        // The chain first, each piece written as it is placed (so blocks are added
        // in order), knowing from a copy of the plan where the next one goes.
        plan.clone().chain(dim, &mut pieces);
        for (i, range) in tuple::chain_pieces(dim).enumerate() {
            piece.resize(tuple::chain_size(4 * range.len()), 0);
            let next = pieces.get(i + 1).copied();
            tuple::write_chain(&mut piece, xid, next, &vector[range.clone()]);
            let run = chain_run(i, pieces.len());
            let at = plan.take(run, layout::chain_space(range.len()), 1);
            let offset = plan.page_for(at, index, &mut pages).add_item(&piece);
            assert_eq!(
                (at, offset),
                (pieces[i], Some(pieces[i].offset)),
                "chain placed as planned"
            );
        }
        let body = match pieces.first() {
            Some(&head) => Body::Chain(dim, head),
            None => Body::Inline(vector),
        };
        let (at, nb_at) = plan.place(dim, m, level);
        nb.resize(tuple::neighbour_size(m, level), 0);
        tuple::write_neighbours(&mut nb, m, level);
        for layer in 0..=level {
            g.links(id, layer, &mut links);
            tids.clear();
            tids.extend(links.iter().map(|&l| placement[l as usize]));
            tuple::set_layer(&mut nb, layer, &tids);
        }
        let offset = plan.page_for(nb_at, index, &mut pages).add_item(&nb);
        assert_eq!(
            offset,
            Some(nb_at.offset),
            "neighbour tuple placed as planned"
        );
        g.heap_tids(id, &mut packed);
        heap.clear();
        heap.extend(packed.iter().map(|&t| Tid::unpack(t)));
        el.resize(tuple::element_size(dim), 0);
        tuple::write_element(&mut el, level, nb_at, &heap, body);
        let offset = plan.page_for(at, index, &mut pages).add_item(&el);
        assert_eq!(offset, Some(at.offset), "element placed as planned");
    }
    for p in pages.into_iter().flatten() {
        p.finish(false);
    }
    let (entry, entry_level) = g.entry().expect("a non-empty graph has an entry point");
    let last = page::block_count(index) - 1;
    Meta::update(index, |meta| {
        meta.entry = Some((placement[entry as usize], entry_level));
        meta.insert_page = last;
        // What the linking could not reach is left to VACUUM.
        meta.relink_pending |= unreached > 0;
        true
    });
}

/// The run of pages of piece `i` of a chain of `n`.
fn chain_run(i: usize, n: usize) -> usize {
    if i + 1 < n {
        2
    } else {
        3
    }
}

/// Runs of pages of the flush: elements, lone neighbour tuples, chain tuples but the
/// last of each chain (a page each), the last ones.
const RUNS: usize = 4;

/// Where the build's flush puts each tuple, page by page ([`layout`]'s rules):
/// elements, each with its neighbour tuple when they fit together, fill one run of
/// pages; neighbour tuples that do not fit beside their element fill another; the
/// chains of elements longer than a page have their full pieces in a third and
/// their last pieces in a fourth, so that each page of every run is filled in turn. Both the plan and the writing run it, in the same order,
/// so they agree on every TID.
#[derive(Clone)]
struct PagePlan {
    next_block: u32,
    /// Per run (0: elements, 1: lone neighbour tuples, 2 and 3: chain tuples): its
    /// current block, the bytes used there and the next offset.
    runs: [Option<(u32, usize, u16)>; RUNS],
}

impl PagePlan {
    fn new(first_block: u32) -> PagePlan {
        PagePlan {
            next_block: first_block,
            runs: [None; RUNS],
        }
    }

    /// Places the chain of the next element, of `dim` lanes: the TIDs of its pieces
    /// in chain order, into `pieces` (none when it holds its lanes itself).
    fn chain(&mut self, dim: usize, pieces: &mut Vec<Tid>) {
        pieces.clear();
        let n = tuple::chain_pieces(dim).count();
        for (i, range) in tuple::chain_pieces(dim).enumerate() {
            pieces.push(self.take(chain_run(i, n), layout::chain_space(range.len()), 1));
        }
    }

    /// Takes `tuples` consecutive offsets of `space` bytes in all on run `run`.
    fn take(&mut self, run: usize, space: usize, tuples: u16) -> Tid {
        let fits = self.runs[run].is_some_and(|(_, used, _)| used + space <= layout::PAGE_ROOM);
        if !fits {
            self.runs[run] = Some((self.next_block, 0, 1));
            self.next_block += 1;
        }
        let (block, used, offset) = self.runs[run].as_mut().expect("a page");
        *used += space;
        let at = Tid {
            block: *block,
            offset: *offset,
        };
        *offset += tuples;
        at
    }

    /// Places the next element, of `level`: its TID and its neighbour tuple's.
    fn place(&mut self, dim: usize, m: usize, level: usize) -> (Tid, Tid) {
        let (element, neighbours) = (
            layout::element_space(dim),
            layout::neighbour_space(m, level),
        );
        if layout::together(dim, m, level) {
            // neighbour tuple first, then the element
            let nb = self.take(0, element + neighbours, 2);
            let el = Tid {
                block: nb.block,
                offset: nb.offset + 1,
            };
            (el, nb)
        } else {
            let nb = self.take(1, neighbours, 1);
            (self.take(0, element, 1), nb)
        }
    }

    /// The open page of `pages` (one per run) that holds `at`, extending the index
    /// when `at` is on the next new block (blocks are added in the plan's order).
    fn page_for<'a>(
        &self,
        at: Tid,
        index: pg_sys::Relation,
        pages: &'a mut [Option<BuildPage>; RUNS],
    ) -> &'a mut BuildPage {
        let run = (0..RUNS)
            .find(|&r| self.runs[r].is_some_and(|(b, _, _)| b == at.block))
            .expect("a planned block");
        if pages[run].as_ref().is_none_or(|p| p.block() != at.block) {
            if let Some(p) = pages[run].take() {
                p.finish(false);
            }
            let p = BuildPage::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM, PAGE_ELEMENTS);
            assert_eq!(p.block(), at.block, "pages added in the planned order");
            pages[run] = Some(p);
        }
        pages[run].as_mut().expect("an open page")
    }
}

/// The order elements are written in: the elements of the upper layers first, highest
/// level first (every search walks them), then the rest in breadth-first order over
/// layer 0 from the entry point, so that an element's neighbours tend to sit on the
/// same or nearby pages and a search pins fewer distinct pages.
fn locality_order(g: &SharedGraph) -> Vec<u32> {
    let n = g.len();
    let mut order: Vec<u32> = (0..n as u32).filter(|&id| g.level(id) > 0).collect();
    order.sort_by_key(|&id| (std::cmp::Reverse(g.level(id)), id));
    let mut seen = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    let mut links = Vec::new();
    let entry = g.entry().map_or(0, |(e, _)| e);
    for start in std::iter::once(entry).chain(0..n as u32) {
        if seen[start as usize] {
            continue;
        }
        seen[start as usize] = true;
        queue.push_back(start);
        while let Some(id) = queue.pop_front() {
            if g.level(id) == 0 {
                order.push(id);
            }
            g.links(id, 0, &mut links);
            for &next in &links {
                if !seen[next as usize] {
                    seen[next as usize] = true;
                    queue.push_back(next);
                }
            }
        }
    }
    debug_assert_eq!(order.len(), n);
    order
}

/// Checks the column and options and returns the metapage a new index starts with.
fn new_meta(index: pg_sys::Relation) -> Meta {
    let metric = index_metric(index);
    let dim = index_dimensions(index, metric.element_type());
    let (m, ef_construction) = index_options(index);
    if ef_construction < 2 * m {
        crate::error::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "ef_construction must be greater than or equal to 2 * m",
            None,
        );
    }
    Meta {
        dim,
        m,
        ef_construction,
        metric,
        entry: None,
        insert_page: 0,
        relink_pending: false,
        inserted_since_check: false,
    }
}

/// `ambuild`.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    let meta = new_meta(index);
    meta.write_new(index, pg_sys::ForkNumber::MAIN_FORKNUM, false);
    // SAFETY: reads the maintenance_work_mem setting.
    let limit = unsafe { pg_sys::maintenance_work_mem as usize * 1024 };
    let estimate = parallel::row_estimate(heap);
    progress::tuples_total(estimate.unwrap_or(0.0));
    progress::phase(Phase::LoadingTuples);
    // Until the build ends, only this build sees the index and every page is
    // WAL-logged at the end: the on-disk inserts skip their per-change WAL records.
    let unlogged = page::UnloggedBuild::start(index);
    let workers = parallel::planned_workers(heap, index, index_info);
    let parallel = if workers > 0 {
        // SAFETY: the relations of this ambuild; the metapage is written.
        unsafe { parallel::build(heap, index, index_info, workers, limit, estimate) }
    } else {
        None
    };
    let (heap_tuples, indexed, spilled) = match parallel {
        Some(counts) => counts,
        None => {
            // The whole budget is reserved, but only the part the graph uses is ever
            // touched (and becomes resident). Where the system refuses that much
            // address space, less is taken (the build then spills to disk sooner).
            let mut bytes = block_limit(limit, planning_lanes(&meta), meta.m);
            let mut block: Vec<u64> = Vec::new();
            while block.try_reserve_exact(bytes / 8).is_err() {
                if bytes <= 1 << 20 {
                    crate::error::raise(
                        PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
                        format!("out of memory for the hnsw build graph ({bytes} bytes)"),
                        None,
                    );
                }
                bytes = (bytes / 2) & !7;
            }
            // SAFETY: the block is ours, 8-aligned, and outlives the graph's use.
            let graph = unsafe {
                SharedGraph::init(
                    block.as_mut_ptr().cast(),
                    bytes,
                    graph_lanes(&meta),
                    meta.metric,
                    meta.params(),
                )
            };
            // SAFETY: `index_info` is the one PostgreSQL passed.
            let concurrent = unsafe { (*index_info).ii_Concurrent };
            let shared = Shared::new(heap, index, concurrent, estimate.unwrap_or(0.0));
            let mut builder = Builder::new(index, &shared, graph.clone(), true);
            // SAFETY: standard index build scan; the callback receives `builder`.
            let heap_tuples = unsafe {
                pg_sys::table_index_build_scan(
                    heap,
                    index,
                    index_info,
                    true,
                    true,
                    Some(build_callback),
                    (&mut builder as *mut Builder).cast(),
                    std::ptr::null_mut(),
                )
            };
            let spilled = shared.mode.load(Ordering::SeqCst) != MEMORY;
            if !spilled {
                flush(index, meta.m, &graph);
            }
            (
                heap_tuples,
                shared.indexed.load(Ordering::SeqCst) as f64,
                spilled,
            )
        }
    };
    if spilled {
        // The rows inserted on disk can have pruned older elements' in-links away;
        // hand over a graph whose every element a search can reach, as the flush
        // does for the in-memory part (VACUUM's check, over the pages). What it
        // could not link is left to VACUUM, which the metapage's flag sends there.
        // The check covers what those inserts pruned: their mark is cleared.
        let complete = super::cleanup::reconnect(index, false);
        Meta::update(index, |m| {
            let before = (m.relink_pending, m.inserted_since_check);
            (m.relink_pending, m.inserted_since_check) = (!complete, false);
            before != (m.relink_pending, m.inserted_since_check)
        });
    }
    drop(unlogged);
    let started = std::time::Instant::now();
    page::log_build(index);
    pgrx::debug1!(
        "hnsw build: pages WAL-logged in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // SAFETY: palloc0 returns zeroed memory for the result struct.
    unsafe {
        let result = pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBuildResult>())
            .cast::<pg_sys::IndexBuildResult>();
        (*result).heap_tuples = heap_tuples;
        (*result).index_tuples = indexed;
        result
    }
}

/// `ambuildempty`: the init fork of an unlogged index (an empty metapage).
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    new_meta(index).write_new(index, pg_sys::ForkNumber::INIT_FORKNUM, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The estimate covers what a build of that many elements really uses.
    #[test]
    fn build_memory_covers_the_graph() {
        for (n, dim, m) in [
            (20_000usize, 384usize, 16usize),
            (5_000, 1536, 32),
            (30_000, 16, 4),
            (3_000, 8, 2),
        ] {
            let params = Params {
                m,
                ef_construction: 2 * m,
            };
            let estimate = build_memory(n as u64, dim, m) as usize;
            let bytes = estimate - n * PRIVATE_BYTES_PER_ELEMENT - (1 << 20);
            let mut block = vec![0u64; bytes / 8];
            // SAFETY: the block is ours and outlives the graph.
            let g = unsafe {
                SharedGraph::init(
                    block.as_mut_ptr().cast(),
                    bytes,
                    Lanes::Fixed(dim),
                    Metric::L2,
                    params,
                )
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            let v = vec![0.25f32; dim];
            for i in 0..n {
                let level = params.random_level(&mut rng);
                assert!(
                    g.push(&v, level, 0).is_some(),
                    "{n}x{dim} m={m}: full after {i}"
                );
            }
            assert!(
                g.bytes_used() * 10 >= bytes * 8,
                "{n}x{dim} m={m}: estimate {bytes} ≫ used {}",
                g.bytes_used()
            );
        }
    }

    /// What a build may reserve stays within the limit with its private memory.
    #[test]
    fn the_block_and_private_memory_fit_the_limit() {
        let mb = 1usize << 20;
        for limit in [64 * mb, 2048 * mb] {
            let b = block_limit(limit, 384, 16);
            let n = SharedGraph::capacity(b, 384, 16);
            assert!(b + n * PRIVATE_BYTES_PER_ELEMENT <= limit, "{limit}: {b}");
            assert!(b >= limit / 100 * 98, "{limit}: {b}");
        }
        assert_eq!(block_limit(mb / 2, 384, 16), mb, "at least 1 MB");
    }
}
