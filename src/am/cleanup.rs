//! `amvacuumcleanup`, run by every VACUUM (after `ambulkdelete`, if that ran): no
//! live element is left where a search cannot find it.
//!
//! It reads the graph's links into memory ([`GraphScan`], about
//! [`SCAN_BYTES_PER_ELEMENT`] per element) and links each live element that its
//! nearest neighbour does not link to (the heuristic can prune away an element's near
//! in-links) from that neighbour, then each live element that no search can reach
//! from the entry point from the nearest reachable element a search finds; the links
//! are forced, evicting a link whose target keeps another in-link. It is skipped,
//! with a LOG message, when that read would not fit in `maintenance_work_mem`.
use super::disk::DiskGraph;
use super::graphscan::GraphScan;
use super::vacuum::result_or_new;
use crate::hnsw::search::{descend, search_layer};
use crate::hnsw::{Candidate, Graph, IdSet, Params};
use crate::storage::layout;
use crate::storage::meta::Meta;
use crate::storage::page::block_count;
use crate::storage::tuple::Tid;
use pgrx::{pg_guard, pg_sys};
use std::collections::HashMap;

/// Memory a [`GraphScan`] takes per element, estimated generously: the element's
/// entry (TIDs, level, place of its lists) and its lists on layer 0 (the `2·m` TIDs
/// are added per index).
const SCAN_BYTES_PER_ELEMENT: usize = 450;

/// Links every element its nearest neighbour does not link to from that neighbour
/// ([`link_from_nearest`]), then every live element that cannot be reached from the
/// entry point from its nearest reachable element ([`link_unreachable`]). Returns
/// how many were linked.
fn reconnect(index: pg_sys::Relation) -> usize {
    let meta = Meta::read(index);
    let Some((entry, top)) = meta.entry else {
        return 0;
    };
    let per_page = layout::elements_per_page(meta.dim, meta.m);
    let estimate = block_count(index) as usize * per_page * (SCAN_BYTES_PER_ELEMENT + 16 * meta.m);
    // SAFETY: reads an integer GUC (kB).
    let budget = unsafe { pg_sys::maintenance_work_mem } as usize * 1024;
    if estimate > budget {
        pgrx::log!(
            "hnsw: reachability check of the index skipped: it needs about {} MB, maintenance_work_mem is {} MB",
            estimate >> 20,
            budget >> 20
        );
        return 0;
    }
    let params = Params {
        m: meta.m,
        ef_construction: meta.ef_construction,
    };
    let mut graph = DiskGraph::new(index, meta.metric);
    let mutual = link_from_nearest(&mut graph, &GraphScan::read(index), &params);
    // Then every element no search can reach, from a fresh read of the links. A
    // forced link may evict the last in-link of another element (a prune, any
    // link): read again and go on while some are lost, four rounds at most.
    let mut linked = 0;
    for _round in 0..4 {
        let scan = GraphScan::read(index);
        let (lost, done) = link_unreachable(&mut graph, &scan, (entry.pack(), top), &params);
        linked += done;
        if lost == 0 || done == 0 {
            break;
        }
    }
    pgrx::debug1!("hnsw vacuum: {linked} unreachable and {mutual} elements relinked from their nearest neighbour");
    linked + mutual
}

/// In-links on layer 0 of each element, from live elements.
fn in_link_counts(scan: &GraphScan) -> HashMap<u64, u32> {
    let mut in_links: HashMap<u64, u32> = HashMap::new();
    for (&id, e) in &scan.elements {
        if e.deleted {
            continue;
        }
        for t in scan
            .layers(id)
            .and_then(|l| l.first())
            .into_iter()
            .flatten()
        {
            *in_links.entry(t.pack()).or_default() += 1;
        }
    }
    in_links
}

/// Reachable is not enough for a search to find an element: when its nearest
/// neighbour does not link back to it, its in-links may all come from far away, and
/// a search around its vector never expands them. Links each live element of `scan`
/// from its nearest live out-neighbour on layer 0 where that link is missing (forced:
/// it evicts a link whose target has another in-link). Returns how many it linked.
fn link_from_nearest(graph: &mut DiskGraph, scan: &GraphScan, params: &Params) -> usize {
    let in_links = in_link_counts(scan);
    let spare = |t: u64| in_links.get(&t).is_some_and(|&n| n >= 2);
    let max = params.max_links(0);
    let mut ids: Vec<u64> = scan.elements.keys().copied().collect();
    ids.sort_unstable();
    let mut linked = 0;
    let mut distances = Vec::new();
    for &u in &ids {
        if scan.elements[&u].deleted {
            continue;
        }
        let Some(out) = scan.layers(u).and_then(|l| l.first()) else {
            continue;
        };
        // SAFETY: lets VACUUM's cost-based delay and interrupts act between elements.
        unsafe { pg_sys::vacuum_delay_point() };
        let Some(v) = graph.vector_of(u) else {
            continue;
        };
        let out_ids: Vec<u64> = out.iter().map(|t| t.pack()).collect();
        graph.distances(&v, &out_ids, &mut distances);
        let nearest = out_ids
            .iter()
            .zip(&distances)
            .filter(|&(&n, d)| !graph.is_deleted(n) && d.is_finite())
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(&n, &distance)| (n, distance));
        graph.clear_cache();
        let Some((n, distance)) = nearest else {
            continue;
        };
        let u_tid = Tid::unpack(u);
        let linked_back = scan
            .layers(n)
            .and_then(|l| l.first())
            .is_some_and(|l| l.contains(&u_tid));
        if !linked_back {
            let back = Candidate { distance, id: u };
            linked += usize::from(graph.link(n, 0, back, max, Some(&spare)));
        }
    }
    linked
}

/// One round of linking the live elements of `scan` that cannot be reached from
/// `entry` (id, level) on layer 0: each from the nearest reachable live element a
/// search for its vector finds (forced, as in [`link_from_nearest`]). Returns how
/// many were unreachable and how many it linked.
fn link_unreachable(
    graph: &mut DiskGraph,
    scan: &GraphScan,
    entry: (u64, usize),
    params: &Params,
) -> (usize, usize) {
    let in_links = in_link_counts(scan);
    let spare = |t: u64| in_links.get(&t).is_some_and(|&n| n >= 2);
    let max = params.max_links(0);
    let mut reached = IdSet::default();
    scan.reachable_from(entry.0, &mut reached);
    let mut lost: Vec<u64> = scan
        .elements
        .iter()
        .filter(|&(id, e)| !e.deleted && !reached.contains(id))
        .map(|(&id, _)| id)
        .collect();
    lost.sort_unstable();
    let mut linked = 0;
    for &u in &lost {
        if reached.contains(&u) {
            continue;
        }
        // SAFETY: lets VACUUM's cost-based delay and interrupts act between elements.
        unsafe { pg_sys::vacuum_delay_point() };
        let Some(v) = graph.vector_of(u) else {
            continue;
        };
        let mut visited = IdSet::default();
        let start = Candidate {
            distance: graph.distance(&v, entry.0),
            id: entry.0,
        };
        let first = descend(graph, &v, start, entry.1, 0, &mut visited);
        let found = search_layer(graph, &v, &[first], params.ef_construction, 0, &mut visited);
        let nearest = found
            .iter()
            .find(|c| c.id != u && reached.contains(&c.id) && !graph.is_deleted(c.id))
            .copied();
        if let Some(n) = nearest {
            let back = Candidate {
                distance: n.distance,
                id: u,
            };
            if graph.link(n.id, 0, back, max, Some(&spare)) {
                scan.reachable_from(u, &mut reached);
                linked += 1;
            }
        }
        graph.clear_cache();
    }
    (lost.len(), linked)
}

/// `amvacuumcleanup`: reconnects unreachable live elements; page count, and the
/// tuple count when bulk delete did not run.
#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes a live info struct (with the open index) and the result
    // of ambulkdelete or null.
    unsafe {
        if (*info).analyze_only {
            return stats;
        }
        let index = (*info).index;
        reconnect(index);
        let stats = if stats.is_null() {
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
