//! Reloptions `m` and `ef_construction`, and the setting `hnsw.ef_search`
//! (PostgreSQL docs, "Index Access Method Interface Definition": `amoptions`).

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use std::sync::atomic::{AtomicU32, Ordering};

/// `hnsw.ef_search`: candidates kept by a search (1–1000, default 40).
pub static EF_SEARCH: GucSetting<i32> = GucSetting::<i32>::new(40);

/// Default and range of `m`.
pub const M_DEFAULT: i32 = 16;
const M_MIN: i32 = 2;
const M_MAX: i32 = 100;
/// Default and range of `ef_construction`.
pub const EF_CONSTRUCTION_DEFAULT: i32 = 64;
const EF_CONSTRUCTION_MIN: i32 = 4;
const EF_CONSTRUCTION_MAX: i32 = 1000;

static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

/// The parsed reloptions (`rd_options` of an hnsw index), as `build_reloptions` fills it.
#[repr(C)]
struct HnswOptions {
    vl_len_: i32,
    m: i32,
    ef_construction: i32,
}

/// Registers the setting and the reloptions; called from `_PG_init`.
pub fn init() {
    GucRegistry::define_int_guc(
        c"hnsw.ef_search",
        c"Sets the size of the dynamic candidate list for search.",
        c"Larger values give better recall at the cost of speed; valid range is 1..1000.",
        &EF_SEARCH,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    super::scan_settings::init();
    crate::pg::reserve_guc_prefix(c"hnsw");
    // SAFETY: called once from _PG_init; the names are static C strings, as
    // add_*_reloption keeps the pointers.
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind, Ordering::Relaxed);
        pg_sys::add_int_reloption(
            kind,
            c"m".as_ptr(),
            c"Max number of connections".as_ptr(),
            M_DEFAULT,
            M_MIN,
            M_MAX,
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
        pg_sys::add_int_reloption(
            kind,
            c"ef_construction".as_ptr(),
            c"Size of the dynamic candidate list for construction".as_ptr(),
            EF_CONSTRUCTION_DEFAULT,
            EF_CONSTRUCTION_MIN,
            EF_CONSTRUCTION_MAX,
            pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE,
        );
    }
}

/// `amoptions`: parses and validates `WITH (m = …, ef_construction = …)`; range
/// errors come from PostgreSQL in its own wording.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amoptions(
    reloptions: pg_sys::Datum,
    validate: bool,
) -> *mut pg_sys::bytea {
    let int = pg_sys::relopt_type::RELOPT_TYPE_INT;
    let table = [
        crate::pg::relopt_parse_elt(c"m", int, std::mem::offset_of!(HnswOptions, m)),
        crate::pg::relopt_parse_elt(
            c"ef_construction",
            int,
            std::mem::offset_of!(HnswOptions, ef_construction),
        ),
    ];
    // SAFETY: the table describes HnswOptions; build_reloptions pallocs the result.
    unsafe {
        pg_sys::build_reloptions(
            reloptions,
            validate,
            RELOPT_KIND.load(Ordering::Relaxed),
            std::mem::size_of::<HnswOptions>(),
            table.as_ptr(),
            table.len() as i32,
        )
        .cast()
    }
}

/// `(m, ef_construction)` of an index: its reloptions or the defaults.
pub(crate) fn index_options(index: pg_sys::Relation) -> (usize, usize) {
    // SAFETY: `rd_options` is null or points to the HnswOptions built by amoptions.
    unsafe {
        let opts = (*index).rd_options.cast::<HnswOptions>();
        if opts.is_null() {
            (M_DEFAULT as usize, EF_CONSTRUCTION_DEFAULT as usize)
        } else {
            ((*opts).m as usize, (*opts).ef_construction as usize)
        }
    }
}

/// The current `hnsw.ef_search`.
pub fn ef_search() -> usize {
    EF_SEARCH.get().max(1) as usize
}
