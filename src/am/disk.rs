//! The on-disk graph: [`DiskGraph`] implements the HNSW core's graph traits over index
//! pages, so `aminsert`, the over-budget part of a build and scans run the same
//! algorithms as the in-memory build.
//!
//! Locking (see also `storage`): every read takes a share lock on one page, copies or
//! uses what it needs and releases it; every write takes an exclusive lock on one page
//! inside a GenericXLog record. No two buffer locks are ever held together.
//!
//! Adding a back-link to a full neighbour list needs the vectors of the old
//! neighbours, which live on other pages, so [`DiskGraph::add_link`] is optimistic:
//! read the list, choose the new one without locks, then write it only if the list is
//! unchanged under the exclusive lock (else try again, three times at most; losing a
//! back-link leaves a valid, slightly less connected graph).
//!
//! Inserting a new element (its page placement and locking) is in
//! [`super::insert`].
//!
//! An element longer than a page keeps its lanes in a chain ([`chain`]): its tuple is
//! read under its page's lock, the chain after that lock is released, one page at a
//! time, so the one-lock rule holds. A chain found broken (VACUUM freed the element
//! after its tuple was read) reads as a missing element.

use crate::hnsw::search::{descend, search_layer};
use crate::hnsw::select::{select_neighbours, with_link};
use crate::hnsw::{hash_table_bytes, Candidate, Graph, GraphMut, IdHasher, IdSet, Metric, Params};
use crate::storage::meta::Meta;
use crate::storage::page::{ReadPage, WritePage};
use crate::storage::tuple::{self, Element, Neighbours, Tid};
use crate::storage::PAGE_ELEMENTS;
use crate::storage::{buffers, chain};
use pgrx::pg_sys;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// HNSW graph access over the pages of one index.
pub struct DiskGraph {
    rel: pg_sys::Relation,
    metric: Metric,
    /// Vectors read for distances between elements (one insert's worth): where each
    /// one sits in `arena` (start, length), so caching one allocates nothing.
    vectors: HashMap<u64, (u32, u32), BuildHasherDefault<IdHasher>>,
    arena: Vec<f32>,
    fetched: Vec<f32>,
    tids: Vec<Tid>,
    /// Scratch for [`Graph::distances`]: the TIDs of one batch and a vector copy.
    batch: Vec<Tid>,
    scratch: Vec<f32>,
    /// Elements found flagged deleted while their vectors were read.
    deleted: IdSet<u64>,
}

impl DiskGraph {
    /// Graph access to `rel`, whose metapage says it uses `metric`.
    pub fn new(rel: pg_sys::Relation, metric: Metric) -> DiskGraph {
        DiskGraph {
            rel,
            metric,
            // An insert reads a few hundred vectors; sized once, not rehashed.
            vectors: HashMap::with_capacity_and_hasher(512, Default::default()),
            arena: Vec::new(),
            fetched: Vec::new(),
            tids: Vec::new(),
            batch: Vec::new(),
            scratch: Vec::new(),
            deleted: IdSet::default(),
        }
    }

    /// Bytes of heap memory held by this graph's caches and scratch space (an
    /// iterative scan counts them against its budget).
    pub fn heap_bytes(&self) -> usize {
        let floats = self.arena.capacity() + self.fetched.capacity() + self.scratch.capacity();
        let tids = self.tids.capacity() + self.batch.capacity();
        floats * size_of::<f32>()
            + tids * size_of::<Tid>()
            + hash_table_bytes(self.vectors.capacity(), size_of::<(u64, (u32, u32))>())
            + hash_table_bytes(self.deleted.capacity(), size_of::<u64>())
    }

    /// Notes what measuring element `id` (`e`) learnt: whether it is deleted.
    fn observe(&mut self, id: u64, e: &Element) {
        if e.deleted() {
            self.deleted.insert(id);
        }
    }

    /// Appends to `out` the heap TIDs of element `id`, a search result found at
    /// `distance` from `query`, if it still is that element: live, and at exactly
    /// that distance. Between the search's read and this one VACUUM may have freed
    /// the element and an insert reused its slot; another vector there would hand
    /// its rows the old rank (out of order), so its rows are left out. (A reused
    /// slot holding the same vector returns rows that belong at that rank anyway.)
    pub fn result_heap_tids(&mut self, id: u64, query: &[f32], distance: f32, out: &mut Vec<Tid>) {
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
        let chained = self.checked_heap_tids(&page, tid, query, distance, out);
        drop(page);
        self.confirm_chained(chained, query, distance, out);
    }

    /// [`DiskGraph::result_heap_tids`] and the neighbour list of the element on
    /// `layer` (into `neighbours`, as for [`Graph::neighbours`]) from one read of its
    /// page: what a walk that returns an element's rows and expands it needs.
    pub fn result_heap_tids_and_neighbours(
        &mut self,
        id: u64,
        query: &[f32],
        distance: f32,
        layer: usize,
        out: &mut Vec<Tid>,
        neighbours: &mut Vec<u64>,
    ) {
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
        let chained = self.checked_heap_tids(&page, tid, query, distance, out);
        let mut tids = std::mem::take(&mut self.tids);
        self.layer_from(page, tid, layer, &mut tids);
        self.confirm_chained(chained, query, distance, out);
        neighbours.clear();
        neighbours.extend(tids.iter().map(|t| t.pack()));
        self.tids = tids;
    }

    /// The heap TIDs of the element at `tid` on its locked `page`, if it is live and
    /// at exactly `distance` from `query` (see [`DiskGraph::result_heap_tids`]). For
    /// a chained element they are appended unchecked: the returned check (where
    /// they start in `out`, the element's chain) is for
    /// [`DiskGraph::confirm_chained`] once the page is released.
    fn checked_heap_tids(
        &mut self,
        page: &ReadPage,
        tid: Tid,
        query: &[f32],
        distance: f32,
        out: &mut Vec<Tid>,
    ) -> Option<(usize, (usize, Tid))> {
        let e = page.item(tid.offset).and_then(Element::parse)?;
        if e.deleted() {
            return None;
        }
        match measure(self.metric, query, &e, &mut self.scratch) {
            Measured::Distance(d) => {
                if d == distance {
                    out.extend(e.heap_tids());
                }
                None
            }
            Measured::Chain(lanes, head) => {
                let start = out.len();
                out.extend(e.heap_tids());
                Some((start, (lanes, head)))
            }
        }
    }

    /// Completes [`DiskGraph::checked_heap_tids`] for a chained element: keeps the
    /// heap TIDs appended from `start` only if its chain is whole and at exactly
    /// `distance` from `query`.
    fn confirm_chained(
        &mut self,
        check: Option<(usize, (usize, Tid))>,
        query: &[f32],
        distance: f32,
        out: &mut Vec<Tid>,
    ) {
        if let Some((start, (lanes, head))) = check {
            if self.chain_distance(query, lanes, head) != distance {
                out.truncate(start);
            }
        }
    }

    /// The distance from `query` to the chained element of `lanes` whose chain starts
    /// at `head` (no page may be locked); infinite when the chain is not whole.
    fn chain_distance(&mut self, query: &[f32], lanes: usize, head: Tid) -> f32 {
        let mut scratch = std::mem::take(&mut self.scratch);
        let d = if chain::read(self.rel, head, lanes, &mut scratch) {
            self.metric.distance(query, &scratch)
        } else {
            f32::INFINITY
        };
        self.scratch = scratch;
        d
    }

    fn read_page(&mut self, block: u32) -> ReadPage {
        ReadPage::read(self.rel, block, PAGE_ELEMENTS)
    }

    /// Reads element `id` and passes it to `f`; `None` when there is no element at
    /// that TID.
    fn with_element<R>(&mut self, id: u64, f: impl FnOnce(&Element) -> R) -> Option<R> {
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
        let element = Element::parse(page.item(tid.offset)?)?;
        Some(f(&element))
    }

    /// Reads the TIDs of `id`'s neighbour list on `layer` into `out`; returns where the
    /// neighbour tuple is.
    fn read_layer(&mut self, id: u64, layer: usize, out: &mut Vec<Tid>) -> Option<Tid> {
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
        self.layer_from(page, tid, layer, out)
    }

    /// [`DiskGraph::read_layer`] of the element at `tid`, whose page is `page`
    /// (released before another page is read).
    fn layer_from(
        &mut self,
        page: ReadPage,
        tid: Tid,
        layer: usize,
        out: &mut Vec<Tid>,
    ) -> Option<Tid> {
        out.clear();
        let nb = Element::parse(page.item(tid.offset)?)?.neighbours();
        if nb.block == tid.block {
            Neighbours::parse(page.item(nb.offset)?)?.layer(layer, out);
        } else {
            drop(page);
            let page = self.read_page(nb.block);
            Neighbours::parse(page.item(nb.offset)?)?.layer(layer, out);
        }
        Some(nb)
    }

    fn vector(&mut self, id: u64) -> Option<&[f32]> {
        let (start, len) = match self.vectors.get(&id) {
            Some(&at) => at,
            None => {
                let mut v = std::mem::take(&mut self.fetched);
                let read = self.with_element(id, |e| {
                    e.vector_into(&mut v);
                    (e.deleted(), e.chain().map(|head| (e.dim(), head)))
                });
                // A chain is read after the element's page is released.
                let read = read.filter(|&(_, chained)| {
                    chained.is_none_or(|(lanes, head)| chain::read(self.rel, head, lanes, &mut v))
                });
                let at = (self.arena.len() as u32, v.len() as u32);
                if read.is_some() {
                    self.arena.extend_from_slice(&v);
                }
                self.fetched = v;
                if read?.0 {
                    self.deleted.insert(id);
                }
                self.vectors.insert(id, at);
                at
            }
        };
        Some(&self.arena[start as usize..(start + len) as usize])
    }

    /// Forgets cached vectors (between inserts).
    pub fn clear_cache(&mut self) {
        self.vectors.clear();
        self.arena.clear();
        self.deleted.clear();
    }
}

/// How many elements ahead of the one being measured [`Graph::distances`] prefetches
/// the items of (their pages' headers were prefetched first).
const PREFETCH_AHEAD: usize = 2;

/// What [`measure`] made of an element.
enum Measured {
    /// Its distance.
    Distance(f32),
    /// Its lanes (this many) are in the chain that starts here: to be read once its
    /// page is released.
    Chain(usize, Tid),
}

/// The distance from `query` to element `e`'s vector, read in place when aligned
/// (always, on a page) or through `scratch`; or where its chain is.
fn measure(metric: Metric, query: &[f32], e: &Element, scratch: &mut Vec<f32>) -> Measured {
    if let Some(head) = e.chain() {
        return Measured::Chain(e.dim(), head);
    }
    Measured::Distance(match e.vector() {
        Some(v) => metric.distance(query, v),
        None => {
            e.vector_into(scratch);
            metric.distance(query, scratch)
        }
    })
}

impl Graph for DiskGraph {
    type Id = u64;

    fn distance(&mut self, query: &[f32], id: u64) -> f32 {
        let metric = self.metric;
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
        let Some(e) = page.item(tid.offset).and_then(Element::parse) else {
            return f32::INFINITY;
        };
        self.observe(id, &e);
        match measure(metric, query, &e, &mut Vec::new()) {
            Measured::Distance(d) => d,
            Measured::Chain(lanes, head) => {
                drop(page);
                self.chain_distance(query, lanes, head)
            }
        }
    }

    fn distance_between(&mut self, a: u64, b: u64) -> f32 {
        if self.vector(a).is_none() || self.vector(b).is_none() {
            return f32::INFINITY;
        }
        let at = |(start, len): (u32, u32)| start as usize..(start + len) as usize;
        let (va, vb) = (at(self.vectors[&a]), at(self.vectors[&b]));
        self.metric.distance(&self.arena[va], &self.arena[vb])
    }

    fn neighbours(&mut self, id: u64, layer: usize, out: &mut Vec<u64>) {
        let mut tids = std::mem::take(&mut self.tids);
        self.read_layer(id, layer, &mut tids);
        out.clear();
        out.extend(tids.iter().map(|t| t.pack()));
        self.tids = tids;
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn is_deleted(&self, id: u64) -> bool {
        self.deleted.contains(&id)
    }

    /// Reads each page once: the elements of `ids` on one page are measured under one
    /// share lock, after the pages were all prefetched; the items of the next
    /// [`PREFETCH_AHEAD`] elements are prefetched while one is measured.
    fn distances(&mut self, query: &[f32], ids: &[u64], out: &mut Vec<f32>) {
        let mut tids = std::mem::take(&mut self.batch);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut chains = Vec::new();
        tids.clear();
        tids.extend(ids.iter().map(|&id| Tid::unpack(id)));
        buffers::prefetch(self.rel, tids.iter().map(|t| t.block));
        out.clear();
        out.resize(ids.len(), f32::NAN);
        // Items up to `ahead` (exclusive) are being brought into the CPU cache.
        let mut ahead = 0;
        for first in 0..tids.len() {
            if !out[first].is_nan() {
                continue;
            }
            let until = (first + PREFETCH_AHEAD + 1).min(tids.len());
            if ahead < until {
                let start = ahead.max(first);
                buffers::prefetch_items(
                    self.rel,
                    tids[start..until].iter().map(|t| (t.block, t.offset)),
                );
                ahead = until;
            }
            let block = tids[first].block;
            let page = self.read_page(block);
            for (i, t) in tids.iter().enumerate().skip(first) {
                if t.block == block {
                    out[i] = match page.item(t.offset).and_then(Element::parse) {
                        Some(e) => {
                            self.observe(ids[i], &e);
                            match measure(self.metric, query, &e, &mut scratch) {
                                Measured::Distance(d) => d,
                                Measured::Chain(lanes, head) => {
                                    chains.push((i, lanes, head));
                                    f32::INFINITY
                                }
                            }
                        }
                        None => f32::INFINITY,
                    };
                }
            }
            // Chains are read once the element's page is released.
            drop(page);
            self.scratch = std::mem::take(&mut scratch);
            for (i, lanes, head) in chains.drain(..) {
                out[i] = self.chain_distance(query, lanes, head);
            }
            scratch = std::mem::take(&mut self.scratch);
        }
        self.batch = tids;
        self.scratch = scratch;
    }
}

impl GraphMut for DiskGraph {
    fn entry_point(&mut self) -> Option<(u64, usize)> {
        Meta::read(self.rel).entry.map(|(t, l)| (t.pack(), l))
    }

    fn set_entry_point(&mut self, id: u64, level: usize) {
        Meta::update(self.rel, |m| {
            let higher = m.entry.is_none_or(|(_, l)| level > l);
            if higher {
                m.entry = Some((Tid::unpack(id), level));
            }
            higher
        });
    }

    fn set_neighbours(&mut self, id: u64, layer: usize, neighbours: &[u64]) {
        let mut current = Vec::new();
        let Some(nb) = self.read_layer(id, layer, &mut current) else {
            return;
        };
        let tids: Vec<Tid> = neighbours.iter().map(|&n| Tid::unpack(n)).collect();
        let mut page = WritePage::lock(self.rel, nb.block, PAGE_ELEMENTS);
        if let Some(bytes) = page.item_mut(nb.offset) {
            tuple::set_layer(bytes, layer, &tids);
            page.commit();
        }
    }

    /// Adds the link `id → new` on `layer` (list of at most `max`), re-selecting a
    /// full list with the heuristic. With `force`, `new` stays in the list even when
    /// the heuristic would drop it: it replaces the last kept link that `force` says
    /// can be spared (has other in-links), else the last. Returns whether the list
    /// now holds `new`.
    fn add_link(
        &mut self,
        id: u64,
        layer: usize,
        new: Candidate<u64>,
        max: usize,
        force: Option<&dyn Fn(u64) -> bool>,
    ) -> bool {
        let (mut present, mut holds) = (false, false);
        let written = self.update_layer(id, layer, |graph, current| {
            let ids: Vec<u64> = current.iter().map(|t| t.pack()).collect();
            let Some(kept) = with_link(graph, id, &ids, new, max, force) else {
                present = true;
                return None;
            };
            holds = kept.contains(&new.id);
            let kept: Vec<Tid> = kept.into_iter().map(Tid::unpack).collect();
            (holds || kept.as_slice() != current).then_some(kept)
        });
        present || (written && holds)
    }
}

impl DiskGraph {
    /// Replaces `id`'s list on `layer` with what `choose` makes of the current one
    /// (`None`: leave it), writing only if the list is still the one `choose` saw when
    /// re-read under the page's exclusive lock; tries three times. `false` when
    /// nothing was written.
    fn update_layer(
        &mut self,
        id: u64,
        layer: usize,
        mut choose: impl FnMut(&mut DiskGraph, &[Tid]) -> Option<Vec<Tid>>,
    ) -> bool {
        let mut current = Vec::new();
        for _attempt in 0..3 {
            let Some(nb) = self.read_layer(id, layer, &mut current) else {
                return false;
            };
            let Some(chosen) = choose(self, &current) else {
                return false;
            };
            let mut page = WritePage::lock(self.rel, nb.block, PAGE_ELEMENTS);
            let Some(bytes) = page.item_mut(nb.offset) else {
                return false;
            };
            let Some(list) = Neighbours::parse(bytes) else {
                return false;
            };
            let mut now = Vec::new();
            list.layer(layer, &mut now);
            if now == current {
                tuple::set_layer(bytes, layer, &chosen);
                page.commit();
                return true;
            }
            // The list changed since we read it: drop the guard (abort) and retry.
        }
        false
    }

    /// Re-selects `id`'s links on `layer` when some of them point at deleted
    /// elements (VACUUM): searches the layer for `id`'s vector with
    /// `ef_construction` live results, starting from the entry point (as an insert
    /// does) and from its live neighbours, and keeps what the heuristic chooses among
    /// the live elements found and the live neighbours. Each element newly chosen gets the link back to `id`
    /// ([`DiskGraph::link_back_in_repair`]), as an insert's neighbours do: without it, every
    /// repair would leave one-way links, and under steady churn elements end up
    /// linked only from far away, where a search for their vector does not look
    /// (a 120 s insert/delete/VACUUM churn of 22k rows left 0.7 % of them missed by a
    /// search for their own vector at ef_search 10; with it 0.1 %, a fresh build
    /// 0.2 %). `deleted`: the elements this VACUUM flagged. Returns whether the list
    /// was rewritten.
    pub fn repair_layer(
        &mut self,
        id: u64,
        layer: usize,
        params: &Params,
        deleted: &IdSet<u64>,
    ) -> bool {
        let Some(vector) = self.vector_of(id) else {
            return false;
        };
        let max = params.max_links(layer);
        let mut added: Vec<Candidate<u64>> = Vec::new();
        let written = self.update_layer(id, layer, |graph, current| {
            let ids: Vec<u64> = current.iter().map(|t| t.pack()).collect();
            let mut distances = Vec::new();
            graph.distances(&vector, &ids, &mut distances);
            let live: Vec<Candidate<u64>> = ids
                .iter()
                .zip(&distances)
                .filter(|&(&n, d)| !graph.is_deleted(n) && n != id && d.is_finite())
                .map(|(&n, &distance)| Candidate { distance, id: n })
                .collect();
            if live.len() == current.len() {
                return None;
            }
            // From the entry point, as an insert searches, and from the live
            // neighbours: where most of the neighbourhood is deleted, the live
            // neighbours alone may sit in a corner of it.
            let mut visited = IdSet::default();
            let mut entries = live.clone();
            if let Some((ep, top)) = graph
                .entry_point()
                .filter(|&(ep, top)| top >= layer && ep != id)
            {
                let start = Candidate {
                    distance: graph.distance(&vector, ep),
                    id: ep,
                };
                entries.push(descend(graph, &vector, start, top, layer, &mut visited));
            }
            if entries.is_empty() {
                return Some(Vec::new());
            }
            let found = search_layer(
                graph,
                &vector,
                &entries,
                params.ef_construction,
                layer,
                &mut visited,
            );
            let mut candidates: Vec<Candidate<u64>> = found
                .into_iter()
                .chain(live)
                .filter(|c| c.id != id && !graph.is_deleted(c.id))
                .collect();
            candidates.sort_unstable();
            candidates.dedup_by_key(|c| c.id);
            let chosen = select_neighbours(graph, &candidates, max, max);
            added.clear();
            added.extend(chosen.iter().filter(|c| !ids.contains(&c.id)));
            Some(chosen.iter().map(|c| Tid::unpack(c.id)).collect())
        });
        if written {
            for c in added {
                let back = Candidate {
                    distance: c.distance,
                    id,
                };
                self.link_back_in_repair(c.id, layer, back, max, deleted);
            }
        }
        written
    }

    /// Adds the link `id → new` on `layer` for VACUUM's repair: a full list that
    /// still holds an element of `deleted` gives that place to `new` (the list is
    /// re-selected when the repair reaches it, if other deleted links are left);
    /// any other full list is re-selected with the heuristic, as by an insert
    /// (`GraphMut::add_link`).
    fn link_back_in_repair(
        &mut self,
        id: u64,
        layer: usize,
        new: Candidate<u64>,
        max: usize,
        deleted: &IdSet<u64>,
    ) {
        let new_tid = Tid::unpack(new.id);
        self.update_layer(id, layer, |graph, current| {
            let deleted_at = (current.len() >= max && !current.contains(&new_tid))
                .then(|| current.iter().position(|t| deleted.contains(&t.pack())))
                .flatten();
            let list = match deleted_at {
                Some(i) => {
                    let mut list = current.to_vec();
                    list[i] = new_tid;
                    list
                }
                None => {
                    let ids: Vec<u64> = current.iter().map(|t| t.pack()).collect();
                    let kept = with_link(graph, id, &ids, new, max, None)?;
                    kept.into_iter().map(Tid::unpack).collect()
                }
            };
            (list.as_slice() != current).then_some(list)
        });
    }

    /// The vector of element `id`, copied.
    pub fn vector_of(&mut self, id: u64) -> Option<Vec<f32>> {
        self.vector(id).map(<[f32]>::to_vec)
    }

    /// Whether element `id` holds exactly `lanes` (as last read: an element's value
    /// never changes while it lives).
    pub fn holds(&mut self, id: u64, lanes: &[f32]) -> bool {
        self.vector(id)
            .is_some_and(|v| crate::distance::lanes::same(v, lanes))
    }
}
