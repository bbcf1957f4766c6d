//! Progress of `CREATE INDEX` in `pg_stat_progress_create_index`
//! (PostgreSQL docs, "Progress Reporting"): named phases through `ambuildphasename`,
//! tuples done and total. Block counts of the heap scan are reported by
//! `table_index_build_scan` itself.

use pgrx::{pg_guard, pg_sys};

/// The build's phases (`PROGRESS_CREATEIDX_SUBPHASE`; 1 is PostgreSQL's
/// "initializing").
#[derive(Clone, Copy, Debug)]
#[repr(i64)]
pub enum Phase {
    /// Scanning the heap and inserting into the in-memory graph.
    LoadingTuples = 2,
    /// Writing the in-memory graph to pages.
    WritingPages = 3,
    /// Inserting the rows that did not fit in memory into the on-disk graph.
    InsertingOnDisk = 4,
}

fn update(param: u32, value: i64) {
    // SAFETY: writes this backend's progress slot; harmless outside CREATE INDEX.
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) }
}

/// Reports the current phase.
pub fn phase(p: Phase) {
    update(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, p as i64);
}

/// Reports the number of tuples to index (the planner's estimate).
pub fn tuples_total(n: f64) {
    update(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, n.max(0.0) as i64);
}

/// Reports the number of tuples indexed so far.
pub fn tuples_done(n: f64) {
    update(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, n as i64);
}

/// `ambuildphasename`: the names shown in `pg_stat_progress_create_index.phase`.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    let name: &'static std::ffi::CStr = match phase {
        2 => c"loading tuples",
        3 => c"writing pages",
        4 => c"inserting on disk",
        _ => return std::ptr::null_mut(),
    };
    name.as_ptr().cast_mut()
}
