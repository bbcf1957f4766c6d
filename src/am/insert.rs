//! Inserting one row into the on-disk graph: PostgreSQL's `aminsert`, and the part
//! of a build that no longer fits in memory. The search and the links are the HNSW
//! core's ([`find_neighbours`], [`link_back`]) over [`DiskGraph`]; this file adds
//! where the new tuples go ([`layout`]'s rules, the insert page, the free space map)
//! and the copies of a vector an element already holds.
//!
//! Inserts take a heavyweight lock on "page 0" of the index ([`InsertLock`]): shared
//! for ordinary inserts, so they run in parallel, and exclusive only for an insert
//! that will become the new entry point (or the first insert), so that two such
//! inserts cannot both believe they are the top of the graph (as pgvector does).
//! VACUUM takes it exclusively as a barrier, while it replaces the entry point, and
//! while its cleanup takes over the metapage's mark of inserts
//! (`Meta::inserted_since_check`).
//! Each page is changed under its exclusive buffer lock inside one GenericXLog
//! record; no two buffer locks are held together.
//!
//! An element longer than a page ([`tuple::chained`]) has its lanes written first, as
//! a chain of tuples ([`write_chain`], last piece first, each its own record), then
//! its element pointing at the chain's first piece: an element never points at a
//! chain that is not whole, and what a crash in between leaves is freed by VACUUM
//! ([`crate::storage::chain`]).

use super::disk::DiskGraph;
use crate::distance::lanes;
use crate::hnsw::insert::{find_neighbours, link_back};
use crate::hnsw::{Candidate, GraphMut, IdSet, Params};
use crate::storage::chain;
use crate::storage::fsm;
use crate::storage::layout;
use crate::storage::lock::InsertLock;
use crate::storage::meta::Meta;
use crate::storage::page::{ReadPage, WritePage};
use crate::storage::tuple::{self, Body, Element, ElementMut, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::pg_sys;

/// Takes a page with at least `need` bytes free ([`layout`]'s rule) for
/// `write`, which adds its tuples and returns what it made of them: `insert_page`
/// (the metapage's, as last read) when it has room, else a page the free space map offers (VACUUM's freed space;
/// the map may be stale, so a wrong answer is corrected and the map asked again, a
/// few times), else a new page at the end, which becomes the insert page. The
/// page's change is WAL-logged as one record. An extension that leaves a page with
/// room behind (two inserts extending at once, or a page too small for this tuple)
/// offers that room through the free space map, where later inserts look.
fn on_page_with_room<R>(
    rel: pg_sys::Relation,
    meta: &Meta,
    insert_page: u32,
    need: usize,
    write: impl FnOnce(&mut WritePage) -> R,
) -> R {
    let mut page = None;
    // The room seen on the insert page when it was too small.
    let mut insert_page_room = None;
    if insert_page != 0 {
        let p = WritePage::lock(rel, insert_page, PAGE_ELEMENTS);
        if p.free_space() >= need {
            page = Some(p);
        } else {
            insert_page_room = Some(p.free_space());
        }
    }
    let mut from_fsm = false;
    for _ in 0..4 {
        if page.is_some() {
            break;
        }
        let Some(block) = fsm::page_with_free_space(rel, need) else {
            break;
        };
        let p = WritePage::lock(rel, block, PAGE_ELEMENTS);
        if p.free_space() >= need {
            page = Some(p);
            from_fsm = true;
        } else {
            let free = p.free_space();
            drop(p);
            fsm::record_free_space(rel, block, free);
        }
    }
    let extended = page.is_none();
    let mut page = page.unwrap_or_else(|| WritePage::extend(rel, PAGE_ELEMENTS));
    let block = page.block();
    let made = write(&mut page);
    let free = page.free_space();
    page.commit();
    if from_fsm {
        fsm::record_free_space(rel, block, free);
    }
    if extended {
        let mut previous = None;
        Meta::update(rel, |m| {
            let newer = block > m.insert_page;
            if newer {
                previous = Some(m.insert_page);
                m.insert_page = block;
            }
            newer
        });
        let behind = match previous {
            None => Some((block, free)),
            Some(0) => None,
            // The page found too small above is not read again (usual case).
            Some(p) => Some(match insert_page_room.filter(|_| p == insert_page) {
                Some(room) => (p, room),
                None => (p, ReadPage::read(rel, p, PAGE_ELEMENTS).free_space()),
            }),
        };
        let useful = layout::smallest_placement(meta.least_lanes(), meta.m);
        if let Some((b, room)) = behind.filter(|&(_, room)| room >= useful) {
            fsm::offer_free_space(rel, b, room);
        }
    }
    made
}

/// Writes a new element (and its neighbour tuple, filled with `layers`): both on
/// one page when they fit together ([`layout::together`]), else the neighbour tuple
/// first on a page of its own choosing, then the element pointing at it (a crash
/// between the two leaves only an unused neighbour tuple behind). Returns the
/// element's TID.
fn place_element(
    rel: pg_sys::Relation,
    meta: &Meta,
    level: usize,
    vector: &[f32],
    heap_tid: Tid,
    layers: &[Vec<Candidate<u64>>],
) -> Tid {
    let mut nb = vec![0u8; tuple::neighbour_size(meta.m, level)];
    tuple::write_neighbours(&mut nb, meta.m, level);
    for (layer, selected) in layers.iter().enumerate() {
        let tids: Vec<Tid> = selected.iter().map(|c| Tid::unpack(c.id)).collect();
        tuple::set_layer(&mut nb, layer, &tids);
    }
    let body = if tuple::chained(vector.len()) {
        Body::Chain(
            vector.len(),
            write_chain(rel, meta, vector, chain::writer_xid()),
        )
    } else {
        Body::Inline(vector)
    };
    // The chain may have moved the insert page.
    let insert_page = match body {
        Body::Inline(_) => meta.insert_page,
        Body::Chain(..) => Meta::read(rel).insert_page,
    };
    let mut el = vec![0u8; tuple::element_size(vector.len())];
    let mut add_element = |page: &mut WritePage, neighbours: Tid| {
        tuple::write_element(&mut el, level, neighbours, &[heap_tid], body);
        let offset = page.add_item(&el).expect("space checked");
        Tid {
            block: page.block(),
            offset,
        }
    };
    let element_space = layout::element_space(vector.len());
    let neighbour_space = layout::neighbour_space(meta.m, level);
    if layout::together(vector.len(), meta.m, level) {
        let need = element_space + neighbour_space;
        on_page_with_room(rel, meta, insert_page, need, |page| {
            let offset = page.add_item(&nb).expect("space checked");
            let neighbours = Tid {
                block: page.block(),
                offset,
            };
            add_element(page, neighbours)
        })
    } else {
        let neighbours = on_page_with_room(rel, meta, insert_page, neighbour_space, |page| Tid {
            block: page.block(),
            offset: page.add_item(&nb).expect("space checked"),
        });
        // The first placement may have moved the insert page.
        let insert_page = Meta::read(rel).insert_page;
        on_page_with_room(rel, meta, insert_page, element_space, |page| {
            add_element(page, neighbours)
        })
    }
}

/// Writes `lanes` as a chain (see the module docs) written by transaction `xid`
/// ([`chain::writer_xid`]): the pieces of [`tuple::chain_pieces`], last first, each
/// on a page with room for it; returns the TID of the first.
pub(crate) fn write_chain(rel: pg_sys::Relation, meta: &Meta, lanes: &[f32], xid: u32) -> Tid {
    let mut next = None;
    let mut piece = Vec::new();
    for range in tuple::chain_pieces(lanes.len())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        piece.resize(tuple::chain_size(4 * range.len()), 0);
        tuple::write_chain(&mut piece, xid, next, &lanes[range.clone()]);
        let insert_page = Meta::read(rel).insert_page;
        let need = layout::chain_space(range.len());
        next = Some(on_page_with_room(rel, meta, insert_page, need, |page| {
            Tid {
                block: page.block(),
                offset: page.add_item(&piece).expect("space checked"),
            }
        }));
        // A cancel is honoured between pieces (no page is locked); what it leaves
        // is freed by VACUUM.
        pgrx::check_for_interrupts!();
    }
    next.expect("a chained element has lanes")
}

/// Adds `heap_tid` to element `id` when its vector equals `vector` and it has a free
/// TID slot; `true` when it did.
///
/// A chained element's lanes cannot be read under its page's lock (one lock at a
/// time): its tuple is read first, then its chain, and the page is locked again to
/// add the TID. It is the same element throughout: it was live when read, and
/// VACUUM frees only elements it flagged deleted before its barrier, which waits for
/// this insert (which holds the insert lock).
fn add_duplicate(rel: pg_sys::Relation, id: u64, vector: &[f32], heap_tid: Tid) -> bool {
    let tid = Tid::unpack(id);
    let mut head = None;
    if tuple::chained(vector.len()) {
        head = {
            let page = ReadPage::read(rel, tid.block, PAGE_ELEMENTS);
            match page.item(tid.offset).and_then(Element::parse) {
                Some(e) if !e.deleted() => e.chain(),
                _ => None,
            }
        };
        let mut stored = Vec::new();
        let same = head.is_some_and(|head| {
            chain::read(rel, head, vector.len(), &mut stored) && lanes::same(&stored, vector)
        });
        if !same {
            return false;
        }
    }
    let mut page = WritePage::lock(rel, tid.block, PAGE_ELEMENTS);
    let Some(bytes) = page.item_mut(tid.offset) else {
        return false;
    };
    let Some(e) = Element::parse(bytes) else {
        return false;
    };
    let same = if e.is_chained() {
        // Its chain was compared above (not under this lock).
        head.is_some() && e.chain() == head
    } else {
        let mut stored = Vec::new();
        e.vector_into(&mut stored);
        lanes::same(&stored, vector)
    };
    if !same || !ElementMut(bytes).add_heap_tid(heap_tid) {
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
    let level = params.random_level(rng).min(layout::max_level(meta.m));
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
    // Sized for a search of ef_construction (not rehashed while it grows).
    let mut visited =
        IdSet::with_capacity_and_hasher(params.ef_construction * 48, Default::default());
    let found = find_neighbours(&mut graph, vector, level, params, &mut visited);
    let self_distance = meta.metric.distance(vector, vector);
    // Candidates at the self-distance are compared from the search's copies first:
    // only a copy is locked (an all-zero bit string is at Jaccard distance 1 from
    // itself and from every element it shares no bit with).
    if found
        .copies(self_distance)
        .any(|c| graph.holds(c, vector) && add_duplicate(rel, c, vector, heap_tid))
    {
        return;
    }
    // Its linking may prune another element's last in-link away (and a crash may
    // leave it unlinked): the next VACUUM is to check. Marked before the first write;
    // `meta` was read under the insert lock, which cleanup needs exclusively to
    // clear the mark, so a mark seen set stays set until this insert is done.
    if !meta.inserted_since_check {
        Meta::mark_inserted(rel);
    }
    let id = place_element(rel, meta, level, vector, heap_tid, &found.layers).pack();
    link_back(&mut graph, id, &found, params);
    if meta.entry.is_none_or(|(_, l)| level > l) {
        graph.set_entry_point(id, level);
    }
}
