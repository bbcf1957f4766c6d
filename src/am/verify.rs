//! `hnsw_verify(index regclass)`: a row per problem found in an hnsw index, none for
//! a healthy one. Checks the metapage, every page's special area, every element
//! (its neighbour tuple, length in lanes, heap TIDs in range and held by no other
//! element, its chain whole for an element longer than a page), every chain tuple
//! (in one element's chain), every link (to an existing element that lives on that
//! layer), the entry point, and that every live element can be reached from the
//! entry point along layer-0 links. An entry point or links that are flagged deleted are not problems:
//! they are the state between VACUUM's passes (or after a crash during VACUUM), which
//! the next VACUUM completes.
//!
//! Reads each page under a share lock, so it can run beside inserts (an element
//! added meanwhile may show up as unreachable, the chain of one being added as a
//! chain tuple of no element, a chain on a page added after the read began or freed
//! by VACUUM meanwhile as a broken chain).

use super::graphscan::GraphScan;
use super::stats::{OpenIndex, RegClass};
use crate::hnsw::IdSet;
use crate::storage::meta::Meta;
use crate::storage::page::ReadPage;
use crate::storage::tuple::Tid;
use crate::storage::PAGE_META;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::collections::HashMap;

/// PostgreSQL's `MaxHeapTuplesPerPage`: page minus header, over the smallest heap
/// tuple (aligned header) plus its line pointer.
const MAX_HEAP_TUPLES_PER_PAGE: u32 = (pg_sys::BLCKSZ - 24) / (24 + 4);

/// Bytes of metapage data read for decoding.
const META_READ: usize = 32;

/// One problem: what, where (block and offset; NULL when it is about the whole
/// index), and details.
type Problem = (String, Option<i64>, Option<i32>, String);

fn at(kind: &str, tid: Tid, detail: String) -> Problem {
    (
        kind.to_string(),
        Some(i64::from(tid.block)),
        Some(i32::from(tid.offset)),
        detail,
    )
}

/// Blocks of the table the index belongs to.
fn heap_blocks(index: pg_sys::Relation) -> u32 {
    // SAFETY: the index is open, so its pg_index row names the table; the table is
    // opened and closed with AccessShareLock around the size lookup.
    unsafe {
        let heap_oid = (*(*index).rd_index).indrelid;
        let heap = pg_sys::relation_open(heap_oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let n = pg_sys::RelationGetNumberOfBlocksInFork(heap, pg_sys::ForkNumber::MAIN_FORKNUM);
        pg_sys::relation_close(heap, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        n
    }
}

/// A problem for each heap TID held by more than one element (reported at the
/// element of the higher TID): a TID that VACUUM should have removed from one of
/// them, whose heap slot may since hold another row.
fn shared_heap_tids(scan: &GraphScan) -> Vec<Problem> {
    let mut holders: Vec<(Tid, Tid)> = scan
        .elements
        .iter()
        .flat_map(|(&id, e)| e.heap_tids.iter().map(move |&h| (h, Tid::unpack(id))))
        .collect();
    holders.sort_unstable();
    holders
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| {
            let (h, first) = w[0];
            at(
                "heap TID in two elements",
                w[1].1,
                format!(
                    "({},{}) is also held by ({},{})",
                    h.block, h.offset, first.block, first.offset
                ),
            )
        })
        .collect()
}

/// A problem for each chained element whose chain is not whole (a piece missing, not
/// a chain tuple, in another chain too, or the wrong number of lanes in all), and for
/// each chain tuple in no element's chain (left by an insert that failed or crashed
/// between its chain and its element, which VACUUM frees; or being written now).
fn chain_problems(scan: &GraphScan) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut owner: HashMap<u64, u64> = HashMap::new();
    for (&id, e) in &scan.elements {
        let Some(head) = e.chain else {
            continue;
        };
        let (mut lanes, mut next, mut broken) = (0, Some(head), None);
        while let Some(t) = next {
            let Some(c) = scan.chains.get(&t.pack()) else {
                broken = Some(format!("no chain tuple at ({},{})", t.block, t.offset));
                break;
            };
            if let Some(other) = owner.insert(t.pack(), id) {
                let o = Tid::unpack(other);
                broken = Some(format!(
                    "({},{}) is also in the chain of ({},{})",
                    t.block, t.offset, o.block, o.offset
                ));
                break;
            }
            lanes += c.lanes;
            next = c.next;
        }
        if broken.is_none() && lanes != e.dim {
            broken = Some(format!("{lanes} lanes in the chain, {} expected", e.dim));
        }
        if let Some(detail) = broken {
            out.push(at("broken chain", Tid::unpack(id), detail));
        }
    }
    for (&id, c) in &scan.chains {
        if !owner.contains_key(&id) {
            out.push(at(
                "chain tuple of no element",
                Tid::unpack(id),
                format!("written by transaction {}", c.xid),
            ));
        }
    }
    out
}

/// Every problem found in `index` (see the module docs), ordered by place.
pub fn problems(rel: pg_sys::Relation) -> Vec<Problem> {
    let mut out = Vec::new();
    let meta = {
        let (page, problem) = ReadPage::read_unchecked(rel, 0, PAGE_META);
        match problem {
            Some(p) => Err(p),
            None => Meta::decode(page.contents(META_READ)),
        }
    };
    let meta = match meta {
        Ok(meta) => meta,
        Err(what) => {
            out.push(("bad metapage".into(), Some(0), None, what.into()));
            return out;
        }
    };
    let scan = GraphScan::read(rel);
    let heap_pages = heap_blocks(rel);
    for &(block, what) in &scan.bad_pages {
        out.push(("bad page".into(), Some(i64::from(block)), None, what.into()));
    }
    for (&id, e) in &scan.elements {
        pgrx::check_for_interrupts!();
        let tid = Tid::unpack(id);
        if !meta.holds_lanes(e.dim) {
            let expected = match meta.fixed_lanes() {
                Some(n) => format!("{n}"),
                None => format!("an even number up to {}", meta.lanes().min(2 * meta.dim)),
            };
            out.push(at(
                "wrong dimensions",
                tid,
                format!("expected {expected} lanes, not {}", e.dim),
            ));
        }
        if e.heap_tids.is_empty() != e.deleted {
            out.push(at(
                "deleted flag disagrees with heap TIDs",
                tid,
                format!("{} heap TIDs, deleted {}", e.heap_tids.len(), e.deleted),
            ));
        }
        for h in &e.heap_tids {
            if h.block >= heap_pages || h.offset == 0 || h.offset as u32 > MAX_HEAP_TUPLES_PER_PAGE
            {
                out.push(at(
                    "heap TID out of range",
                    tid,
                    format!(
                        "({},{}) in a table of {heap_pages} pages",
                        h.block, h.offset
                    ),
                ));
            }
        }
        let Some(layers) = scan.layers(id) else {
            out.push(at(
                "missing neighbour tuple",
                tid,
                format!(
                    "expected at ({},{})",
                    e.neighbours.block, e.neighbours.offset
                ),
            ));
            continue;
        };
        if layers.len() != e.level + 1 {
            out.push(at(
                "neighbour tuple of another level",
                tid,
                format!(
                    "element level {}, neighbour tuple level {}",
                    e.level,
                    layers.len() - 1
                ),
            ));
        }
        for (layer, links) in layers.iter().enumerate() {
            for t in links {
                match scan.elements.get(&t.pack()) {
                    None => out.push(at(
                        "neighbour reference to a missing element",
                        tid,
                        format!("layer {layer} links to ({},{})", t.block, t.offset),
                    )),
                    Some(n) if n.level < layer => out.push(at(
                        "neighbour reference below its layer",
                        tid,
                        format!(
                            "layer {layer} links to ({},{}) of level {}",
                            t.block, t.offset, n.level
                        ),
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    out.extend(shared_heap_tids(&scan));
    out.extend(chain_problems(&scan));
    let mut reached = IdSet::default();
    if let Some((entry, level)) = meta.entry {
        match scan.elements.get(&entry.pack()) {
            None => out.push(at("entry point missing", entry, String::new())),
            Some(e) => {
                if e.level != level {
                    out.push(at(
                        "entry point level mismatch",
                        entry,
                        format!("metapage says {level}, element has {}", e.level),
                    ));
                }
                scan.reachable_from(entry.pack(), &mut reached);
            }
        }
    }
    for (&id, e) in &scan.elements {
        if !e.deleted && !reached.contains(&id) {
            let what = if meta.entry.is_none() {
                "live element but no entry point"
            } else {
                "unreachable live element"
            };
            out.push(at(what, Tid::unpack(id), String::new()));
        }
    }
    out.sort_by(|a, b| (a.1, a.2, &a.0).cmp(&(b.1, b.2, &b.0)));
    out
}

/// A row per problem found in the hnsw index (none when it is healthy): what is
/// wrong, where (block and offset of the element or page; NULL for the whole
/// index) and details.
#[pg_extern(stable, strict, parallel_safe)]
#[allow(clippy::type_complexity)]
fn hnsw_verify(
    index: RegClass,
) -> TableIterator<
    'static,
    (
        name!(problem, String),
        name!(block, Option<i64>),
        name!(offset, Option<i32>),
        name!(detail, String),
    ),
> {
    let rel = OpenIndex::open(index.0);
    TableIterator::new(problems(rel.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::am::graphscan::ElementInfo;

    fn element(heap_tids: &[(u32, u16)]) -> ElementInfo {
        ElementInfo {
            level: 0,
            deleted: heap_tids.is_empty(),
            heap_tids: heap_tids
                .iter()
                .map(|&(block, offset)| Tid { block, offset })
                .collect(),
            neighbours: Tid {
                block: 1,
                offset: 1,
            },
            dim: 3,
            chain: None,
        }
    }

    #[test]
    fn a_heap_tid_held_by_two_elements_is_reported_once() {
        let mut scan = GraphScan::default();
        let at = |block, offset| Tid { block, offset }.pack();
        scan.elements.insert(at(1, 2), element(&[(7, 1), (7, 2)]));
        scan.elements.insert(at(1, 4), element(&[(7, 3)]));
        scan.elements.insert(at(2, 2), element(&[]));
        assert!(shared_heap_tids(&scan).is_empty());
        scan.elements.insert(at(3, 2), element(&[(8, 1), (7, 2)]));
        let problems = shared_heap_tids(&scan);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let (what, block, offset, detail) = &problems[0];
        assert_eq!(what, "heap TID in two elements");
        assert_eq!((*block, *offset), (Some(3), Some(2)));
        assert_eq!(detail, "(7,2) is also held by (1,2)");
    }
}
