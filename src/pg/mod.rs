//! Compat: the few places where PostgreSQL versions differ, behind one function each
//! (`cfg(feature = "pgNN")` appears nowhere else).

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use pgrx::pg_sys;

/// Counts one scan of index `rel` in the cumulative statistics
/// (`pg_stat_user_indexes.idx_scan`): PostgreSQL's `pgstat_count_index_scan`
/// macro, which an index AM calls once per scan (`utils/pgstat.h`). The tuples a
/// scan returns are counted by `index_getnext_tid` itself.
pub fn count_index_scan(rel: pg_sys::Relation) {
    // SAFETY: `rel` is an open index relation; `pgstat_info`, once associated, points
    // at this backend's pending statistics entry for it.
    unsafe {
        #[cfg(not(any(feature = "pg13", feature = "pg14")))]
        if (*rel).pgstat_info.is_null() && (*rel).pgstat_enabled {
            pg_sys::pgstat_assoc_relation(rel);
        }
        let info = (*rel).pgstat_info;
        if info.is_null() {
            return;
        }
        #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
        {
            (*info).t_counts.t_numscans += 1;
        }
        #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
        {
            (*info).counts.numscans += 1;
        }
    }
}

extern "C" {
    /// `autovacuum_work_mem` (kB, -1: use `maintenance_work_mem`), from
    /// `postmaster/autovacuum.h` (not among pgrx's bindings).
    static autovacuum_work_mem: std::ffi::c_int;
}

/// The memory VACUUM may use in this process, in bytes: `autovacuum_work_mem` in an
/// autovacuum worker when it is set, else `maintenance_work_mem` (PostgreSQL's own
/// rule, "Resource Consumption" in the docs).
pub fn vacuum_work_mem() -> usize {
    // SAFETY: reads integer settings and this process's kind.
    let kb = unsafe {
        if pg_sys::MyBackendType == pg_sys::BackendType::B_AUTOVAC_WORKER
            && autovacuum_work_mem != -1
        {
            autovacuum_work_mem
        } else {
            pg_sys::maintenance_work_mem
        }
    };
    kb.max(0) as usize * 1024
}
