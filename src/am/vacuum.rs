//! `ambulkdelete`: dead rows leave the index, the graph is repaired around them and
//! their space is reused (`amvacuumcleanup`, which leaves no live element unreachable,
//! is in [`super::cleanup`]).
//!
//! Bulk delete runs in three passes (the scheme pgvector uses):
//! 1. **Remove dead TIDs.** Every element page, one at a time under an exclusive
//!    lock: heap TIDs that VACUUM reports dead are removed; an element left without
//!    TIDs is flagged deleted. An all-zero page (an insert failed or crashed between
//!    extending the index and its WAL record) is initialised and recorded in the
//!    free space map, as nbtree does. From then on scans skip it, inserts never take it as
//!    a neighbour ([`crate::hnsw::Graph::is_deleted`]) nor add a row to it; both
//!    still route through it.
//! 2. **Repair.** First a barrier: VACUUM takes the insert lock (page 0) exclusively
//!    (waiting for every insert that might have chosen a now-deleted element as a
//!    neighbour before it was flagged) and, still holding it so that no insert runs,
//!    replaces a deleted entry point by the live element of the highest level: the
//!    one pass 1 saw or, when it saw none, the one a fresh read of every page finds
//!    (rows inserted since), so the entry point is never empty while a live element
//!    exists. Then the lock is released and, page by page,
//!    every live element whose list on some layer holds a deleted element gets that
//!    list re-selected: a search of the layer with `ef_construction` from its live
//!    neighbours and the neighbour-selection heuristic, the build's own code
//!    ([`DiskGraph::repair_layer`]); each newly chosen neighbour gets the link back,
//!    as an insert's neighbours do (in place of a deleted link when its list is full
//!    and holds one).
//! 3. **Free.** The deleted elements and their neighbour tuples are removed from
//!    their pages (under the exclusive lock, re-checking that each is still deleted
//!    and TID-less) and the pages' free space is recorded in the free space map,
//!    where inserts look before extending the index. Then the chains of the freed
//!    elements (longer than a page, `storage::chain`), as pass 1 saw them, and the
//!    chain tuples that no element pointed to in pass 1 and whose writer had ended
//!    before this VACUUM began (what an insert that failed or crashed between its
//!    chain and its element left; a chain being written now is newer), whether or
//!    not any element was deleted; `amvacuumcleanup` does the latter when VACUUM ran
//!    no bulk delete (`free_chains_of_no_element`). No build of the index runs
//!    meanwhile (its table lock conflicts with VACUUM's), so chains a build wrote
//!    without a transaction id are whole.
//!
//! A list is rewritten only if it is unchanged under the exclusive page lock since it
//! was read (optimistically, as inserts do), so concurrent inserts are never lost.
//! Scans and inserts that still hold the TID of a freed element read whatever is
//! there now (nothing, or a newer element) and cope: every tuple is parsed by tag.
//! Before pass 2 the metapage's `relink_pending` flag is set: a re-selected list can
//! drop a live element's only in-link, and pass 3 can free the element that was it;
//! cleanup links such elements and clears the flag. A crash or cancel between passes
//! leaves flagged elements that the next VACUUM picks up, and the flag, which makes
//! that VACUUM's cleanup link them even when its bulk delete removes nothing new.
//! Every page goes through VACUUM's buffer access strategy
//! ([`buffers::VacuumStrategy`]); interrupts and cost-based delay act between pages
//! and between repaired lists.
//!
//! Scans beside VACUUM: a scan runs its search (or, iterative, each batch of it)
//! within one `amgettuple` and holds no pin after it (as pgvector). It takes a
//! result's heap TIDs only if the element there is still at the distance the search measured, so an element freed
//! in pass 3 and its slot reused by an insert cannot lend another row its rank, and a
//! flagged element gives no rows. VACUUM may later remove TIDs the scan still returns, and the heap reuse
//! their slots, but a row put there is newer than the scan's MVCC snapshot and
//! invisible to it.

use super::disk::DiskGraph;
use crate::hnsw::{Graph, IdSet, Params};
use crate::storage::lock::InsertLock;
use crate::storage::meta::Meta;
use crate::storage::page::{block_count, ReadPage, WritePage};
use crate::storage::tuple::{Chain, Element, ElementMut, Neighbours, Tid};
use crate::storage::PAGE_ELEMENTS;
use crate::storage::{buffers, chain, fsm};
use pgrx::{pg_guard, pg_sys};
use std::collections::HashMap;

/// What pass 1 found.
#[derive(Default)]
pub(crate) struct Removed {
    /// Heap TIDs left in the index.
    live_tids: f64,
    /// Heap TIDs removed.
    removed: f64,
    /// Every element flagged deleted (newly or by an earlier, interrupted VACUUM).
    deleted: Vec<u64>,
    /// The live element of the highest level, a replacement entry point.
    top_live: Option<(Tid, usize)>,
    /// Element pages without any tuple.
    empty_pages: u32,
    /// The chain tuples and chain heads seen.
    pub(crate) chains: ChainsSeen,
}

/// Bytes [`ChainsSeen`] counts per chain tuple (its map entry) and per head.
const CHAIN_ENTRY_BYTES: usize = 48;

/// What a pass over every page saw of chains (`storage::chain`), to find the chain
/// tuples of no element: each chain tuple (its next piece, its writer) and the head
/// of each element's chain. Held within VACUUM's memory (`crate::pg::vacuum_work_mem`):
/// past it nothing more is kept and no chain tuple is found to be of no element
/// this time (logged; a later VACUUM with more memory frees them).
pub(crate) struct ChainsSeen {
    tuples: HashMap<u64, (Option<Tid>, u32)>,
    heads: Vec<u64>,
    /// Entries that fit the budget; `None` once past it.
    room: Option<usize>,
}

impl Default for ChainsSeen {
    fn default() -> ChainsSeen {
        ChainsSeen {
            tuples: HashMap::new(),
            heads: Vec::new(),
            room: Some(crate::pg::vacuum_work_mem() / CHAIN_ENTRY_BYTES),
        }
    }
}

impl ChainsSeen {
    /// Notes the tuple `bytes` at `tid` if it is a chain tuple or a chained element.
    pub(crate) fn observe(&mut self, tid: Tid, bytes: &[u8]) {
        let Some(room) = self.room else {
            return;
        };
        let piece = Chain::parse(bytes).map(|c| (c.next(), c.xid()));
        let head = Element::parse(bytes).and_then(|e| e.chain());
        if piece.is_none() && head.is_none() {
            return;
        }
        if room == 0 {
            // Past the budget: what was kept is of no use any more.
            self.room = None;
            self.tuples = HashMap::new();
            self.heads = Vec::new();
            return;
        }
        if let Some(piece) = piece {
            self.tuples.insert(tid.pack(), piece);
        }
        self.heads.extend(head.map(Tid::pack));
        self.room = Some(room - 1);
    }

    /// The chain tuples seen that no element's chain passes through and whose writer
    /// had ended before `horizon` (read before the pass began): what an insert that
    /// failed or crashed between its chain and its element left. `None` when the
    /// pass saw more than the budget holds.
    pub(crate) fn of_no_element(&self, horizon: u32) -> Option<Vec<Tid>> {
        self.room?;
        let found = unreferenced(&self.tuples, &self.heads)
            .into_iter()
            .filter(|id| chain::ended_before(self.tuples[id].1, horizon))
            .map(Tid::unpack)
            .collect();
        Some(found)
    }

    /// [`ChainsSeen::of_no_element`], none (logged) past the budget.
    fn to_free(&self, horizon: u32) -> Vec<Tid> {
        self.of_no_element(horizon).unwrap_or_else(|| {
            pgrx::log!(
                "hnsw: chain tuples of no element not looked for: more chains than VACUUM's memory holds"
            );
            Vec::new()
        })
    }
}

/// The chain tuples of `chains` that no chain starting at one of `heads` passes
/// through (a chain's pieces may be missing from `chains`; the walk ends there).
fn unreferenced(chains: &HashMap<u64, (Option<Tid>, u32)>, heads: &[u64]) -> IdSet<u64> {
    let mut left: IdSet<u64> = chains.keys().copied().collect();
    for &head in heads {
        let mut at = Some(head);
        while let Some(id) = at.filter(|id| left.remove(id)) {
            at = chains[&id].0.map(Tid::pack);
        }
    }
    left
}

/// Pass 1: removes the TIDs `dead` says are dead; flags elements left without any.
pub(crate) fn remove_dead_tids(
    index: pg_sys::Relation,
    mut dead: impl FnMut(Tid) -> bool,
) -> Removed {
    let mut r = Removed::default();
    for block in 1..block_count(index) {
        // VACUUM's cost-based delay and interrupts act between pages.
        crate::pg::vacuum_delay_point();
        let mut page = WritePage::lock(index, block, PAGE_ELEMENTS);
        if page.was_new() {
            // Left all zeros by an insert that failed or crashed after extending:
            // initialise it and offer it to inserts.
            let free = page.free_space();
            page.commit();
            fsm::record_free_space(index, block, free);
            r.empty_pages += 1;
            continue;
        }
        let mut changed = false;
        r.empty_pages += u32::from(page.max_offset() == 0);
        for offset in 1..=page.max_offset() {
            let Some(bytes) = page.item_mut(offset) else {
                continue;
            };
            let tid = Tid { block, offset };
            r.chains.observe(tid, bytes);
            if Element::parse(bytes).is_none() {
                continue;
            }
            let n = ElementMut(bytes).retain_heap_tids(|t| !dead(t));
            changed |= n > 0;
            r.removed += n as f64;
            let e = Element::parse(bytes).expect("still an element");
            if e.deleted() {
                r.deleted.push(tid.pack());
            } else {
                r.live_tids += e.heap_tids().count() as f64;
                if r.top_live.is_none_or(|(_, l)| e.level() > l) {
                    r.top_live = Some((tid, e.level()));
                }
            }
        }
        if changed {
            page.commit();
        }
    }
    r
}

/// Pass 2: entry point replacement and repair of every list that points at a
/// deleted element. Returns the number of lists rewritten.
fn repair(index: pg_sys::Relation, deleted: &IdSet<u64>, top_live: Option<(Tid, usize)>) -> usize {
    // The barrier: wait for inserts that began before the elements were flagged.
    // Held while the entry point is replaced, so that no insert runs meanwhile.
    let lock = InsertLock::acquire(index, true);
    let gone = |m: &Meta| m.entry.is_some_and(|(t, _)| deleted.contains(&t.pack()));
    if gone(&Meta::read(index)) {
        // Pass 1 saw no live element, but inserts since may have added some: look
        // again, now that none can run (before the metapage is locked: one buffer
        // lock at a time).
        let replacement = top_live.or_else(|| highest_live(index, deleted));
        Meta::update(index, |m| {
            let replace = gone(m);
            if replace {
                m.entry = replacement;
            }
            replace
        });
    }
    drop(lock);
    let meta = Meta::read(index);
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    let mut graph = DiskGraph::new(index, meta.metric);
    let mut rewritten = 0;
    let mut links = Vec::new();
    for block in 1..block_count(index) {
        crate::pg::vacuum_delay_point();
        // The live elements of this page with their levels; their lists are read
        // one at a time after the page is released.
        let live: Vec<(u64, usize)> = {
            let page = ReadPage::read(index, block, PAGE_ELEMENTS);
            (1..=page.max_offset())
                .filter_map(|offset| {
                    let e = Element::parse(page.item(offset)?)?;
                    let id = Tid { block, offset }.pack();
                    (!e.deleted() && !deleted.contains(&id)).then_some((id, e.level()))
                })
                .collect()
        };
        for (id, level) in live {
            for layer in 0..=level {
                graph.neighbours(id, layer, &mut links);
                if links.iter().any(|n| deleted.contains(n)) {
                    crate::pg::vacuum_delay_point();
                    rewritten += usize::from(graph.repair_layer(id, layer, &params, deleted));
                }
            }
            graph.clear_cache();
        }
    }
    rewritten
}

/// The live element of the highest level (not in `deleted`, not flagged), reading
/// every page: a new entry point when pass 1 found none.
fn highest_live(index: pg_sys::Relation, deleted: &IdSet<u64>) -> Option<(Tid, usize)> {
    let mut best: Option<(Tid, usize)> = None;
    for block in 1..block_count(index) {
        pgrx::check_for_interrupts!();
        let page = ReadPage::read(index, block, PAGE_ELEMENTS);
        for offset in 1..=page.max_offset() {
            let Some(e) = page.item(offset).and_then(Element::parse) else {
                continue;
            };
            let tid = Tid { block, offset };
            if !e.deleted()
                && !deleted.contains(&tid.pack())
                && best.is_none_or(|(_, l)| e.level() > l)
            {
                best = Some((tid, e.level()));
            }
        }
    }
    best
}

/// Pass 3: removes the deleted elements and their neighbour tuples from their pages
/// and records the freed space; adds the heads of the freed elements' chains to
/// `heads`. Returns the number of pages it left empty.
fn free(index: pg_sys::Relation, deleted: &[u64], heads: &mut Vec<Tid>) -> u32 {
    let mut by_block: Vec<Tid> = deleted.iter().map(|&id| Tid::unpack(id)).collect();
    by_block.sort_unstable();
    let mut elsewhere = Vec::new();
    let mut emptied = 0;
    for group in by_block.chunk_by(|a, b| a.block == b.block) {
        // VACUUM's cost-based delay and interrupts act between pages.
        crate::pg::vacuum_delay_point();
        let block = group[0].block;
        let mut page = WritePage::lock(index, block, PAGE_ELEMENTS);
        for t in group {
            let Some(e) = page.item_mut(t.offset).and_then(|b| Element::parse(b)) else {
                continue;
            };
            if !e.deleted() || e.heap_tids().next().is_some() {
                continue;
            }
            heads.extend(e.chain());
            let nb = e.neighbours();
            page.delete_item(t.offset);
            if nb.block == block {
                page.delete_item(nb.offset);
            } else {
                elsewhere.push(nb);
            }
        }
        emptied += u32::from(page.max_offset() == 0);
        let space = page.free_space();
        page.commit();
        fsm::record_free_space(index, block, space);
    }
    for nb in elsewhere {
        let mut page = WritePage::lock(index, nb.block, PAGE_ELEMENTS);
        if page
            .item_mut(nb.offset)
            .and_then(|b| Neighbours::parse(b))
            .is_some()
        {
            page.delete_item(nb.offset);
            emptied += u32::from(page.max_offset() == 0);
        }
        let space = page.free_space();
        page.commit();
        fsm::record_free_space(index, nb.block, space);
    }
    emptied
}

/// The end of pass 3: removes the chain tuples `tids` (the chains of freed elements
/// and unreferenced chain tuples) and records the freed space. Returns the number of
/// pages it left empty.
pub(crate) fn free_chains(index: pg_sys::Relation, mut tids: Vec<Tid>) -> u32 {
    tids.sort_unstable();
    tids.dedup();
    let mut emptied = 0;
    for group in tids.chunk_by(|a, b| a.block == b.block) {
        crate::pg::vacuum_delay_point();
        let block = group[0].block;
        let mut page = WritePage::lock(index, block, PAGE_ELEMENTS);
        for t in group {
            if page
                .item_mut(t.offset)
                .and_then(|b| Chain::parse(b))
                .is_some()
            {
                page.delete_item(t.offset);
            }
        }
        emptied += u32::from(page.max_offset() == 0);
        let space = page.free_space();
        page.commit();
        fsm::record_free_space(index, block, space);
    }
    emptied
}

/// The tuples of the chains that start at `heads` (of elements pass 3 freed: no one
/// else changes them now), read page by page.
fn chains_of(index: pg_sys::Relation, heads: &[Tid]) -> Vec<Tid> {
    // More pieces than the longest element has: a loop (a damaged index).
    let most = crate::storage::tuple::chain_pieces(super::element::MAX_LANES).count();
    let mut out = Vec::new();
    for &head in heads {
        let mut at = Some(head);
        for _ in 0..most {
            let Some(tid) = at else {
                break;
            };
            let page = ReadPage::read(index, tid.block, PAGE_ELEMENTS);
            let Some(piece) = page.item(tid.offset).and_then(Chain::parse) else {
                break;
            };
            out.push(tid);
            at = piece.next();
        }
    }
    out
}

/// `amvacuumcleanup`'s part for a VACUUM that ran no bulk delete (PostgreSQL skips it
/// when few rows died; an insert that failed after its chain leaves one dead row):
/// frees the chain tuples of no element, found by a read of every page, in an index
/// of chained elements. Returns the number of pages it left empty.
pub(crate) fn free_chains_of_no_element(index: pg_sys::Relation) -> u32 {
    if !crate::storage::tuple::chained(Meta::read(index).lanes()) {
        return 0;
    }
    // Chains written by transactions older than this are whole or left behind.
    let horizon = chain::oldest_running_xid();
    let mut seen = ChainsSeen::default();
    for block in 1..block_count(index) {
        crate::pg::vacuum_delay_point();
        let page = ReadPage::read(index, block, PAGE_ELEMENTS);
        for offset in 1..=page.max_offset() {
            if let Some(bytes) = page.item(offset) {
                seen.observe(Tid { block, offset }, bytes);
            }
        }
    }
    free_chains(index, seen.to_free(horizon))
}

/// Allocates a zeroed result when VACUUM passed none.
///
/// # Safety
/// Must run in a PostgreSQL memory context that outlives the VACUUM call.
pub(super) unsafe fn result_or_new(
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    if stats.is_null() {
        // SAFETY: palloc0 returns zeroed memory of the requested size or raises.
        unsafe { pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBulkDeleteResult>()).cast() }
    } else {
        stats
    }
}

/// `ambulkdelete`: the three passes of the module docs.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes a live info struct, a result struct or null, and a
    // callback that answers for heap TIDs.
    unsafe {
        let index = (*info).index;
        // An index of another format version fails here (see [`Meta::read`]).
        Meta::read(index);
        let stats = result_or_new(stats);
        let _strategy = buffers::VacuumStrategy::set((*info).strategy);
        let callback = callback.expect("bulk delete callback");
        // Chains written by transactions older than this are whole or left behind.
        let horizon = chain::oldest_running_xid();
        let removed = remove_dead_tids(index, |t| {
            let mut ip = pg_sys::ItemPointerData::default();
            pgrx::itemptr::item_pointer_set_all(&mut ip, t.block, t.offset);
            // Through the FFI guard: an ERROR in VACUUM's callback unwinds our
            // frames (dropping the strategy guard) instead of jumping over them.
            pg_sys::ffi::pg_guard_ffi_boundary(|| callback(&mut ip, callback_state))
        });
        let mut empty = removed.empty_pages;
        let mut freed_heads = Vec::new();
        if !removed.deleted.is_empty() {
            // Repair and free can leave live elements unreachable; cleanup links
            // them, and the flag makes the next VACUUM do it if this one stops first.
            Meta::set_relink_pending(index, true);
            let deleted: IdSet<u64> = removed.deleted.iter().copied().collect();
            repair(index, &deleted, removed.top_live);
            empty += free(index, &removed.deleted, &mut freed_heads);
        }
        let mut chains = chains_of(index, &freed_heads);
        chains.extend(removed.chains.to_free(horizon));
        empty += free_chains(index, chains);
        // Make the space recorded by passes 1 and 3 findable by inserts.
        fsm::vacuum_free_space_map(index);
        // Heap TIDs are the index's tuples; empty pages are free for reuse (the
        // index never gives pages back, like PostgreSQL's own index AMs).
        (*stats).num_pages = block_count(index);
        (*stats).num_index_tuples = removed.live_tids;
        (*stats).tuples_removed += removed.removed;
        (*stats).pages_free = empty;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_tuples_of_no_element_are_found() {
        let t = |block, offset| Tid { block, offset };
        // Two chains: 1,1 → 2,1 → 3,1 (an element's) and 4,1 → 4,2 (of none); a
        // lone piece 5,1; a loop 6,1 → 6,2 → 6,1.
        let mut chains = HashMap::new();
        chains.insert(t(1, 1).pack(), (Some(t(2, 1)), 10));
        chains.insert(t(2, 1).pack(), (Some(t(3, 1)), 10));
        chains.insert(t(3, 1).pack(), (None, 10));
        chains.insert(t(4, 1).pack(), (Some(t(4, 2)), 11));
        chains.insert(t(4, 2).pack(), (None, 11));
        chains.insert(t(5, 1).pack(), (None, 12));
        chains.insert(t(6, 1).pack(), (Some(t(6, 2)), 13));
        chains.insert(t(6, 2).pack(), (Some(t(6, 1)), 13));
        let heads = vec![t(1, 1).pack(), t(6, 2).pack()];
        let mut left: Vec<Tid> = unreferenced(&chains, &heads)
            .into_iter()
            .map(Tid::unpack)
            .collect();
        left.sort_unstable();
        assert_eq!(left, vec![t(4, 1), t(4, 2), t(5, 1)]);
        // Only those whose writer ended before the horizon.
        let seen = ChainsSeen {
            tuples: chains.clone(),
            heads,
            room: Some(100),
        };
        let mut freed = seen.of_no_element(12).unwrap();
        freed.sort_unstable();
        assert_eq!(freed, vec![t(4, 1), t(4, 2)]);
        // Past the memory budget: not looked for.
        let over = ChainsSeen { room: None, ..seen };
        assert!(over.of_no_element(100).is_none());
        // A head whose pieces were not all seen: the walk ends where they stop.
        chains.remove(&t(2, 1).pack());
        let left = unreferenced(&chains, &[t(1, 1).pack()]);
        assert!(left.contains(&t(3, 1).pack()) && !left.contains(&t(1, 1).pack()));
    }
}
