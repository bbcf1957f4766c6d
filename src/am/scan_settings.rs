//! The iterative index scan settings, pgvector 0.8's names, values, defaults and
//! ranges: `hnsw.iterative_scan`, `hnsw.max_scan_tuples`, `hnsw.scan_mem_multiplier`
//! (all user-settable, so `SET LOCAL` works). The scan itself is in [`super::scan`].

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::PostgresGucEnum;

/// `hnsw.iterative_scan`: whether a scan goes on past its first `ef_search` results,
/// and in what order it returns the later ones.
#[derive(PostgresGucEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IterativeScan {
    /// The scan returns the first `ef_search` results only.
    #[name = c"off"]
    Off,
    /// Batch after batch, each in distance order (or, with the filter in the scan,
    /// one walk nearly in order); a later row may be nearer than the last returned.
    #[name = c"relaxed_order"]
    RelaxedOrder,
    /// One best-first walk after the first batch ([`super::iterative`]); never a row
    /// nearer than one already returned.
    #[name = c"strict_order"]
    StrictOrder,
}

/// `hnsw.iterative_scan` (default `off`).
pub static ITERATIVE_SCAN: GucSetting<IterativeScan> =
    GucSetting::<IterativeScan>::new(IterativeScan::Off);
/// `hnsw.max_scan_tuples`: elements an iterative scan visits at most (default 20000).
pub static MAX_SCAN_TUPLES: GucSetting<i32> = GucSetting::<i32>::new(20000);
/// `hnsw.scan_mem_multiplier`: an iterative scan's memory, in multiples of `work_mem`
/// (default 1, 1–1000).
pub static SCAN_MEM_MULTIPLIER: GucSetting<f64> = GucSetting::<f64>::new(1.0);

/// `hnsw.filter_in_scan` (ours, default on): an iterative scan evaluates the query's
/// filter on candidates itself when that is safe (`pg::scan_node`), so the rows it
/// returns are ones the filter passes.
pub static FILTER_IN_SCAN: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Registers the settings; called from `_PG_init` before the `hnsw` prefix is
/// reserved.
pub fn init() {
    GucRegistry::define_enum_guc(
        c"hnsw.iterative_scan",
        c"Sets whether and how index scans go on after their first ef_search results.",
        c"off, relaxed_order (rows nearly in distance order) or strict_order (never a nearer row after a farther one).",
        &ITERATIVE_SCAN,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"hnsw.max_scan_tuples",
        c"Sets the most elements an iterative scan visits.",
        c"Once reached, the scan returns what it holds and ends.",
        &MAX_SCAN_TUPLES,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"hnsw.scan_mem_multiplier",
        c"Sets the memory of an iterative scan, as a multiple of work_mem.",
        c"Once exceeded, the scan returns what it holds and ends.",
        &SCAN_MEM_MULTIPLIER,
        1.0,
        1000.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"hnsw.filter_in_scan",
        c"Sets whether iterative index scans evaluate the query's filter themselves.",
        c"Only filters of leakproof, non-volatile functions without subqueries; the executor still checks every row.",
        &FILTER_IN_SCAN,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// The limits of one iterative scan, read when it starts.
#[derive(Clone, Copy, Debug)]
pub struct ScanLimits {
    /// `relaxed_order` or `strict_order`.
    pub strict: bool,
    /// `hnsw.max_scan_tuples`: elements visited.
    pub max_tuples: usize,
    /// `work_mem` × `hnsw.scan_mem_multiplier`, in bytes.
    pub max_bytes: usize,
    /// `hnsw.filter_in_scan`.
    pub filter_in_scan: bool,
}

/// The current settings' limits, or `None` when `hnsw.iterative_scan` is `off`.
pub fn scan_limits() -> Option<ScanLimits> {
    let strict = match ITERATIVE_SCAN.get() {
        IterativeScan::Off => return None,
        IterativeScan::RelaxedOrder => false,
        IterativeScan::StrictOrder => true,
    };
    Some(ScanLimits {
        strict,
        max_tuples: MAX_SCAN_TUPLES.get().max(1) as usize,
        max_bytes: (crate::pg::work_mem() as f64 * SCAN_MEM_MULTIPLIER.get()) as usize,
        filter_in_scan: FILTER_IN_SCAN.get(),
    })
}
