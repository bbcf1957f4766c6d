//! The graph of a parallel index build: one block of memory that the leader and the
//! workers map (PostgreSQL's dynamic shared memory, chapter "Parallel Query" /
//! `access/parallel.h`), and all insert into at once.
//!
//! Postgres-free: the block is plain bytes, so the same code runs over a `Vec` in
//! `cargo test` with threads. Every address inside it is an offset, because each
//! process maps the block at its own address.
//!
//! Layout: a [`Header`]; then one fixed-size record per element, from the front, so
//! that an element's record (and a fixed-length vector in it) is found by arithmetic
//! alone (a search measures thousands per insert, and prefetches them); and from the
//! back, growing towards the records, the upper area: the links of layers ≥ 1, the
//! extra heap TIDs of duplicates and the lanes of elements of varying length
//! (`sparsevec`, [`Lanes::Variable`]). One atomic word counts both (elements, and
//! 8-byte units of the upper area), so the two meet exactly when the block is full,
//! whatever the mix. Offsets into the upper area are 32-bit counts of those units: it
//! holds at most 32 GiB, past which the graph counts as full (a build of elements of
//! varying length with more memory than that writes its graph out there, as when
//! `maintenance_work_mem` runs out). A record (`stride` bytes) is
//!
//! ```text
//! 0   u32      lock (0 free, 1 held)
//! 4   u8 × 3   level, number of heap TIDs, number of layer-0 links
//! 8   u64      first heap TID (packed)
//! 16  u32      upper-layer block (8-byte units from the block's end), if level ≥ 1
//! 20  u32      block of further heap TIDs (same units; u32::MAX = none)
//! 24  u32[2m]  layer-0 links, padded to 8
//!     f32[n]   the element's lanes (`crate::distance::lanes`), n = Lanes::Fixed(n);
//!     or u32, u32  with Lanes::Variable: where its lanes are (same units) and how many
//! ```
//!
//! and an upper-layer block of an element of level `l` holds `l` link counts (padded
//! to 8) and then `m` link slots per layer.
//!
//! Locking: one spinlock per element, held only to copy a neighbour list out (into
//! a fixed-size array on the stack), to write one, or to add a heap TID; never two at
//! once, so no deadlock, and nothing that allocates, prunes, errors or panics runs
//! while one is held (a participant that failed holding it would hang the others).
//! Re-selecting a full list with the heuristic is optimistic, as on disk: copy the
//! list, choose without the lock, write under it only if the list is unchanged, else
//! try again (three times at most; a lost back-link leaves a valid, slightly less
//! connected graph). A vector is written before its element can be reached (through
//! a list written under a lock, or through the entry point, stored with release
//! ordering) and never changes, so distances need no lock. The entry point only
//! rises, by compare-and-swap: two inserts that raise the top layer at once each
//! link below the old top level, and the lower of the two keeps its links above it
//! to itself (it stays reachable through the layers below).

use crate::hnsw::insert::{connect, find_neighbours};
use crate::hnsw::reconnect::{self, Reach};
use crate::hnsw::search::{descend, search_layer};
use crate::hnsw::{select, Candidate, Graph, GraphMut, IdSet, Metric, Params, Visited};
use crate::storage::tuple::MAX_HEAP_TIDS;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const MAGIC: u32 = 0x4853_4752; // "HSGR"
const NO_ENTRY: u64 = u64::MAX;
const NONE: u32 = u32::MAX;
const RECORD_HEADER: usize = 24;
/// The longest neighbour list (`2·m` on layer 0, m ≤ 100).
const MAX_LIST: usize = 200;

/// How long the elements of a graph are, in lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lanes {
    /// All this long; each in its record.
    Fixed(usize),
    /// Of any length (a `sparsevec`'s elements); each in the upper area, its
    /// record saying where.
    Variable,
}

impl Lanes {
    /// Lanes the record keeps for the vector: all of a fixed one, two (its place and
    /// length) of a variable one.
    fn in_record(self) -> usize {
        match self {
            Lanes::Fixed(n) => n,
            Lanes::Variable => 2,
        }
    }
}

/// The start of the block.
#[repr(C)]
struct Header {
    magic: u32,
    /// The lanes of every element, or 0 for [`Lanes::Variable`].
    fixed_lanes: u32,
    m: u32,
    /// Bytes of a record.
    stride: u64,
    /// Bytes of the block.
    bytes: u64,
    /// Elements allocated (ids are `0..len`) in the high 32 bits; 8-byte units of
    /// the upper area handed out in the low 32.
    used: AtomicU64,
    /// The entry point: `id << 8 | level`, or [`NO_ENTRY`].
    entry: AtomicU64,
}

const HEADER_BYTES: usize = std::mem::size_of::<Header>().next_multiple_of(64);

/// Takes a spinlock word: spins briefly, then yields the CPU between tries (the
/// holder may have been descheduled).
fn spin_lock(word: &AtomicU32) {
    let mut spins = 0u32;
    while word
        .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spins += 1;
        if spins < 100 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

fn spin_unlock(word: &AtomicU32) {
    word.store(0, Ordering::Release);
}

/// What [`SharedGraph::insert`] did with a row.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new element with this id.
    Element(u32),
    /// An extra heap TID of an element with the identical vector.
    Merged(u32),
    /// The block is full: nothing was changed.
    Full,
}

/// One process's view of a shared build graph (copyable: each thread or process
/// uses its own).
#[derive(Clone)]
pub struct SharedGraph {
    base: *mut u8,
    records: *mut u8,
    /// The end of the block, where the upper area starts (growing down).
    end: *mut u8,
    stride: usize,
    lanes: Lanes,
    metric: Metric,
    params: Params,
}

// SAFETY: all shared state is reached through atomics or under the per-element
// spinlocks (see the module docs); the pointers stay valid while the block is mapped.
unsafe impl Send for SharedGraph {}

/// Rounds up to a multiple of 8.
fn align8(x: usize) -> usize {
    x.next_multiple_of(8)
}

impl SharedGraph {
    /// Bytes of an element record.
    fn stride(dim: usize, m: usize) -> usize {
        RECORD_HEADER + align8(2 * m * 4) + align8(dim * 4)
    }

    /// Upper-layer bytes reserved per element: one and a half times the average
    /// (`1/(m-1)` upper layers per element, each `m` links and a count).
    fn upper_reserve(m: usize) -> usize {
        let m = m.max(2);
        ((8 + 4 * m) * 3).div_ceil(2 * (m - 1))
    }

    /// Bytes a block needs to hold `elements` elements of `dim` lanes with `m`,
    /// excluding duplicates' extra heap TIDs (elements of varying length,
    /// [`Lanes::Variable`], of `a` lanes on average need about what `a + 2` fixed lanes
    /// do: [`SharedGraph::estimate_lanes`]).
    pub fn bytes_for(elements: usize, dim: usize, m: usize) -> usize {
        HEADER_BYTES + elements * (Self::stride(dim, m) + Self::upper_reserve(m)) + 4096
    }

    /// About how many elements of `dim` lanes a block of `bytes` holds (as
    /// [`SharedGraph::bytes_for`]).
    pub fn capacity(bytes: usize, dim: usize, m: usize) -> usize {
        let per = Self::stride(dim, m) + Self::upper_reserve(m);
        (bytes.saturating_sub(HEADER_BYTES + 4096) / per).min(u32::MAX as usize - 1)
    }

    /// Formats the `bytes` at `base` (8-byte aligned) as an empty graph of elements
    /// of `lanes`.
    ///
    /// # Safety
    /// `base..base+bytes` is writable memory, 8-byte aligned, not in use.
    pub unsafe fn init(
        base: *mut u8,
        bytes: usize,
        lanes: Lanes,
        metric: Metric,
        params: Params,
    ) -> SharedGraph {
        assert!(2 * params.m <= MAX_LIST, "m above 100");
        let bytes = bytes & !7;
        assert!(bytes >= HEADER_BYTES, "shared graph block");
        let fixed_lanes = match lanes {
            Lanes::Fixed(n) => {
                assert!(n > 0, "elements of no lanes");
                n as u32
            }
            Lanes::Variable => 0,
        };
        // SAFETY: the caller hands us the block; the header fits (checked above) and
        // is 8-aligned.
        unsafe {
            base.cast::<Header>().write(Header {
                magic: MAGIC,
                fixed_lanes,
                m: params.m as u32,
                stride: Self::stride(lanes.in_record(), params.m) as u64,
                bytes: bytes as u64,
                used: AtomicU64::new(0),
                entry: AtomicU64::new(NO_ENTRY),
            });
            Self::attach(base, metric, params)
        }
    }

    /// A view of a block formatted by [`SharedGraph::init`] (in this or another
    /// process).
    ///
    /// # Safety
    /// `base` is the start of such a block, mapped for as long as the view is used.
    pub unsafe fn attach(base: *mut u8, metric: Metric, params: Params) -> SharedGraph {
        // SAFETY: the caller guarantees a formatted block.
        let header = unsafe { &*base.cast::<Header>() };
        assert_eq!(header.magic, MAGIC, "shared build graph");
        assert_eq!(header.m as usize, params.m, "shared build graph m");
        // SAFETY: the records follow the header; the block is `bytes` long.
        let (records, end) = unsafe { (base.add(HEADER_BYTES), base.add(header.bytes as usize)) };
        let lanes = match header.fixed_lanes {
            0 => Lanes::Variable,
            n => Lanes::Fixed(n as usize),
        };
        SharedGraph {
            base,
            records,
            end,
            stride: header.stride as usize,
            lanes,
            metric,
            params,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: `base` is a formatted block (see `attach`).
        unsafe { &*self.base.cast::<Header>() }
    }

    /// The record of element `id`.
    #[inline]
    fn record(&self, id: u32) -> *mut u8 {
        // SAFETY: ids are below `len`, whose records were reserved within the block.
        unsafe { self.records.add(id as usize * self.stride) }
    }

    /// The start of an allocation of the upper area, `units` 8-byte units before the
    /// block's end.
    #[inline]
    fn upper(&self, units: u32) -> *mut u8 {
        // SAFETY: `units` came from `reserve`, which kept the allocation in the block.
        unsafe { self.end.sub(units as usize * 8) }
    }

    fn lock_word(&self, id: u32) -> &AtomicU32 {
        // SAFETY: the first word of a record is its lock.
        unsafe { &*self.record(id).cast::<AtomicU32>() }
    }

    /// Reserves `elements` records and `units` 8-byte units of the upper area at
    /// once, where both fit; the first new id and the upper allocation's start (in
    /// units from the end, for [`SharedGraph::upper`]). `None` changes nothing.
    fn reserve(&self, elements: u64, units: u64) -> Option<(u32, u32)> {
        let h = self.header();
        let mut now = h.used.load(Ordering::Acquire);
        loop {
            let (len, upper) = (now >> 32, now & u64::from(u32::MAX));
            let (len2, upper2) = (len + elements, upper + units);
            let bytes = HEADER_BYTES as u64 + len2 * self.stride as u64 + upper2 * 8;
            if len2 >= u64::from(NONE) || upper2 >= u64::from(NONE) || bytes > h.bytes {
                return None;
            }
            match h.used.compare_exchange_weak(
                now,
                (len2 << 32) | upper2,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((len as u32, upper2 as u32)),
                Err(seen) => now = seen,
            }
        }
    }

    /// Reserves `bytes` of the upper area; its start (units from the end).
    fn allocate(&self, bytes: usize) -> Option<u32> {
        self.reserve(0, bytes.div_ceil(8) as u64).map(|(_, at)| at)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        (self.header().used.load(Ordering::Acquire) >> 32) as usize
    }

    /// `true` when the graph has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the block in use.
    pub fn bytes_used(&self) -> usize {
        let used = self.header().used.load(Ordering::Acquire);
        HEADER_BYTES + (used >> 32) as usize * self.stride + (used as u32) as usize * 8
    }

    /// The lanes of an element, for estimates of memory: its length when all are as
    /// long, else the mean length of the elements so far plus the two lanes of the
    /// record that point at them (so [`SharedGraph::bytes_for`] of it is about what
    /// such elements take).
    pub fn estimate_lanes(&self) -> usize {
        match self.lanes {
            Lanes::Fixed(n) => n,
            Lanes::Variable => {
                let n = self.len();
                let total: usize = (0..n as u32).map(|id| self.vector(id).len()).sum();
                total / n.max(1) + 2
            }
        }
    }

    /// The level of element `id`.
    pub fn level(&self, id: u32) -> usize {
        // SAFETY: byte 4 of a record is the level, written before publication.
        unsafe { *self.record(id).add(4) as usize }
    }

    /// The vector of element `id` (written once, before the element is reachable).
    #[inline]
    pub fn vector(&self, id: u32) -> &[f32] {
        let at = RECORD_HEADER + align8(2 * self.params.m * 4);
        // SAFETY: the vector, or where it is, ends the record; neither is written
        // again. A variable one is in the upper area, 8-aligned, as `push` placed it.
        unsafe {
            let slot = self.record(id).add(at);
            match self.lanes {
                Lanes::Fixed(n) => std::slice::from_raw_parts(slot.cast::<f32>(), n),
                Lanes::Variable => {
                    let units = slot.cast::<u32>().read();
                    let len = slot.add(4).cast::<u32>().read() as usize;
                    std::slice::from_raw_parts(self.upper(units).cast::<f32>(), len)
                }
            }
        }
    }

    /// Pointers to the link count and the link slots of `id` on `layer`, with the
    /// slots' capacity.
    fn list(&self, id: u32, layer: usize) -> (*mut u8, *mut u32, usize) {
        let r = self.record(id);
        let m = self.params.m;
        // SAFETY: within the record, or within the element's upper-layer block
        // (allocated by `push` for level ≥ 1; see the layout).
        unsafe {
            if layer == 0 {
                return (r.add(6), r.add(RECORD_HEADER).cast::<u32>(), 2 * m);
            }
            let level = self.level(id);
            debug_assert!(layer <= level);
            let block = self.upper(r.add(16).cast::<u32>().read());
            let slots = block.add(align8(level)).cast::<u32>();
            (block.add(layer - 1), slots.add((layer - 1) * m), m)
        }
    }

    /// Adds an element with no links; `None` when the block is full.
    pub fn push(&self, vector: &[f32], level: usize, heap_tid: u64) -> Option<u32> {
        let links = if level > 0 {
            (align8(level) + level * self.params.m * 4).div_ceil(8)
        } else {
            0
        };
        let outside = match self.lanes {
            Lanes::Fixed(n) => {
                assert_eq!(vector.len(), n);
                0
            }
            Lanes::Variable => (vector.len() * 4).div_ceil(8),
        };
        let (id, start) = self.reserve(1, (links + outside) as u64)?;
        let r = self.record(id);
        let at = RECORD_HEADER + align8(2 * self.params.m * 4);
        // SAFETY: the record and the upper allocation (`links` units of upper links,
        // then the lanes of a variable vector) were just reserved to us alone; nobody
        // can reach `id` until it is linked (after this).
        unsafe {
            std::ptr::write_bytes(r, 0, RECORD_HEADER);
            *r.add(4) = level as u8;
            *r.add(5) = 1;
            r.add(8).cast::<u64>().write(heap_tid);
            r.add(16)
                .cast::<u32>()
                .write(if level > 0 { start } else { NONE });
            r.add(20).cast::<u32>().write(NONE);
            if level > 0 {
                std::ptr::write_bytes(self.upper(start), 0, level);
            }
            let slot = r.add(at);
            let lanes = match self.lanes {
                Lanes::Fixed(_) => slot.cast::<f32>(),
                Lanes::Variable => {
                    let units = start - links as u32;
                    slot.cast::<u32>().write(units);
                    slot.add(4).cast::<u32>().write(vector.len() as u32);
                    self.upper(units).cast::<f32>()
                }
            };
            std::ptr::copy_nonoverlapping(vector.as_ptr(), lanes, vector.len());
        }
        Some(id)
    }

    /// Adds a heap TID to element `id` (a row with the identical vector); `false`
    /// when it already has [`MAX_HEAP_TIDS`] or the block is full.
    pub fn add_heap_tid(&self, id: u32, heap_tid: u64) -> bool {
        let r = self.record(id);
        let word = self.lock_word(id);
        spin_lock(word);
        // SAFETY: the TID fields are read and written under the element's lock.
        let added = unsafe {
            let count = *r.add(5) as usize;
            let mut extra = r.add(20).cast::<u32>().read();
            if count < MAX_HEAP_TIDS && extra == NONE {
                extra = self.allocate((MAX_HEAP_TIDS - 1) * 8).unwrap_or(NONE);
                r.add(20).cast::<u32>().write(extra);
            }
            if count >= MAX_HEAP_TIDS || extra == NONE {
                false
            } else {
                let block = self.upper(extra).cast::<u64>();
                block.add(count - 1).write(heap_tid);
                *r.add(5) = (count + 1) as u8;
                true
            }
        };
        spin_unlock(word);
        added
    }

    /// Replaces `out` with the heap TIDs of `id` (packed). Call once inserts are done.
    pub fn heap_tids(&self, id: u32, out: &mut Vec<u64>) {
        out.clear();
        let r = self.record(id);
        // SAFETY: read after every insert finished (no concurrent writer).
        unsafe {
            let count = *r.add(5) as usize;
            out.push(r.add(8).cast::<u64>().read());
            if count > 1 {
                let extra = r.add(20).cast::<u32>().read();
                let block = self.upper(extra).cast::<u64>();
                out.extend((0..count - 1).map(|i| block.add(i).read()));
            }
        }
    }

    /// Replaces `out` with the neighbours of `id` on `layer` (empty above its level),
    /// copied under the element's lock.
    pub fn links(&self, id: u32, layer: usize, out: &mut Vec<u32>) {
        out.clear();
        if layer > self.level(id) {
            return;
        }
        let mut copy = [0u32; MAX_LIST];
        let n = self.copy_list(id, layer, &mut copy);
        out.extend_from_slice(&copy[..n]);
    }

    /// Copies the list of `id` on `layer` (at most its level) into `copy` under the
    /// element's lock (a plain copy: nothing else runs under it); its length.
    fn copy_list(&self, id: u32, layer: usize, copy: &mut [u32; MAX_LIST]) -> usize {
        let (len, slots, _) = self.list(id, layer);
        let word = self.lock_word(id);
        spin_lock(word);
        // SAFETY: the list is read under its element's lock; a list holds at most
        // 2·m ≤ MAX_LIST links.
        let n = unsafe {
            let n = *len as usize;
            std::ptr::copy_nonoverlapping(slots, copy.as_mut_ptr(), n);
            n
        };
        spin_unlock(word);
        n
    }

    /// The entry point and its level.
    pub fn entry(&self) -> Option<(u32, usize)> {
        let e = self.header().entry.load(Ordering::Acquire);
        (e != NO_ENTRY).then_some(((e >> 8) as u32, (e & 0xff) as usize))
    }

    /// Inserts a row: finds its neighbours, merges it into an element with the
    /// identical vector (as the serial build does), or adds and connects a new element
    /// (Algorithm 1 of the paper, with the locking of the module docs). `Full` leaves
    /// the graph unchanged.
    pub fn insert(
        &mut self,
        vector: &[f32],
        level: usize,
        heap_tid: u64,
        visited: &mut impl Visited<u32>,
    ) -> Inserted {
        let params = self.params;
        let found = find_neighbours(self, vector, level, &params, visited);
        let self_distance = self.metric.distance(vector, vector);
        let copy = found.copies(self_distance).find(|&c| {
            crate::distance::lanes::same(self.vector(c), vector) && self.add_heap_tid(c, heap_tid)
        });
        match copy {
            Some(c) => Inserted::Merged(c),
            None => match self.push(vector, level, heap_tid) {
                None => Inserted::Full,
                Some(id) => {
                    connect(self, id, level, &found, &params);
                    Inserted::Element(id)
                }
            },
        }
    }
}

impl SharedGraph {
    /// Once all inserts are done: makes every element reachable along layer 0 from
    /// the entry point, each unreachable one linked from the nearest of its own
    /// neighbours that is reached ([`reconnect::link_from_reached`]). A pruned link's
    /// target may have kept only an in-link from an element that was itself
    /// unreachable, so reachability is computed again, up to four rounds; then an
    /// element none of whose neighbours is reached is linked from the nearest reached
    /// element a search for its vector finds (as VACUUM's cleanup does). Returns how
    /// many elements were linked and how many a walk from the entry point still does
    /// not reach afterwards (a forced link can take a spare in-link whose other
    /// in-link came from an element unreached at the time, so that count is walked
    /// afresh).
    pub fn link_unreachable(&mut self) -> (usize, usize) {
        let mut total = 0;
        for _ in 0..4 {
            let (linked, lost) = self.link_round(false);
            total += linked;
            if linked == 0 || lost == 0 {
                break;
            }
        }
        total += self.link_round(true).0;
        (total, self.reach().seen.iter().filter(|&&s| !s).count())
    }

    /// The layer-0 in-link counts and what a walk from the entry point reaches.
    fn reach(&mut self) -> reconnect::DenseReach {
        let n = self.len();
        let mut reach = reconnect::DenseReach::new(n);
        let Some((entry, _)) = self.entry() else {
            return reach;
        };
        let mut links = Vec::new();
        for id in 0..n as u32 {
            self.links(id, 0, &mut links);
            for &l in &links {
                reach.in_links[l as usize] += 1;
            }
        }
        reach.walk_from(self, entry);
        reach
    }

    /// One round of [`SharedGraph::link_unreachable`]: passes over the unreached
    /// elements until one links none (one pass with searches), with candidates from each element's own
    /// neighbours, or (`from_search`) from a search for its vector. Returns how many
    /// it linked and how many are left unreached.
    fn link_round(&mut self, from_search: bool) -> (usize, usize) {
        let n = self.len();
        let Some((entry, top)) = self.entry() else {
            return (0, 0);
        };
        let mut reach = self.reach();
        let mut links = Vec::new();
        let max = self.params.max_links(0);
        let mut linked = 0;
        loop {
            let before = linked;
            for u in 0..n as u32 {
                if reach.seen[u as usize] {
                    continue;
                }
                let candidates = if from_search {
                    let query = self.vector(u).to_vec();
                    let mut visited = IdSet::default();
                    let start = Candidate {
                        distance: self.distance(&query, entry),
                        id: entry,
                    };
                    let first = descend(self, &query, start, top, 0, &mut visited);
                    let ef = self.params.ef_construction;
                    search_layer(self, &query, &[first], ef, 0, &mut visited)
                } else {
                    self.links(u, 0, &mut links);
                    let mut own: Vec<Candidate<u32>> = links
                        .iter()
                        .map(|&v| Candidate {
                            distance: self.metric.distance(self.vector(v), self.vector(u)),
                            id: v,
                        })
                        .collect();
                    own.sort_unstable();
                    own
                };
                if reconnect::link_from_reached(self, &mut reach, u, &candidates, max).is_some() {
                    linked += 1;
                }
            }
            // A search per unreached element is costly: one pass of those.
            if linked == before || from_search {
                return (linked, reach.seen.iter().filter(|&&s| !s).count());
            }
        }
    }
}

#[cfg(test)]
impl SharedGraph {
    /// Replaces the layer-0 list of `id` (tests cut links with it).
    fn write_list(&self, id: u32, list: &[u32]) {
        let (len, slots, cap) = self.list(id, 0);
        assert!(list.len() <= cap, "too many links");
        // SAFETY: within the element's layer-0 slots; no insert runs.
        unsafe {
            std::ptr::copy_nonoverlapping(list.as_ptr(), slots, list.len());
            *len = list.len() as u8;
        }
    }
}

impl Graph for SharedGraph {
    type Id = u32;

    #[inline]
    fn distance(&mut self, query: &[f32], id: u32) -> f32 {
        self.metric.distance(query, self.vector(id))
    }

    #[inline]
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.metric.distance(self.vector(a), self.vector(b))
    }

    /// Prefetches the vector after next while measuring one.
    fn distances(&mut self, query: &[f32], ids: &[u32], out: &mut Vec<f32>) {
        let g = &*self;
        g.metric
            .distances_prefetched(query, ids, |id| g.vector(id), out);
    }

    fn neighbours(&mut self, id: u32, layer: usize, out: &mut Vec<u32>) {
        self.links(id, layer, out);
    }

    fn metric(&self) -> Metric {
        self.metric
    }
}

impl GraphMut for SharedGraph {
    fn entry_point(&mut self) -> Option<(u32, usize)> {
        self.entry()
    }

    /// Raises the entry point to `id` unless another insert raised it to `level` or
    /// higher meanwhile (compare-and-swap; see the module docs).
    fn set_entry_point(&mut self, id: u32, level: usize) {
        let packed = (u64::from(id) << 8) | level as u64;
        let _ = self
            .header()
            .entry
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |e| {
                (e == NO_ENTRY || ((e & 0xff) as usize) < level).then_some(packed)
            });
    }

    /// Sets the list of a new element. Links other inserts added to it meanwhile (it
    /// was reachable through an upper layer) are kept after the selected ones while
    /// room remains.
    fn set_neighbours(&mut self, id: u32, layer: usize, neighbours: &[u32]) {
        let (len, slots, cap) = self.list(id, layer);
        assert!(neighbours.len() <= cap, "too many links");
        let mut old = [0u32; MAX_LIST];
        let word = self.lock_word(id);
        spin_lock(word);
        // SAFETY: the list is read and written under its element's lock, within its
        // slots (at most MAX_LIST); only copies and comparisons run under it.
        unsafe {
            let had = *len as usize;
            std::ptr::copy_nonoverlapping(slots, old.as_mut_ptr(), had);
            std::ptr::copy_nonoverlapping(neighbours.as_ptr(), slots, neighbours.len());
            let mut n = neighbours.len();
            for &o in &old[..had] {
                if n < cap && !neighbours.contains(&o) {
                    *slots.add(n) = o;
                    n += 1;
                }
            }
            *len = n as u8;
        }
        spin_unlock(word);
    }

    /// Adds `id → new`: appended under `id`'s lock when the list has room; a full
    /// list is re-selected ([`select::with_link`]) without the lock and written only
    /// if unchanged meanwhile (see the module docs). Returns whether the list holds
    /// `new` (`false` also when three tries all lost a race).
    fn add_link(
        &mut self,
        id: u32,
        layer: usize,
        new: Candidate<u32>,
        max: usize,
        force: Option<&dyn Fn(u32) -> bool>,
    ) -> bool {
        let (len, slots, cap) = self.list(id, layer);
        let max = max.min(cap);
        let word = self.lock_word(id) as *const AtomicU32;
        // SAFETY: the record outlives this call.
        let word = unsafe { &*word };
        let mut seen = [0u32; MAX_LIST];
        for _attempt in 0..3 {
            spin_lock(word);
            // SAFETY: the list is read (and, with room, appended to) under its
            // element's lock; only copies run under it.
            let n = unsafe {
                let n = *len as usize;
                std::ptr::copy_nonoverlapping(slots, seen.as_mut_ptr(), n);
                if n < max && !seen[..n].contains(&new.id) {
                    *slots.add(n) = new.id;
                    *len = (n + 1) as u8;
                }
                n
            };
            spin_unlock(word);
            if n < max || seen[..n].contains(&new.id) {
                return true;
            }
            let Some(kept) = select::with_link(self, id, &seen[..n], new, max, force) else {
                return true;
            };
            spin_lock(word);
            // SAFETY: as above; the list is replaced only if it is still the one the
            // heuristic saw.
            let written = unsafe {
                let unchanged =
                    *len as usize == n && std::slice::from_raw_parts(slots, n) == &seen[..n];
                if unchanged {
                    std::ptr::copy_nonoverlapping(kept.as_ptr(), slots, kept.len());
                    *len = kept.len() as u8;
                }
                unchanged
            };
            spin_unlock(word);
            if written {
                return kept.contains(&new.id);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::visited::EpochVisited;
    use rand::{Rng, SeedableRng};

    fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
            .collect()
    }

    const PARAMS: Params = Params {
        m: 8,
        ef_construction: 48,
    };

    /// A block of `bytes` backed by a `Vec<u64>` (8-aligned).
    fn block(bytes: usize) -> Vec<u64> {
        vec![0u64; bytes.div_ceil(8)]
    }

    /// Builds with `threads` threads, each inserting every `threads`-th vector.
    fn build(mem: &mut [u64], data: &[Vec<f32>], threads: usize) -> SharedGraph {
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: the block is ours, aligned, and outlives the views.
        let g = unsafe {
            SharedGraph::init(
                base,
                mem.len() * 8,
                Lanes::Fixed(data[0].len()),
                Metric::L2,
                PARAMS,
            )
        };
        std::thread::scope(|s| {
            for t in 0..threads {
                let mut view = g.clone();
                s.spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(t as u64);
                    let mut visited = EpochVisited::default();
                    for (i, v) in data.iter().enumerate().skip(t).step_by(threads) {
                        let level = PARAMS.random_level(&mut rng);
                        let r = view.insert(v, level, i as u64, &mut visited);
                        assert!(matches!(r, Inserted::Element(_)), "{r:?}");
                    }
                });
            }
        });
        g
    }

    fn recall(g: &mut SharedGraph, data: &[Vec<f32>], queries: &[Vec<f32>]) -> f64 {
        let mut hits = 0;
        let mut tids = Vec::new();
        for q in queries {
            let mut exact: Vec<(f32, usize)> = data
                .iter()
                .enumerate()
                .map(|(i, v)| (Metric::L2.distance(q, v), i))
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let truth: Vec<usize> = exact.iter().take(10).map(|e| e.1).collect();
            let mut visited = EpochVisited::default();
            let (ep, top) = g.entry().unwrap();
            let entry = Candidate {
                distance: g.distance(q, ep),
                id: ep,
            };
            let e = descend(g, q, entry, top, 0, &mut visited);
            for c in search_layer(g, q, &[e], 64, 0, &mut visited)
                .iter()
                .take(10)
            {
                g.heap_tids(c.id, &mut tids);
                hits += truth.contains(&(tids[0] as usize)) as usize;
            }
        }
        hits as f64 / (10 * queries.len()) as f64
    }

    #[test]
    fn concurrent_build_has_the_serial_recall_and_valid_lists() {
        let data = random_vectors(4000, 16, 1);
        let queries = random_vectors(100, 16, 2);
        let mut serial = (0.0, 0);
        for threads in [1, 4] {
            let mut mem = block(SharedGraph::bytes_for(data.len(), 16, PARAMS.m));
            let mut g = build(&mut mem, &data, threads);
            assert_eq!(g.len(), data.len());
            let mut seen = vec![0u32; data.len()];
            let mut links = Vec::new();
            for id in 0..g.len() as u32 {
                for layer in 0..=g.level(id) {
                    g.neighbours(id, layer, &mut links);
                    assert!(links.len() <= PARAMS.max_links(layer));
                    let mut sorted = links.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(sorted.len(), links.len(), "duplicate link");
                    for &l in &links {
                        assert!(l != id && (l as usize) < g.len() && g.level(l) >= layer);
                        seen[l as usize] += 1;
                    }
                }
            }
            let r = recall(&mut g, &data, &queries);
            let orphans = seen.iter().filter(|&&s| s == 0).count();
            if threads == 1 {
                // Seeded and single-threaded: the same graph every run.
                assert!(r >= 0.95, "1 thread: recall@10 {r}");
                assert!(
                    orphans <= data.len() / 200,
                    "1 thread: {orphans} without in-link"
                );
                serial = (r, orphans);
            } else {
                // The interleaving of the threads differs from run to run, and so does
                // the graph: as good as the serial one within the noise of 100 queries.
                assert!(
                    r >= serial.0 - 0.02,
                    "{threads} threads: recall@10 {r} vs {}",
                    serial.0
                );
                assert!(
                    orphans <= 2 * serial.1 + 10,
                    "{threads} threads: {orphans} without in-link (serial {})",
                    serial.1
                );
            }
        }
    }

    #[test]
    fn unreachable_elements_are_linked_from_a_reachable_neighbour() {
        let data = random_vectors(2000, 16, 5);
        let mut mem = block(SharedGraph::bytes_for(data.len(), 16, PARAMS.m));
        let mut g = build(&mut mem, &data, 1);
        let reachable = |g: &SharedGraph| {
            let mut seen = vec![false; g.len()];
            let mut stack = vec![g.entry().unwrap().0];
            seen[stack[0] as usize] = true;
            let mut links = Vec::new();
            while let Some(id) = stack.pop() {
                g.links(id, 0, &mut links);
                for &l in &links {
                    if !std::mem::replace(&mut seen[l as usize], true) {
                        stack.push(l);
                    }
                }
            }
            seen.iter().filter(|&&s| s).count()
        };
        g.link_unreachable();
        assert_eq!(reachable(&g), g.len());
        // Cut every in-link of ten level-0 elements.
        let cut: Vec<u32> = (0..g.len() as u32)
            .filter(|&id| g.level(id) == 0)
            .step_by(97)
            .take(10)
            .collect();
        let mut links = Vec::new();
        for id in 0..g.len() as u32 {
            g.links(id, 0, &mut links);
            links.retain(|l| !cut.contains(l));
            g.write_list(id, &links);
        }
        assert_eq!(reachable(&g), g.len() - cut.len());
        // Each is linked; a link pruned on the way may strand another, linked too.
        let (linked, unreached) = g.link_unreachable();
        assert!(linked >= cut.len());
        assert_eq!(unreached, 0);
        assert_eq!(reachable(&g), g.len(), "every element reachable again");
        for id in 0..g.len() as u32 {
            g.links(id, 0, &mut links);
            assert!(links.len() <= PARAMS.max_links(0));
        }
    }

    #[test]
    fn full_block_changes_nothing_and_duplicates_merge() {
        let data = random_vectors(300, 32, 3);
        let mut mem = block(SharedGraph::bytes_for(100, 32, PARAMS.m));
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: as in `build`.
        let mut g =
            unsafe { SharedGraph::init(base, mem.len() * 8, Lanes::Fixed(32), Metric::L2, PARAMS) };
        let mut visited = EpochVisited::default();
        let mut full_at = None;
        for (i, v) in data.iter().enumerate() {
            match g.insert(v, 0, i as u64, &mut visited) {
                Inserted::Element(id) => assert_eq!(id as usize, i),
                Inserted::Full => {
                    full_at = Some(i);
                    break;
                }
                Inserted::Merged(_) => panic!("distinct vectors merged"),
            }
        }
        let full_at = full_at.expect("a block for 100 elements fills up");
        assert!((100..=130).contains(&full_at), "{full_at}");
        assert_eq!(g.len(), full_at);
        let used = g.bytes_used();
        assert_eq!(g.insert(&data[full_at], 0, 0, &mut visited), Inserted::Full);
        assert_eq!(g.len(), full_at);
        assert_eq!(g.bytes_used(), used);

        // A fresh block: copies of one vector become heap TIDs of one element.
        let mut mem = block(SharedGraph::bytes_for(100, 32, PARAMS.m));
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: as in `build`.
        let mut g =
            unsafe { SharedGraph::init(base, mem.len() * 8, Lanes::Fixed(32), Metric::L2, PARAMS) };
        g.insert(&data[1], 0, 1, &mut visited);
        for tid in 100..100 + MAX_HEAP_TIDS as u64 + 1 {
            g.insert(&data[0], 0, tid, &mut visited);
        }
        assert_eq!(g.len(), 3, "the 11th copy is a new element");
        let mut tids = Vec::new();
        g.heap_tids(1, &mut tids);
        assert_eq!(tids, (100..100 + MAX_HEAP_TIDS as u64).collect::<Vec<_>>());
        g.heap_tids(2, &mut tids);
        assert_eq!(tids, vec![100 + MAX_HEAP_TIDS as u64]);
    }

    /// An empty graph of sparse vectors under L2 in `mem`.
    fn sparse_graph(mem: &mut [u64]) -> SharedGraph {
        let base = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: as in `build`.
        unsafe {
            SharedGraph::init(
                base,
                mem.len() * 8,
                Lanes::Variable,
                Metric::SparseL2,
                PARAMS,
            )
        }
    }

    /// Elements of varying length (sparse vectors) live in the upper area: each
    /// reads back as pushed, a search over them finds the exact neighbours, copies
    /// merge, and a block fills up without changing anything, as with fixed ones.
    #[test]
    fn elements_of_varying_length() {
        use crate::distance::lanes;
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut data: Vec<Vec<f32>> = (0..1400)
            .map(|i| {
                // Few rows empty; the rest of 8 to 40 elements of 64 dimensions, so
                // that they overlap and have near neighbours to find.
                let nnz = if i % 97 == 0 {
                    0
                } else {
                    [8, 16, 17, 40][i % 4]
                };
                let mut idx: Vec<i32> = (0..nnz).map(|_| rng.random_range(0..64)).collect();
                idx.sort_unstable();
                idx.dedup();
                let val: Vec<f32> = idx.iter().map(|_| rng.random_range(0.1f32..1.0)).collect();
                lanes::from_sparse(&idx, &val)
            })
            .collect();
        // And 100 copies of earlier rows, inserted by every thread.
        for i in 0..100 {
            data.push(data[i * 13].clone());
        }
        for threads in [1, 4] {
            let mut mem = block(4 << 20);
            let mut g = sparse_graph(&mut mem);
            // Each thread inserts every `threads`-th row; the element of each row.
            let mut ids = vec![0u32; data.len()];
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let mut view = g.clone();
                        let data = &data;
                        s.spawn(move || {
                            let mut rng = rand::rngs::StdRng::seed_from_u64(10 + t as u64);
                            let mut visited = EpochVisited::default();
                            let mut mine = Vec::new();
                            for (i, v) in data.iter().enumerate().skip(t).step_by(threads) {
                                let level = PARAMS.random_level(&mut rng);
                                match view.insert(v, level, i as u64, &mut visited) {
                                    Inserted::Element(id) | Inserted::Merged(id) => {
                                        mine.push((i, id))
                                    }
                                    Inserted::Full => panic!("4 MB holds 1,500 small elements"),
                                }
                            }
                            mine
                        })
                    })
                    .collect();
                for h in handles {
                    for (i, id) in h.join().unwrap() {
                        ids[i] = id;
                    }
                }
            });
            assert!(g.len() < data.len() - 100, "{threads}: copies merged");
            let mut tids = Vec::new();
            for (i, v) in data.iter().enumerate() {
                assert!(
                    lanes::same(g.vector(ids[i]), v),
                    "{threads}: row {i} reads back"
                );
                g.heap_tids(ids[i], &mut tids);
                assert!(tids.contains(&(i as u64)), "{threads}: row {i}'s heap TID");
            }
            // The estimate the NOTICE of a full graph quotes covers what it took.
            let estimate = SharedGraph::bytes_for(g.len(), g.estimate_lanes(), PARAMS.m);
            assert!(
                estimate >= g.bytes_used(),
                "{estimate} < {}",
                g.bytes_used()
            );
            // The exact nearest are found: recall of the ten nearest.
            let mut hits = 0;
            for q in data.iter().step_by(50).filter(|q| !q.is_empty()) {
                let mut exact: Vec<(f32, u32)> = (0..g.len() as u32)
                    .map(|id| (Metric::SparseL2.distance(q, g.vector(id)), id))
                    .collect();
                exact.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let cutoff = exact[9].0;
                let (entry, top) = g.entry().unwrap();
                let mut seen = IdSet::default();
                let start = Candidate {
                    distance: g.distance(q, entry),
                    id: entry,
                };
                let first = descend(&mut g, q, start, top, 0, &mut seen);
                let found = search_layer(&mut g, q, &[first], 64, 0, &mut seen);
                hits += found
                    .iter()
                    .take(10)
                    .filter(|c| c.distance <= cutoff)
                    .count();
            }
            let queries = data.iter().step_by(50).filter(|q| !q.is_empty()).count();
            let recall = hits as f64 / (10 * queries) as f64;
            assert!(recall >= 0.95, "{threads}: recall {recall}");
        }

        // A small block: fills up, then a further insert changes nothing.
        let mut visited = EpochVisited::default();
        let mut mem = block(64 << 10);
        let mut g = sparse_graph(&mut mem);
        let long: Vec<&Vec<f32>> = data.iter().filter(|v| v.len() > 50).collect();
        let mut full_at = None;
        for (i, v) in long.iter().enumerate() {
            if g.insert(v, 0, i as u64, &mut visited) == Inserted::Full {
                full_at = Some(i);
                break;
            }
        }
        let full_at = full_at.expect("64 kB fills up");
        let used = g.bytes_used();
        assert!(used <= 64 << 10 && used + 512 > 64 << 10, "{used}");
        assert_eq!(g.insert(long[full_at], 0, 0, &mut visited), Inserted::Full);
        assert_eq!((g.len(), g.bytes_used()), (full_at, used));
    }
}
