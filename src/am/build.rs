//! `ambuild` and `ambuildempty`: `CREATE INDEX … USING hnsw`.
//!
//! The heap is scanned once. Each row's vector is inserted into an in-memory graph
//! ([`MemoryGraph`]) whose memory is counted exactly and kept within
//! `maintenance_work_mem`. When the graph is complete it is written to pages in one
//! pass, in an order chosen for locality (see [`locality_order`]): the upper layers
//! that every search walks together on the first pages, then layer 0 in breadth-first
//! order, each element's neighbour tuple beside it. Every page is WAL-logged once at
//! the end.
//!
//! When the next element would not fit, the build raises a NOTICE (how many tuples
//! fitted and roughly how much memory the whole graph needs), writes the graph it has,
//! and inserts the remaining rows on disk with the same algorithm `aminsert` uses
//! (without a WAL record per change: the build logs every page at its end). It never
//! exceeds the limit and never fails for lack of memory.
//!
//! NULL rows are skipped, and so are zero vectors for `vector_cosine_ops` (their
//! cosine distance is undefined). Rows with a vector identical to an element already
//! in the graph become an extra heap TID of that element (up to 10).

use super::disk;
use super::options::index_options;
use super::parallel;
use super::progress::{self, Phase};
use super::{index_dimensions, index_metric};
use crate::hnsw::insert::{connect, find_neighbours};
use crate::hnsw::memory::{EpochVisited, MemoryGraph};
use crate::hnsw::{Metric, Params};
use crate::storage::meta::Meta;
use crate::storage::page::{self, BuildPage};
use crate::storage::shared_graph::SharedGraph;
use crate::storage::tuple::{self, Tid, MAX_HEAP_TIDS};
use crate::storage::PAGE_ELEMENTS;
use crate::types::datum::VectorArg;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{pg_guard, pg_sys, PgLogLevel, PgMemoryContexts, PgSqlErrorCode};
use rand::SeedableRng;
use std::collections::HashMap;

/// Memory of the build besides the graph: heap TIDs per element.
struct Tids {
    first: Vec<u64>,
    extra: HashMap<u32, Vec<u64>>,
}

impl Tids {
    fn bytes(&self) -> usize {
        self.first.capacity() * 8 + self.extra.len() * (48 + MAX_HEAP_TIDS * 8)
    }
    fn count(&self, id: u32) -> usize {
        1 + self.extra.get(&id).map_or(0, Vec::len)
    }
}

struct BuildState {
    index: pg_sys::Relation,
    metric: Metric,
    dim: usize,
    params: Params,
    max_level: usize,
    graph: MemoryGraph,
    tids: Tids,
    visited: EpochVisited,
    limit: usize,
    on_disk: bool,
    rng: rand::rngs::StdRng,
    indexed: f64,
    heap_tuples_estimate: f64,
    tmp: PgMemoryContexts,
}

/// Memory an in-memory build of `rows` vectors of `dim` dimensions with `m` needs, in
/// bytes: per element its vector, its link slots (`2·m` on layer 0, `m` per upper
/// layer, `1/(m-1)` upper layers on average), its heap TID, the visited set and the
/// flush's bookkeeping, plus the spare capacity of growing in eighths (at most 12.5%) and 1 MB.
/// `hnsw_build_memory()` in SQL; the NOTICE of an over-budget build quotes it.
pub fn build_memory(rows: u64, dim: usize, m: usize) -> u64 {
    let m = m.max(2);
    let links = (2 * m * 4 + 1) as f64 + (m * 4 + 1) as f64 / (m - 1) as f64;
    let per_element = (dim * 4 + 1 + 4) as f64 + links + 8.0 + 4.0 + FLUSH_BYTES_PER_ELEMENT as f64;
    (rows as f64 * per_element * 1.125) as u64 + (1 << 20)
}

/// The vector of a heap row as the index stores it (normalised for cosine); `None`
/// for a row the index skips (a zero vector under cosine).
///
/// # Errors
/// `expected {dim} dimensions, not {n}` when the row does not match the column.
pub(super) fn prepare_row(metric: Metric, dim: usize, raw: &[f32]) -> Option<Vec<f32>> {
    if raw.len() != dim {
        crate::types::error::VectorError::ExpectedDimensions {
            expected: dim as i32,
            actual: raw.len(),
        }
        .report();
    }
    metric.prepare(raw)
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
        "The remaining tuples are inserted on disk, which is slower. The whole graph needs about {needed_mb} MB."
    ))
    .set_hint(format!("Set maintenance_work_mem to at least '{needed_mb}MB' for a faster build."))
    .report(PgLogLevel::NOTICE);
}

/// Bytes per element that writing the graph out takes on top of the graph (the page
/// placement, the write order and the breadth-first traversal), reserved up front so
/// the flush stays within the limit too.
pub(super) const FLUSH_BYTES_PER_ELEMENT: usize = 8 + 4 + 1 + 4;

impl BuildState {
    /// Memory of the build: graph, heap TIDs, visited set, and what the flush will need.
    fn bytes(&self) -> usize {
        self.graph.bytes()
            + self.tids.bytes()
            + self.visited.bytes()
            + FLUSH_BYTES_PER_ELEMENT * (self.graph.len() + 1)
    }

    fn add(&mut self, raw: &[f32], heap_tid: Tid) {
        let Some(v) = prepare_row(self.metric, self.dim, raw) else {
            return;
        };
        self.indexed += 1.0;
        progress::tuples_done(self.indexed);
        if self.on_disk {
            disk::insert(self.index, &v, heap_tid, &mut self.rng);
            return;
        }
        let level = self.params.random_level(&mut self.rng).min(self.max_level);
        let needed = MemoryGraph::element_bytes(self.dim, self.params.m, level) + 8 + 4;
        if self.bytes() + needed > self.limit {
            self.spill();
            disk::insert(self.index, &v, heap_tid, &mut self.rng);
            return;
        }
        let found = find_neighbours(&mut self.graph, &v, level, &self.params, &mut self.visited);
        if let Some(nearest) = found.nearest {
            let id = nearest.id;
            if self.graph.vector(id) == v.as_slice() && self.tids.count(id) < MAX_HEAP_TIDS {
                self.tids.extra.entry(id).or_default().push(heap_tid.pack());
                return;
            }
        }
        let id = self.graph.push(&v, level);
        if self.tids.first.len() == self.tids.first.capacity() {
            self.tids
                .first
                .reserve_exact((self.tids.first.len() / 8).max(64));
        }
        self.tids.first.push(heap_tid.pack());
        connect(&mut self.graph, id, level, &found, &self.params);
    }

    /// The graph no longer fits: say so, write it out, continue on disk.
    fn spill(&mut self) {
        let total = self.heap_tuples_estimate.max(self.indexed) as u64;
        notice_over_budget(self.graph.len(), total, self.dim, self.params.m);
        self.flush();
        progress::phase(Phase::InsertingOnDisk);
        self.on_disk = true;
        self.graph = MemoryGraph::new(self.dim, self.metric, self.params);
        self.tids = Tids {
            first: Vec::new(),
            extra: HashMap::new(),
        };
    }

    /// Writes the in-memory graph to pages and points the metapage at its entry point.
    fn flush(&mut self) {
        let finished = Serial {
            graph: &self.graph,
            tids: &self.tids,
        };
        flush(self.index, self.dim, self.params.m, &finished);
    }
}

/// A finished in-memory graph as [`flush`] reads it: the serial build's graph with
/// its heap TIDs, or the shared graph of a parallel build.
pub(super) trait Finished {
    /// Number of elements (ids `0..len`).
    fn len(&self) -> usize;
    /// The level of element `id`.
    fn level(&self, id: u32) -> usize;
    /// Replaces `out` with the neighbours of `id` on `layer`.
    fn links(&self, id: u32, layer: usize, out: &mut Vec<u32>);
    /// The vector of element `id`.
    fn vector(&self, id: u32) -> &[f32];
    /// The entry point and its level.
    fn entry(&self) -> Option<(u32, usize)>;
    /// Replaces `out` with the packed heap TIDs of element `id`.
    fn heap_tids(&self, id: u32, out: &mut Vec<u64>);
}

/// The serial build's graph and heap TIDs.
struct Serial<'a> {
    graph: &'a MemoryGraph,
    tids: &'a Tids,
}

impl Finished for Serial<'_> {
    fn len(&self) -> usize {
        self.graph.len()
    }
    fn level(&self, id: u32) -> usize {
        self.graph.level(id)
    }
    fn links(&self, id: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(self.graph.links(id, layer));
    }
    fn vector(&self, id: u32) -> &[f32] {
        self.graph.vector(id)
    }
    fn entry(&self) -> Option<(u32, usize)> {
        self.graph.entry()
    }
    fn heap_tids(&self, id: u32, out: &mut Vec<u64>) {
        out.clear();
        out.push(self.tids.first[id as usize]);
        if let Some(extra) = self.tids.extra.get(&id) {
            out.extend_from_slice(extra);
        }
    }
}

impl Finished for SharedGraph {
    fn len(&self) -> usize {
        SharedGraph::len(self)
    }
    fn level(&self, id: u32) -> usize {
        SharedGraph::level(self, id)
    }
    fn links(&self, id: u32, layer: usize, out: &mut Vec<u32>) {
        SharedGraph::links(self, id, layer, out)
    }
    fn vector(&self, id: u32) -> &[f32] {
        SharedGraph::vector(self, id)
    }
    fn entry(&self) -> Option<(u32, usize)> {
        SharedGraph::entry(self)
    }
    fn heap_tids(&self, id: u32, out: &mut Vec<u64>) {
        SharedGraph::heap_tids(self, id, out)
    }
}

/// Writes a finished in-memory graph `g` of `dim`-dimensional vectors built with `m`
/// to new pages at the end of `index` (after the metapage), in [`locality_order`],
/// and points the metapage at its entry point.
pub(super) fn flush(index: pg_sys::Relation, dim: usize, m: usize, g: &impl Finished) {
    let n = g.len();
    if n == 0 {
        return;
    }
    progress::phase(Phase::WritingPages);
    let order = locality_order(g);

    // Plan where every element goes, so neighbour TIDs are known before writing.
    let align = |x: usize| (x + 7) & !7;
    let room = page::BLOCK_SIZE - 24 - page::SPECIAL_SIZE;
    let first_block = page::block_count(index);
    let element_bytes = align(tuple::element_size(dim)) + 4;
    let mut placement = vec![
        Tid {
            block: 0,
            offset: 0
        };
        n
    ];
    let (mut block, mut used, mut next_offset) = (first_block, 0usize, 1u16);
    for &id in &order {
        let need = element_bytes + align(tuple::neighbour_size(m, g.level(id))) + 4;
        if used + need > room {
            block += 1;
            used = 0;
            next_offset = 1;
        }
        // neighbour tuple first, then the element
        placement[id as usize] = Tid {
            block,
            offset: next_offset + 1,
        };
        next_offset += 2;
        used += need;
    }

    let mut current: Option<BuildPage> = None;
    let mut nb = Vec::new();
    let mut el = vec![0u8; tuple::element_size(dim)];
    let mut links = Vec::new();
    let mut tids = Vec::new();
    let mut packed = Vec::with_capacity(MAX_HEAP_TIDS);
    let mut heap = Vec::with_capacity(MAX_HEAP_TIDS);
    for &id in &order {
        let at = placement[id as usize];
        let level = g.level(id);
        if current.as_ref().is_none_or(|p| p.block() != at.block) {
            if let Some(p) = current.take() {
                p.finish(false);
            }
            let p = BuildPage::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM, PAGE_ELEMENTS);
            assert_eq!(p.block(), at.block, "page placement");
            current = Some(p);
        }
        let p = current.as_mut().expect("page");
        nb.resize(tuple::neighbour_size(m, level), 0);
        tuple::write_neighbours(&mut nb, m, level);
        for layer in 0..=level {
            g.links(id, layer, &mut links);
            tids.clear();
            tids.extend(links.iter().map(|&l| placement[l as usize]));
            tuple::set_layer(&mut nb, layer, &tids);
        }
        let nb_offset = p.add_item(&nb).expect("planned space");
        g.heap_tids(id, &mut packed);
        heap.clear();
        heap.extend(packed.iter().map(|&t| Tid::unpack(t)));
        tuple::write_element(
            &mut el,
            level,
            Tid {
                block: at.block,
                offset: nb_offset,
            },
            &heap,
            g.vector(id),
        );
        let offset = p.add_item(&el).expect("planned space");
        assert_eq!(offset, at.offset, "element offset as planned");
    }
    if let Some(p) = current.take() {
        p.finish(false);
    }
    let (entry, entry_level) = g.entry().expect("a non-empty graph has an entry point");
    let last = page::block_count(index) - 1;
    Meta::update(index, |meta| {
        meta.entry = Some((placement[entry as usize], entry_level));
        meta.insert_page = last;
        true
    });
}

/// The order elements are written in: the elements of the upper layers first, highest
/// level first (every search walks them), then the rest in breadth-first order over
/// layer 0 from the entry point, so that an element's neighbours tend to sit on the
/// same or nearby pages and a search pins fewer distinct pages.
fn locality_order(g: &impl Finished) -> Vec<u32> {
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

#[pg_guard]
unsafe extern "C-unwind" fn build_callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _tuple_is_alive: bool,
    state: *mut std::ffi::c_void,
) {
    // SAFETY: `state` is the BuildState passed to table_index_build_scan; `values`
    // and `isnull` hold the one indexed column; `tid` is the heap TID.
    unsafe {
        let state = &mut *state.cast::<BuildState>();
        if *isnull {
            return;
        }
        let (block, offset) = pgrx::itemptr::item_pointer_get_both(*tid);
        let heap_tid = Tid { block, offset };
        let datum = *values;
        state.tmp.reset();
        let mut tmp = PgMemoryContexts::For(state.tmp.value());
        tmp.switch_to(|_| {
            let v = VectorArg::from_datum(datum);
            state.add(&v, heap_tid);
        });
    }
}

/// Checks the column and options and returns the metapage a new index starts with.
fn new_meta(index: pg_sys::Relation) -> Meta {
    let dim = index_dimensions(index);
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
        metric: index_metric(index),
        entry: None,
        insert_page: 0,
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
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    // SAFETY: reads the planner's row estimate and the maintenance_work_mem setting.
    let (estimate, limit) = unsafe {
        (
            (*(*heap).rd_rel).reltuples as f64,
            pg_sys::maintenance_work_mem as usize * 1024,
        )
    };
    progress::tuples_total(estimate);
    progress::phase(Phase::LoadingTuples);
    // Until the build ends, only this build sees the index and every page is
    // WAL-logged at the end: the on-disk inserts skip their per-change WAL records.
    let unlogged = page::UnloggedBuild::start(index);
    let workers = parallel::planned_workers(heap, index);
    let parallel = if workers > 0 {
        // SAFETY: the relations of this ambuild; the metapage is written.
        unsafe { parallel::build(heap, index, index_info, workers, limit) }
    } else {
        None
    };
    let (heap_tuples, indexed) = match parallel {
        Some(counts) => (counts.heap_tuples, counts.indexed),
        None => {
            let mut state = BuildState {
                index,
                metric: meta.metric,
                dim: meta.dim,
                params,
                max_level: page::max_level(meta.dim, meta.m),
                graph: MemoryGraph::new(meta.dim, meta.metric, params),
                tids: Tids {
                    first: Vec::new(),
                    extra: HashMap::new(),
                },
                visited: EpochVisited::default(),
                limit,
                on_disk: false,
                rng: rand::rngs::StdRng::from_rng(&mut rand::rng()),
                indexed: 0.0,
                heap_tuples_estimate: estimate,
                tmp: PgMemoryContexts::new("hnsw build tuple"),
            };
            // SAFETY: standard index build scan; the callback receives `state`.
            let heap_tuples = unsafe {
                pg_sys::table_index_build_scan(
                    heap,
                    index,
                    index_info,
                    true,
                    true,
                    Some(build_callback),
                    (&mut state as *mut BuildState).cast(),
                    std::ptr::null_mut(),
                )
            };
            if !state.on_disk {
                state.flush();
            }
            (heap_tuples, state.indexed)
        }
    };
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

    /// The estimate covers what a build of that many elements really allocates.
    #[test]
    fn build_memory_covers_the_graph() {
        for (n, dim, m) in [
            (20_000usize, 384usize, 16usize),
            (5_000, 1536, 32),
            (30_000, 16, 4),
        ] {
            let params = Params {
                m,
                ef_construction: 2 * m,
            };
            let mut g = MemoryGraph::new(dim, Metric::L2, params);
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            let v = vec![0.25f32; dim];
            for _ in 0..n {
                g.push(&v, params.random_level(&mut rng));
            }
            let used = g.bytes() + n * (8 + 4 + FLUSH_BYTES_PER_ELEMENT);
            let estimate = build_memory(n as u64, dim, m) as usize;
            assert!(
                estimate >= used,
                "{n}x{dim} m={m}: estimate {estimate} < used {used}"
            );
            assert!(
                estimate <= used + used / 8 + (1 << 20),
                "{n}x{dim} m={m}: estimate {estimate} ≫ {used}"
            );
        }
    }
}
