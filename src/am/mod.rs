//! The `hnsw` index access method (PostgreSQL docs, chapter "Index Access Method
//! Interface Definition"): thin glue between PostgreSQL's callbacks and the HNSW core
//! (`crate::hnsw`) over the index pages (`crate::storage`).
//!
//! - [`build`]: `ambuild`, `ambuildempty`; [`parallel`]: the parallel build;
//! - `aminsert` (here): one row into the on-disk graph ([`insert::insert`]);
//! - [`scan`]: `ambeginscan`, `amrescan`, `amgettuple`, `amendscan`; [`iterative`]:
//!   the later batches of an iterative scan, and its settings in [`scan_settings`];
//! - [`vacuum`]: `ambulkdelete`, `amvacuumcleanup`;
//! - [`cost`]: `amcostestimate`; [`options`]: `amoptions` and `hnsw.ef_search`;
//! - [`progress`]: `ambuildphasename` and `pg_stat_progress_create_index` updates;
//! - `hnsw_index_stats()`, in [`stats`].

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod build;
pub mod cleanup;
pub mod cost;
pub mod disk;
pub mod element;
pub mod graphscan;
pub mod insert;
pub mod iterative;
pub mod options;
pub mod parallel;
pub mod progress;
pub mod reach;
pub mod scan;
pub mod scan_settings;
pub mod stats;
pub mod vacuum;
pub mod verify;

use crate::error::raise;
use crate::storage::tuple::Tid;
use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::prelude::*;
use pgrx::{pg_guard, pg_sys, PgMemoryContexts, PgSqlErrorCode};

/// `aminsert`'s work (its callback, whose signature differs by version, is
/// [`crate::pg::aminsert`]): adds one row to the on-disk graph. Returns `false` (no
/// uniqueness to report).
///
/// # Safety
/// PostgreSQL's `aminsert` arguments for an open hnsw index of one column.
pub(crate) unsafe fn insert_row(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
) -> bool {
    // SAFETY: one indexed column, of the type of the metapage's metric (the index was
    // built for its opclass's type, a `bit varying` column refused); `heap_tid` is
    // the new row's TID.
    unsafe {
        if *isnull {
            return false;
        }
        let (block, offset) = pgrx::itemptr::item_pointer_get_both(*heap_tid);
        let datum = *values;
        let mut tmp = PgMemoryContexts::new("hnsw insert");
        tmp.switch_to(|_| {
            let meta = crate::storage::meta::Meta::read(index);
            if let Some(prepared) = element::row_element(meta.metric, meta.dim, datum) {
                insert::insert(index, &prepared, Tid { block, offset }, &mut rand::rng());
            }
        });
    }
    false
}

/// `hnsw_build_memory(rows, dimensions, m DEFAULT 16)`: bytes of
/// `maintenance_work_mem` that `CREATE INDEX … USING hnsw` needs to build the graph of
/// `rows` `vector(dimensions)` values in memory (see [`build::build_memory`]); a
/// `halfvec(n)` column needs what `ceil(n / 2)` dimensions do, a `bit(n)` one
/// `ceil(n / 32)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn hnsw_build_memory(rows: i64, dimensions: i32, m: default!(i32, 16)) -> i64 {
    if rows < 0 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "rows must not be negative",
            None,
        );
    }
    let max = element::max_dimensions(crate::hnsw::metric::ElementType::Vector);
    if !(1..=max as i32).contains(&dimensions) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions must be between 1 and {max}, not {dimensions}"),
            None,
        );
    }
    if !(2..=100).contains(&m) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("m must be between 2 and 100, not {m}"),
            None,
        );
    }
    build::build_memory(rows as u64, dimensions as usize, m as usize) as i64
}

#[pg_guard]
unsafe extern "C-unwind" fn amvalidate(_opclass: pg_sys::Oid) -> bool {
    true
}

/// The `index_am_handler` result: a palloc'd `IndexAmRoutine`.
pub struct AmRoutine(*mut pg_sys::IndexAmRoutine);

// SAFETY: maps to the pseudo-type `index_am_handler`.
unsafe impl SqlTranslatable for AmRoutine {
    const TYPE_IDENT: &'static str = "pgvec_hnsw::index_am_handler";
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
        Ok(SqlMappingRef::literal("index_am_handler"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("index_am_handler")));
}

// SAFETY: returns a pointer to a palloc'd node, as index_am_handler functions do.
unsafe impl BoxRet for AmRoutine {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the node lives in the caller's memory context.
        unsafe { fcinfo.return_raw_datum(pg_sys::Datum::from(self.0)) }
    }
}

/// `hnsw_handler(internal)`: the access method's callbacks and capabilities.
#[pg_extern(sql = r#"
CREATE FUNCTION hnsw_handler(internal) RETURNS index_am_handler
    LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER hnsw_handler;
COMMENT ON ACCESS METHOD hnsw IS 'hnsw index access method';
"#)]
fn hnsw_handler(_fcinfo: pg_sys::FunctionCallInfo) -> AmRoutine {
    // SAFETY: makeNode(IndexAmRoutine): palloc0 plus the node tag.
    unsafe {
        let am = pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexAmRoutine>())
            .cast::<pg_sys::IndexAmRoutine>();
        (*am).type_ = pg_sys::NodeTag::T_IndexAmRoutine;
        (*am).amstrategies = 0;
        (*am).amsupport = 2;
        (*am).amoptsprocnum = 0;
        (*am).amcanorder = false;
        (*am).amcanorderbyop = true;
        (*am).amcanbackward = false;
        (*am).amcanunique = false;
        (*am).amcanmulticol = false;
        (*am).amoptionalkey = true;
        (*am).amsearcharray = false;
        (*am).amsearchnulls = false;
        (*am).amstorage = false;
        (*am).amclusterable = false;
        (*am).ampredlocks = false;
        (*am).amcanparallel = false;
        (*am).amcaninclude = false;
        (*am).amusemaintenanceworkmem = false;
        (*am).amparallelvacuumoptions = pg_sys::VACUUM_OPTION_PARALLEL_BULKDEL as u8;
        (*am).amkeytype = pg_sys::InvalidOid;
        (*am).ambuild = Some(build::ambuild);
        (*am).ambuildempty = Some(build::ambuildempty);
        (*am).aminsert = Some(crate::pg::aminsert);
        (*am).ambulkdelete = Some(vacuum::ambulkdelete);
        (*am).amvacuumcleanup = Some(cleanup::amvacuumcleanup);
        (*am).amcostestimate = Some(cost::amcostestimate);
        (*am).amoptions = Some(options::amoptions);
        (*am).ambuildphasename = Some(progress::ambuildphasename);
        (*am).amvalidate = Some(amvalidate);
        (*am).ambeginscan = Some(scan::ambeginscan);
        (*am).amrescan = Some(scan::amrescan);
        (*am).amgettuple = Some(scan::amgettuple);
        (*am).amendscan = Some(scan::amendscan);
        crate::pg::set_version_capabilities(am);
        AmRoutine(am)
    }
}
