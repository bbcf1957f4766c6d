//! Compat: the few places where PostgreSQL versions differ, behind one function each
//! (`cfg(feature = "pgNN")` appears nowhere else).

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use pgrx::pg_sys;

pub mod qual;
pub mod scan_node;

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

/// `work_mem` in bytes (the memory of one sort or hash, "Resource Consumption" in the
/// docs; an iterative scan's budget is a multiple of it).
pub fn work_mem() -> usize {
    // SAFETY: reads an integer setting (kilobytes).
    let kb = unsafe { pg_sys::work_mem };
    kb.max(0) as usize * 1024
}

/// The physical file of `rel` as (tablespace, database, file number): the key of a
/// relation's cached buffer hints. `RelFileNode` (13–15) became `RelFileLocator` (16).
pub fn relation_key(rel: pg_sys::Relation) -> (u32, u32, u32) {
    // SAFETY: `rel` is an open relation.
    unsafe {
        #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
        let key = {
            let n = (*rel).rd_node;
            (n.spcNode.to_u32(), n.dbNode.to_u32(), n.relNode.to_u32())
        };
        #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
        let key = {
            let l = (*rel).rd_locator;
            (l.spcOid.to_u32(), l.dbOid.to_u32(), l.relNumber.to_u32())
        };
        key
    }
}

/// Pins `buffer` if it still holds `block` of `rel`'s main fork (`ReadRecentBuffer`,
/// 14+, which checks the buffer tag under the buffer header lock); `false` when it
/// does not, and always on 13, which has no such call (the caller then reads the
/// block the usual way).
pub fn read_recent_buffer(rel: pg_sys::Relation, block: u32, buffer: pg_sys::Buffer) -> bool {
    #[cfg(feature = "pg13")]
    {
        let _ = (rel, block, buffer);
        false
    }
    // SAFETY: `rel` is open; ReadRecentBuffer validates the hint and pins only on a
    // match.
    #[cfg(any(feature = "pg14", feature = "pg15"))]
    unsafe {
        pg_sys::ReadRecentBuffer(
            (*rel).rd_node,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            block,
            buffer,
        )
    }
    // SAFETY: as above.
    #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
    unsafe {
        pg_sys::ReadRecentBuffer(
            (*rel).rd_locator,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            block,
            buffer,
        )
    }
}

/// `true` when changes to `rel` must be WAL-logged: PostgreSQL's `RelationNeedsWAL`
/// macro (`utils/rel.h`), whose subtransaction field was renamed in 16.
pub fn relation_needs_wal(rel: pg_sys::Relation) -> bool {
    // SAFETY: reads fields of an open relation and the `wal_level` setting.
    unsafe {
        let permanent = (*(*rel).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as i8;
        let xlog_needed = pg_sys::wal_level >= pg_sys::WalLevel::WAL_LEVEL_REPLICA as i32;
        #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
        let first_subid = (*rel).rd_firstRelfilenodeSubid;
        #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
        let first_subid = (*rel).rd_firstRelfilelocatorSubid;
        permanent && (xlog_needed || ((*rel).rd_createSubid == 0 && first_subid == 0))
    }
}

/// Lets VACUUM's cost-based delay and pending interrupts act (`vacuum_delay_point`;
/// 18 added its `is_analyze` argument, false here: this is VACUUM).
pub fn vacuum_delay_point() {
    // SAFETY: may sleep or raise an error (a cancel), as PostgreSQL's VACUUM loops do.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        pg_sys::vacuum_delay_point();
        #[cfg(feature = "pg18")]
        pg_sys::vacuum_delay_point(false);
    }
}

/// One `relopt_parse_elt` of `amoptions`'s table: an option's name, type and offset
/// in the options struct (18 added the offset of an "is set" flag, unused here).
pub fn relopt_parse_elt(
    name: &'static std::ffi::CStr,
    kind: pg_sys::relopt_type::Type,
    offset: usize,
) -> pg_sys::relopt_parse_elt {
    pg_sys::relopt_parse_elt {
        optname: name.as_ptr(),
        opttype: kind,
        offset: offset as i32,
        #[cfg(feature = "pg18")]
        isset_offset: 0,
    }
}

/// Whether [`reserve_guc_prefix`] makes unknown settings of the prefix an error
/// (15+); on 13 and 14 `SET hnsw.unknown = …` creates a placeholder, as for any
/// extension there.
pub const GUC_PREFIX_RESERVED: bool = cfg!(not(any(feature = "pg13", feature = "pg14")));

/// Reserves the settings prefix `prefix` (`hnsw`): an unknown `hnsw.*` setting then
/// fails instead of becoming a placeholder (`MarkGUCPrefixReserved`, 15+; 13 and 14
/// only warn about existing placeholders, `EmitWarningsOnPlaceholders`).
pub fn reserve_guc_prefix(prefix: &'static std::ffi::CStr) {
    // SAFETY: called from _PG_init with a static C string, which PostgreSQL keeps.
    unsafe {
        #[cfg(any(feature = "pg13", feature = "pg14"))]
        pg_sys::EmitWarningsOnPlaceholders(prefix.as_ptr());
        #[cfg(not(any(feature = "pg13", feature = "pg14")))]
        pg_sys::MarkGUCPrefixReserved(prefix.as_ptr());
    }
}

/// The first column's attribute of `index` (`TupleDescAttr`, a macro over the
/// `attrs` array until 17, a function over the compact attributes from 18).
fn first_column(index: pg_sys::Relation) -> *const pg_sys::FormData_pg_attribute {
    // SAFETY: an index relation has a tuple descriptor with at least one attribute.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        let attr = (*(*index).rd_att).attrs.as_ptr();
        #[cfg(feature = "pg18")]
        let attr = pg_sys::TupleDescAttr((*index).rd_att, 0);
        attr
    }
}

/// The typmod of the first column of `index`.
pub fn first_column_typmod(index: pg_sys::Relation) -> i32 {
    // SAFETY: the attribute of a relation PostgreSQL holds open.
    unsafe { (*first_column(index)).atttypmod }
}

/// The type of the first column of `index` (an expression's result type for an
/// expression index).
pub fn first_column_type(index: pg_sys::Relation) -> pg_sys::Oid {
    // SAFETY: as in `first_column_typmod`.
    unsafe { (*first_column(index)).atttypid }
}

/// `aminsert` for this version's callback signature (14 added `indexUnchanged`):
/// adds one row through [`crate::am::insert_row`].
#[cfg(feature = "pg13")]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    // SAFETY: PostgreSQL's arguments for one indexed column.
    unsafe { crate::am::insert_row(index, values, isnull, heap_tid) }
}

/// `aminsert` for this version's callback signature (14 added `indexUnchanged`):
/// adds one row through [`crate::am::insert_row`].
#[cfg(not(feature = "pg13"))]
#[pgrx::pg_guard]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    // SAFETY: PostgreSQL's arguments for one indexed column.
    unsafe { crate::am::insert_row(index, values, isnull, heap_tid) }
}

/// Sets what differs by version in the access method's capabilities: from 17,
/// `amcanbuildparallel` (PostgreSQL then plans the build's workers itself, see
/// [`planned_build_workers`]); `aminsertcleanup` stays unset, as no insert keeps
/// state across rows (`ii_AmCache` is not used).
///
/// # Safety
/// `am` is the `IndexAmRoutine` being filled in.
pub unsafe fn set_version_capabilities(am: *mut pg_sys::IndexAmRoutine) {
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    // SAFETY: per the caller.
    unsafe {
        (*am).amcanbuildparallel = true;
    }
    let _ = am;
}

/// The parallel workers a build of `index` on `heap` may launch: from 17 PostgreSQL
/// planned them (`index_build` sets `ii_ParallelWorkers` because the access method
/// says `amcanbuildparallel`); before, the access method asks the planner itself,
/// as nbtree does (`plan_create_index_workers`).
pub fn planned_build_workers(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> i32 {
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    // SAFETY: `index_info` is the build's.
    unsafe {
        let _ = (heap, index);
        (*index_info).ii_ParallelWorkers
    }
    #[cfg(not(any(feature = "pg17", feature = "pg18")))]
    // SAFETY: both relations are open; the planner reads the catalogs.
    unsafe {
        let _ = index_info;
        pg_sys::plan_create_index_workers((*heap).rd_id, (*index).rd_id)
    }
}

/// Counts one search of the index for `EXPLAIN ANALYZE`'s "Index Searches" (18+:
/// `scan->instrument->nsearches`, set when EXPLAIN asks for it); nothing before 18.
pub fn count_index_search(scan: pg_sys::IndexScanDesc) {
    #[cfg(feature = "pg18")]
    // SAFETY: `scan` is the scan PostgreSQL passed; `instrument` is null or points
    // at the executor's counters for this scan.
    unsafe {
        if !(*scan).instrument.is_null() {
            (*(*scan).instrument).nsearches += 1;
        }
    }
    let _ = scan;
}

/// Makes the planner pass over an index path whatever else is disabled. Until 17 the
/// largest cost does it; 18 compares paths by their count of disabled nodes before
/// their cost, so a sequential scan turned off with `enable_seqscan = off` (one
/// disabled node) would lose to any index path: the path counts two there, as
/// pgvector's does.
///
/// # Safety
/// `path` is the index path `amcostestimate` was given.
pub unsafe fn disable_index_path(path: *mut pg_sys::IndexPath) {
    #[cfg(feature = "pg18")]
    // SAFETY: per the caller.
    unsafe {
        (*path).path.disabled_nodes = 2;
    }
    let _ = path;
}

/// The subplans a `ModifyTableState` keeps in an array of its own (PostgreSQL 13's
/// `mt_plans`); from 14 on its one subplan is its outer plan, so none.
///
/// # Safety
/// `node` is a live `ModifyTableState`.
pub unsafe fn modify_table_subplans(
    node: *mut pg_sys::PlanState,
) -> (*mut *mut pg_sys::PlanState, std::ffi::c_int) {
    #[cfg(feature = "pg13")]
    // SAFETY: per the caller's guarantee.
    unsafe {
        let m = node.cast::<pg_sys::ModifyTableState>();
        ((*m).mt_plans, (*m).mt_nplans)
    }
    #[cfg(not(feature = "pg13"))]
    {
        let _ = node;
        (std::ptr::null_mut(), 0)
    }
}
