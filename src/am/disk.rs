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
//! Inserts take a heavyweight lock on "page 0" of the index (`LockPage`): shared for
//! ordinary inserts, so they run in parallel, and exclusive only for an insert that
//! will become the new entry point (or the first insert), so that two such inserts
//! cannot both believe they are the top of the graph (as pgvector does).

use crate::hnsw::insert::find_neighbours;
use crate::hnsw::select::prune;
use crate::hnsw::{Candidate, Graph, GraphMut, IdSet, Metric, Params};
use crate::storage::meta::Meta;
use crate::storage::page::{self, max_level, InsertLock, ReadPage, WritePage};
use crate::storage::tuple::{self, Element, ElementMut, Neighbours, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::pg_sys;
use std::collections::HashMap;

/// HNSW graph access over the pages of one index.
pub struct DiskGraph {
    rel: pg_sys::Relation,
    metric: Metric,
    /// Vectors read for distances between elements (one insert's worth).
    vectors: HashMap<u64, Vec<f32>>,
    tids: Vec<Tid>,
}

impl DiskGraph {
    /// Graph access to `rel`, whose metapage says it uses `metric`.
    pub fn new(rel: pg_sys::Relation, metric: Metric) -> DiskGraph {
        DiskGraph {
            rel,
            metric,
            vectors: HashMap::new(),
            tids: Vec::new(),
        }
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
        out.clear();
        let tid = Tid::unpack(id);
        let page = self.read_page(tid.block);
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
        if !self.vectors.contains_key(&id) {
            let mut v = Vec::new();
            self.with_element(id, |e| e.vector_into(&mut v))?;
            self.vectors.insert(id, v);
        }
        self.vectors.get(&id).map(Vec::as_slice)
    }

    /// Forgets cached vectors (between inserts).
    pub fn clear_cache(&mut self) {
        self.vectors.clear();
    }
}

/// The distance from `query` to element `e`'s vector, read in place when aligned
/// (always, on a page) or through `scratch`.
fn measure(metric: Metric, query: &[f32], e: &Element, scratch: &mut Vec<f32>) -> f32 {
    match e.vector() {
        Some(v) => metric.distance(query, v),
        None => {
            e.vector_into(scratch);
            metric.distance(query, scratch)
        }
    }
}

impl Graph for DiskGraph {
    type Id = u64;

    fn distance(&mut self, query: &[f32], id: u64) -> f32 {
        let metric = self.metric;
        self.with_element(id, |e| measure(metric, query, e, &mut Vec::new()))
            .unwrap_or(f32::INFINITY)
    }

    fn distance_between(&mut self, a: u64, b: u64) -> f32 {
        let Some(va) = self.vector(a).map(<[f32]>::to_vec) else {
            return f32::INFINITY;
        };
        let metric = self.metric;
        match self.vector(b) {
            Some(vb) => metric.distance(&va, vb),
            None => f32::INFINITY,
        }
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

    /// Reads each page once: the elements of `ids` on one page are measured under one
    /// share lock, after the pages were all prefetched.
    fn distances(&mut self, query: &[f32], ids: &[u64], out: &mut Vec<f32>) {
        let tids: Vec<Tid> = ids.iter().map(|&id| Tid::unpack(id)).collect();
        page::prefetch(self.rel, tids.iter().map(|t| t.block));
        out.clear();
        out.resize(ids.len(), f32::NAN);
        let mut scratch = Vec::new();
        for first in 0..tids.len() {
            if !out[first].is_nan() {
                continue;
            }
            let block = tids[first].block;
            let page = self.read_page(block);
            for (i, t) in tids.iter().enumerate().skip(first) {
                if t.block == block {
                    out[i] = match page.item(t.offset).and_then(Element::parse) {
                        Some(e) => measure(self.metric, query, &e, &mut scratch),
                        None => f32::INFINITY,
                    };
                }
            }
        }
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

    fn add_link(&mut self, id: u64, layer: usize, new: Candidate<u64>, max: usize) {
        let mut current = Vec::new();
        for _attempt in 0..3 {
            let Some(nb) = self.read_layer(id, layer, &mut current) else {
                return;
            };
            let new_tid = Tid::unpack(new.id);
            if current.contains(&new_tid) {
                return;
            }
            let chosen: Vec<Tid> = if current.len() < max {
                current.iter().copied().chain([new_tid]).collect()
            } else {
                let ids: Vec<u64> = current.iter().map(|t| t.pack()).collect();
                prune(self, id, &ids, new, max)
                    .into_iter()
                    .map(Tid::unpack)
                    .collect()
            };
            let mut page = WritePage::lock(self.rel, nb.block, PAGE_ELEMENTS);
            let Some(bytes) = page.item_mut(nb.offset) else {
                return;
            };
            let mut now = Vec::new();
            Neighbours::parse(bytes)
                .expect("neighbour tuple")
                .layer(layer, &mut now);
            if now == current {
                tuple::set_layer(bytes, layer, &chosen);
                page.commit();
                return;
            }
            // The list changed since we read it: drop the guard (abort) and retry.
        }
    }
}

/// Bytes a page must have free for one element and its neighbour tuple.
fn space_needed(dim: usize, m: usize, level: usize) -> usize {
    let align = |n: usize| (n + 7) & !7;
    align(tuple::element_size(dim)) + align(tuple::neighbour_size(m, level)) + 2 * 4
}

/// Writes a new element (and its neighbour tuple, filled with `layers`) on the
/// insert page, or on a new page when it is full. Returns the element's TID.
fn place_element(
    rel: pg_sys::Relation,
    meta: &Meta,
    level: usize,
    vector: &[f32],
    heap_tid: Tid,
    layers: &[Vec<Candidate<u64>>],
) -> Tid {
    let need = space_needed(meta.dim, meta.m, level);
    let mut page = None;
    if meta.insert_page != 0 {
        let p = WritePage::lock(rel, meta.insert_page, PAGE_ELEMENTS);
        if p.free_space() >= need {
            page = Some(p);
        }
    }
    let extended = page.is_none();
    let mut page = page.unwrap_or_else(|| WritePage::extend(rel, PAGE_ELEMENTS));
    let mut nb = vec![0u8; tuple::neighbour_size(meta.m, level)];
    tuple::write_neighbours(&mut nb, meta.m, level);
    for (layer, selected) in layers.iter().enumerate() {
        let tids: Vec<Tid> = selected.iter().map(|c| Tid::unpack(c.id)).collect();
        tuple::set_layer(&mut nb, layer, &tids);
    }
    let block = page.block();
    let nb_offset = page.add_item(&nb).expect("space checked");
    let mut el = vec![0u8; tuple::element_size(meta.dim)];
    tuple::write_element(
        &mut el,
        level,
        Tid {
            block,
            offset: nb_offset,
        },
        &[heap_tid],
        vector,
    );
    let offset = page.add_item(&el).expect("space checked");
    page.commit();
    if extended {
        Meta::update(rel, |m| {
            let newer = block > m.insert_page;
            if newer {
                m.insert_page = block;
            }
            newer
        });
    }
    Tid { block, offset }
}

/// Adds `heap_tid` to element `id` when its vector equals `vector` and it has a free
/// TID slot; `true` when it did.
fn add_duplicate(rel: pg_sys::Relation, id: u64, vector: &[f32], heap_tid: Tid) -> bool {
    let tid = Tid::unpack(id);
    let mut page = WritePage::lock(rel, tid.block, PAGE_ELEMENTS);
    let Some(bytes) = page.item_mut(tid.offset) else {
        return false;
    };
    let Some(e) = Element::parse(bytes) else {
        return false;
    };
    let mut stored = Vec::new();
    e.vector_into(&mut stored);
    if stored != vector || !ElementMut(bytes).add_heap_tid(heap_tid) {
        return false;
    }
    page.commit();
    true
}

/// Inserts one row's prepared vector into the on-disk graph (PostgreSQL's
/// `aminsert`, and the build once the graph no longer fits in memory).
pub fn insert(rel: pg_sys::Relation, vector: &[f32], heap_tid: Tid, rng: &mut impl rand::Rng) {
    let meta = Meta::read(rel);
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    let level = params.random_level(rng).min(max_level(meta.dim, meta.m));
    let needs_top = |meta: &Meta| meta.entry.is_none_or(|(_, l)| level > l);
    let mut lock = InsertLock::acquire(rel, needs_top(&meta));
    let mut meta = Meta::read(rel); // the entry point may have moved while we waited
    if !lock.exclusive() && needs_top(&meta) {
        drop(lock);
        lock = InsertLock::acquire(rel, true);
        meta = Meta::read(rel);
    }
    insert_locked(rel, &meta, &params, vector, heap_tid, level);
    drop(lock);
}

fn insert_locked(
    rel: pg_sys::Relation,
    meta: &Meta,
    params: &Params,
    vector: &[f32],
    heap_tid: Tid,
    level: usize,
) {
    let mut graph = DiskGraph::new(rel, meta.metric);
    let mut visited = IdSet::default();
    let found = find_neighbours(&mut graph, vector, level, params, &mut visited);
    if let Some(nearest) = found.nearest {
        let exact = if meta.metric.self_distance_is_zero() {
            nearest.distance == 0.0
        } else {
            true
        };
        if exact && add_duplicate(rel, nearest.id, vector, heap_tid) {
            return;
        }
    }
    let id = place_element(rel, meta, level, vector, heap_tid, &found.layers).pack();
    for (layer, selected) in found.layers.iter().enumerate() {
        for c in selected {
            graph.add_link(
                c.id,
                layer,
                Candidate {
                    distance: c.distance,
                    id,
                },
                params.max_links(layer),
            );
        }
    }
    if meta.entry.is_none_or(|(_, l)| level > l) {
        graph.set_entry_point(id, level);
    }
}
