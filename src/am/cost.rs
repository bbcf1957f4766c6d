//! `amcostestimate`: the planner's price of an hnsw scan (PostgreSQL docs, "Index
//! Cost Estimation Functions").
//!
//! The index only answers `ORDER BY <distance operator> … LIMIT`: a scan returns at
//! most `hnsw.ef_search` rows, so a plan that needs every row in distance order must
//! not use it. Without an ORDER BY on the operator, or when the query wants all its
//! rows (no LIMIT, `root->limit_tuples < 0`, and no fraction of them either,
//! `root->tuple_fraction == 0`; a LIMIT given as a parameter or a cursor wants a
//! fraction), the cost is the largest there is and the planner never picks it (from
//! PostgreSQL 18 the path also counts as disabled, [`crate::pg::disable_index_path`]). A
//! LIMIT above `ef_search` (or an OFFSET) is served as pgvector serves it: with the
//! rows the scan finds, which may be fewer.
//!
//! Otherwise the whole search happens before the first row comes out, so it is the
//! startup cost. A search measures the distance to about `V` elements ([`visits`]):
//! `m` per upper layer on the way down, and on layer 0 about `ef_search · m` (each
//! expanded element has up to `2·m` links, about half of them not yet seen), all
//! elements when the index holds fewer. Each visit is one index tuple and one
//! distance (`cpu_index_tuple_cost + cpu_operator_cost`, what a sequential scan is
//! charged per distance). Its pages: the search reads the vectors of the fraction
//! `V / N` of the rows, so it is charged that fraction of the pages a sequential scan
//! is charged for reading them all — the heap's pages, or the index's when those are
//! fewer (a sequential scan's estimate leaves out the TOAST pages that vectors of
//! more than about 500 dimensions live in, so the heap's page count is all the
//! comparison can be fair to) — at `seq_page_cost`, since they are mostly cached and
//! read once.
//!
//! The selectivity is 1 (the planner then charges the heap fetches of every row in
//! the run cost; a LIMIT takes its share), which also lets a selective filter on
//! another column prefer that column's index: it fetches fewer heap rows.
//!
//! With `hnsw.iterative_scan` on, the scan goes on until the query's other filters
//! (the relation's restriction clauses, of selectivity `s` by
//! `clauselist_selectivity`) have passed its LIMIT `L` rows (the query's, when it
//! reads this table alone and the path is not parameterized; else `ef_search`, a
//! batch, per scan): about `L / s` results,
//! so the search is priced as one of `ef_search` `max(ef_search, L / s)`
//! ([`iterative_visits`]). When that is more than `hnsw.max_scan_tuples` elements the
//! scan would end before its LIMIT; it is priced as visiting every element then, so
//! that a plan which finds all the rows (a B-tree on the filter's column, a
//! sequential scan) is chosen instead.

use super::options::{ef_search, index_options};
use super::scan_settings::scan_limits;
use pgrx::{pg_guard, pg_sys};

/// Elements a search of an index of `tuples` elements with `m` visits at
/// `ef_search` `ef` (see the module docs).
pub fn visits(tuples: f64, m: usize, ef: usize) -> f64 {
    let m = m as f64;
    let upper_layers = (tuples.max(1.0).ln() / m.ln()).floor();
    (upper_layers * m + ef as f64 * m).min(tuples.max(1.0))
}

/// Elements an iterative scan of an index of `tuples` elements with `m` visits to
/// return `limit` rows of which the fraction `selectivity` passes the query's
/// filters, at `ef_search` `ef`; `None` when that is more than `max_tuples`, where
/// the scan ends short of its LIMIT (see the module docs).
pub fn iterative_visits(
    tuples: f64,
    m: usize,
    ef: usize,
    limit: f64,
    selectivity: f64,
    max_tuples: f64,
) -> Option<f64> {
    let results = (limit / selectivity.max(f64::MIN_POSITIVE)).max(ef as f64);
    let needed = visits(tuples, m, results.min(tuples.max(1.0)) as usize);
    (needed <= max_tuples).then_some(needed)
}

/// `amcostestimate`.
#[pg_guard]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup_cost: *mut pg_sys::Cost,
    total_cost: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    // SAFETY: the planner passes a live root, path and output pointers.
    unsafe {
        *selectivity = 1.0;
        *correlation = 0.0;
        let wants_every_row = (*root).limit_tuples < 0.0 && (*root).tuple_fraction <= 0.0;
        if (*path).indexorderbys.is_null() || wants_every_row {
            // The largest finite cost (infinite ones make the planner's run cost,
            // total − startup, NaN).
            *startup_cost = f64::MAX;
            *total_cost = f64::MAX;
            *pages = 0.0;
            crate::pg::disable_index_path(path);
            return;
        }
        let info = (*path).indexinfo;
        let tuples = (*info).tuples.max(1.0);
        let index_pages = ((*info).pages as f64).max(1.0);
        let heap_pages = ((*(*info).rel).pages as f64).max(1.0);
        // The options are on the index relation; the planner only has its OID here.
        let rel = pg_sys::index_open(
            (*info).indexoid,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
        );
        let (m, _) = index_options(rel);
        pg_sys::index_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let plain = Some(visits(tuples, m, ef_search()));
        let needed = match scan_limits() {
            Some(limits) => {
                let rel = (*info).rel;
                // The query's LIMIT is this scan's only when the query reads one
                // table and the path is not parameterized (a join's own filters
                // would drop rows the estimate does not see); otherwise a batch.
                let alone = pg_sys::bms_num_members((*root).all_baserels) == 1
                    && (*path).path.param_info.is_null();
                let limit = if alone && (*root).limit_tuples > 0.0 {
                    (*root).limit_tuples
                } else {
                    ef_search() as f64
                };
                let filtered = pg_sys::clauselist_selectivity(
                    root,
                    (*rel).baserestrictinfo,
                    (*rel).relid as i32,
                    pg_sys::JoinType::JOIN_INNER,
                    std::ptr::null_mut(),
                );
                let cap = limits.max_tuples as f64;
                iterative_visits(tuples, m, ef_search(), limit, filtered, cap)
            }
            _ => plain,
        };
        let per_visit = pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost;
        let pages_read = match needed {
            Some(visited) => {
                let pages_read = (visited / tuples) * index_pages.min(heap_pages);
                *startup_cost = pages_read * pg_sys::seq_page_cost + visited * per_visit;
                pages_read
            }
            None => {
                // Short of its LIMIT: every element, every page read in graph order.
                let pages_read = index_pages + heap_pages;
                *startup_cost = pages_read * pg_sys::random_page_cost + tuples * per_visit;
                pages_read
            }
        };
        *total_cost = *startup_cost + tuples * pg_sys::cpu_index_tuple_cost;
        *pages = pages_read;
    }
}

#[cfg(test)]
mod tests {
    use super::{iterative_visits, visits};

    #[test]
    fn visits_grow_with_ef_and_m_and_never_exceed_the_index() {
        assert_eq!(visits(100.0, 16, 40), 100.0);
        let at_2000 = visits(2000.0, 16, 40);
        assert!((600.0..700.0).contains(&at_2000), "{at_2000}");
        let at_100k = visits(100_000.0, 16, 40);
        assert!(at_100k > at_2000 && at_100k < 800.0, "{at_100k}");
        assert!(visits(100_000.0, 16, 100) > at_100k);
        assert!(visits(100_000.0, 32, 40) > at_100k);
        assert_eq!(visits(0.0, 16, 40), 1.0);
    }

    #[test]
    fn iterative_visits_grow_as_the_filter_narrows_until_the_cap() {
        let plain = visits(100_000.0, 16, 40);
        // No filter, LIMIT 10: the first batch.
        assert_eq!(
            iterative_visits(100_000.0, 16, 40, 10.0, 1.0, 20_000.0),
            Some(plain)
        );
        // 10 % pass, LIMIT 20: 200 results.
        let tenth = iterative_visits(100_000.0, 16, 40, 20.0, 0.1, 20_000.0);
        assert_eq!(tenth, Some(visits(100_000.0, 16, 200)));
        assert!(tenth > Some(plain));
        // 0.01 % pass, LIMIT 11: 110,000 results, beyond the cap: short
        assert_eq!(
            iterative_visits(100_000.0, 16, 40, 11.0, 0.0001, 20_000.0),
            None
        );
        // a cap that allows the whole index: every element
        assert_eq!(
            iterative_visits(100_000.0, 16, 40, 11.0, 0.0001, 100_000.0),
            Some(100_000.0)
        );
    }
}
