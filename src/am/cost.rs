//! `amcostestimate`: the planner's price of an hnsw scan.
//!
//! Without an ORDER BY on the distance operator the index is useless, so its cost is
//! infinite and the planner never picks it. With one, a search visits roughly
//! `ef_search · m` elements whatever the table size, each one page read (usually
//! cached, so priced at `seq_page_cost`) and one distance; that whole search is the
//! startup cost, as no row comes out before it ends.

use super::options::{ef_search, index_options};
use pgrx::{pg_guard, pg_sys};

/// `amcostestimate`.
#[pg_guard]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C-unwind" fn amcostestimate(
    _root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup_cost: *mut pg_sys::Cost,
    total_cost: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    // SAFETY: the planner passes a live path and output pointers.
    unsafe {
        *selectivity = 1.0;
        *correlation = 0.0;
        if (*path).indexorderbys.is_null() {
            *startup_cost = f64::INFINITY;
            *total_cost = f64::INFINITY;
            *pages = 0.0;
            return;
        }
        let info = (*path).indexinfo;
        let tuples = (*info).tuples.max(1.0);
        let index_pages = ((*info).pages as f64).max(1.0);
        // The options are on the index relation; the planner only has its OID here.
        let rel = pg_sys::index_open(
            (*info).indexoid,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
        );
        let (m, _) = index_options(rel);
        pg_sys::index_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let visited = ((ef_search() * m) as f64).min(tuples);
        let pages_read = visited.min(index_pages);
        let per_distance = pg_sys::cpu_operator_cost * 4.0;
        *startup_cost = pages_read * pg_sys::seq_page_cost
            + visited * (per_distance + pg_sys::cpu_index_tuple_cost);
        *total_cost =
            *startup_cost + (ef_search() as f64).min(tuples) * pg_sys::cpu_index_tuple_cost;
        *pages = pages_read;
    }
}
