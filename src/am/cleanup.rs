//! `amvacuumcleanup`, run by every VACUUM (after `ambulkdelete`, if that ran): no
//! live element is left where a search cannot find it.
//!
//! Nothing expensive happens unless the metapage asks for it (see
//! [`relink_if_pending`]): `relink_pending` says a bulk delete's repair and free
//! passes ran (or a build or VACUUM left elements unreachable) and no check has
//! linked everything since (the flag survives a VACUUM that stopped half-way);
//! `inserted_since_check` says rows were inserted since the last check began (an
//! insert's re-selection of a full list can drop an element's only in-link).
//! Otherwise it only reports the counts.
//!
//! The work reads a compact picture of the graph ([`Slots`]: a few bytes per line
//! pointer, within `maintenance_work_mem`, or `autovacuum_work_mem` in an autovacuum
//! worker when that is set: PostgreSQL's own rule for VACUUM's memory), then links
//! each live element that its nearest neighbour does not link to from that
//! neighbour (the heuristic can prune away an element's near in-links), then each
//! live element that no walk from the entry point reaches from the nearest reachable
//! element a search finds. The links are forced, in the place of a link whose target
//! keeps another in-link (`GraphMut::add_link`). Every page goes through VACUUM's
//! buffer access strategy; interrupts and cost-based delay act between elements.
use super::disk::DiskGraph;
use super::reach::{bytes_for, Reached, Slots, Walked};
use super::vacuum::result_or_new;
use crate::hnsw::reconnect::{self, Reach};
use crate::hnsw::search::{descend, search_layer};
use crate::hnsw::{Candidate, Graph, GraphMut, IdSet, Params};
use crate::storage::buffers::VacuumStrategy;
use crate::storage::layout;
use crate::storage::lock::InsertLock;
use crate::storage::meta::Meta;
use crate::storage::page::block_count;
use pgrx::{pg_guard, pg_sys};

/// About how many elements a page of `index` holds, for the memory estimate of the
/// reachability check: from the element length ([`layout::elements_per_page`]), or for
/// elements of varying length (`sparsevec`) from the index's own statistics when they
/// counted rows on more than the metapage (tuples per page but the metapage; each row
/// is at most one element), else as if every element were empty (the most a page
/// holds).
fn elements_per_page(index: pg_sys::Relation, meta: &Meta) -> usize {
    let most = layout::elements_per_page(meta.least_lanes(), meta.m);
    if meta.fixed_lanes().is_some() {
        return most;
    }
    // SAFETY: an open relation's pg_class row.
    let (tuples, pages) = unsafe { ((*(*index).rd_rel).reltuples, (*(*index).rd_rel).relpages) };
    if tuples > 0.0 && pages > 1 {
        let per_page = (f64::from(tuples) / f64::from(pages - 1)).ceil() as usize;
        return per_page.clamp(1, most);
    }
    most
}

/// With `from_nearest`, links every element its nearest neighbour does not link to
/// from that neighbour ([`link_from_nearest`]); then every live element that cannot
/// be reached from the entry point from its nearest reachable element
/// ([`link_unreachable`]). Returns `true` when its last walk from the entry point
/// reached every live element; `false` when some stayed unreachable after four
/// rounds, or when the check did not fit VACUUM's memory and was skipped (logged).
/// A build whose graph outgrew memory runs the second part at its end.
pub(super) fn reconnect(index: pg_sys::Relation, from_nearest: bool) -> bool {
    let meta = Meta::read(index);
    let Some((entry, top)) = meta.entry else {
        return true;
    };
    let pages = block_count(index) as usize;
    let elements = pages * elements_per_page(index, &meta);
    // An element and its neighbour tuple: two line pointers.
    let needed = bytes_for(pages, 2 * elements, elements);
    let budget = crate::pg::vacuum_work_mem();
    if needed > budget {
        pgrx::log!(
            "hnsw: reachability check of the index skipped: it needs about {} MB, VACUUM may use {} MB",
            needed >> 20,
            budget >> 20
        );
        return false;
    }
    let params = meta.params();
    let mut graph = DiskGraph::new(index, meta.metric);
    let mutual = if from_nearest {
        let slots = Slots::read(index, &mut graph);
        link_from_nearest(&mut graph, &slots, &params)
    } else {
        0
    };
    // Then every element no walk reaches, from a fresh read of the links. A forced
    // link may take the last in-link of another element (a prune, any link): read
    // again and go on while some are lost, four rounds at most.
    let (mut linked, mut complete) = (0, false);
    for _round in 0..4 {
        let mut slots = Slots::read(index, &mut graph);
        let (lost, done) = link_unreachable(&mut graph, &mut slots, (entry.pack(), top), &params);
        linked += done;
        complete = lost == 0;
        if lost == 0 || done == 0 {
            break;
        }
    }
    pgrx::debug1!("hnsw vacuum: {linked} unreachable and {mutual} elements relinked from their nearest neighbour");
    complete
}

/// Reachable is not enough for a search to find an element: when its nearest
/// neighbour does not link back to it, its in-links may all come from far away, and
/// a search around its vector never expands them. Links each live element from its
/// nearest live out-neighbour on layer 0 where that link is missing (forced: in the
/// place of a link whose target has another in-link). Returns how many it linked.
fn link_from_nearest(graph: &mut DiskGraph, slots: &Slots, params: &Params) -> usize {
    let spare = |t: u64| slots.can_spare(t);
    let max = params.max_links(0);
    let mut linked = 0;
    let (mut out, mut back, mut distances) = (Vec::new(), Vec::new(), Vec::new());
    for u in slots.live() {
        // VACUUM's cost-based delay and interrupts act between elements.
        crate::pg::vacuum_delay_point();
        let Some(v) = graph.vector_of(u) else {
            continue;
        };
        graph.neighbours(u, 0, &mut out);
        graph.distances(&v, &out, &mut distances);
        let nearest = out
            .iter()
            .zip(&distances)
            .filter(|&(&n, d)| !graph.is_deleted(n) && d.is_finite())
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(&n, &distance)| (n, distance));
        graph.clear_cache();
        let Some((n, distance)) = nearest else {
            continue;
        };
        graph.neighbours(n, 0, &mut back);
        if !back.contains(&u) {
            let link = Candidate { distance, id: u };
            linked += usize::from(graph.add_link(n, 0, link, max, Some(&spare)));
        }
    }
    linked
}

/// One round of linking the live elements of `slots` that no walk from `entry`
/// (id, level) along layer 0 reaches: each from the nearest reached live element a
/// search for its vector finds ([`reconnect::link_from_reached`]). Returns how many
/// were unreachable and how many it linked.
fn link_unreachable(
    graph: &mut DiskGraph,
    slots: &mut Slots,
    entry: (u64, usize),
    params: &Params,
) -> (usize, usize) {
    let max = params.max_links(0);
    let mut walked = Walked {
        reached: Reached::new(slots),
        slots,
    };
    walked.walk_from(graph, entry.0);
    let lost: Vec<u64> = walked
        .slots
        .live()
        .filter(|&id| !walked.reached(id))
        .collect();
    let mut linked = 0;
    for &u in &lost {
        if walked.reached(u) {
            continue;
        }
        // VACUUM's cost-based delay and interrupts act between elements.
        crate::pg::vacuum_delay_point();
        let Some(v) = graph.vector_of(u) else {
            continue;
        };
        let mut visited = IdSet::default();
        let start = Candidate {
            distance: graph.distance(&v, entry.0),
            id: entry.0,
        };
        let first = descend(graph, &v, start, entry.1, 0, &mut visited);
        let mut found = search_layer(graph, &v, &[first], params.ef_construction, 0, &mut visited);
        found.retain(|c| walked.slots.is_live(c.id));
        if reconnect::link_from_reached(graph, &mut walked, u, &found, max).is_some() {
            linked += 1;
        }
        graph.clear_cache();
    }
    (lost.len(), linked)
}

/// The cleanup's linking ([`reconnect`]), when the metapage asks for it: its
/// `relink_pending` (a bulk delete's repair, or a check that left elements
/// unreachable) or `inserted_since_check` (inserts re-selected lists since). Before
/// the check it turns `inserted_since_check` into `relink_pending`, in one write
/// under the exclusive insert lock, so that a VACUUM that stops half-way leaves the
/// work to the next one, and an insert during the check (which marks again, having
/// found the mark clear under its shared lock) leaves it to the next one too; an
/// insert that saw the mark set has finished its writes before the turn, so the
/// check sees them. After the check, `relink_pending` says whether some element
/// stayed unreachable. With both marks clear (read without the insert lock: a mark
/// set after the read precedes writes the next VACUUM checks) nothing is locked.
///
/// # Errors
/// Those of [`Meta::read`]: an index of another format version fails here.
pub fn relink_if_pending(index: pg_sys::Relation) {
    let meta = Meta::read(index);
    if !meta.relink_pending && !meta.inserted_since_check {
        return;
    }
    let lock = InsertLock::acquire(index, true);
    Meta::update(index, |m| {
        let change = !m.relink_pending || m.inserted_since_check;
        (m.relink_pending, m.inserted_since_check) = (true, false);
        change
    });
    drop(lock);
    Meta::set_relink_pending(index, !reconnect(index, true));
}

/// `amvacuumcleanup`: reconnects unreachable live elements when the metapage asks; page
/// count, and the tuple count when bulk delete did not run (then also frees chain
/// tuples of no element, which bulk delete would have freed).
#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes a live info struct (with the open index and its buffer
    // access strategy) and the result of ambulkdelete or null.
    unsafe {
        if (*info).analyze_only {
            return stats;
        }
        let index = (*info).index;
        let _strategy = VacuumStrategy::set((*info).strategy);
        relink_if_pending(index);
        let stats = if stats.is_null() {
            let emptied = super::vacuum::free_chains_of_no_element(index);
            if emptied > 0 {
                crate::storage::fsm::vacuum_free_space_map(index);
            }
            let s = result_or_new(stats);
            (*s).num_index_tuples = (*info).num_heap_tuples;
            (*s).estimated_count = (*info).estimated_count;
            s
        } else {
            stats
        };
        (*stats).num_pages = block_count(index);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::bytes_for;

    /// The reachability check of 1,000,000 elements of 384 dimensions (m = 16: 4
    /// per page, 250,000 pages) fits the default maintenance_work_mem of 64 MB.
    #[test]
    fn a_million_elements_fit_64_mb() {
        let elements = 1_000_000;
        let pages = elements / crate::storage::layout::elements_per_page(384, 16);
        let bytes = bytes_for(pages, 2 * elements, elements);
        assert!(bytes < 64 << 20, "{bytes}");
    }
}
