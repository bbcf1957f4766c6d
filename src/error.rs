//! Raising PostgreSQL errors from any layer.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// `ereport(ERROR)` with `code`, `message` and an optional DETAIL; does not return.
#[track_caller]
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, detail: Option<String>) -> ! {
    let mut report = ErrorReport::new(code, message.into(), "");
    if let Some(detail) = detail {
        report = report.set_detail(detail);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// Raises `ERRCODE_DATA_CORRUPTED` for a datum of `type_name` whose bytes do not
/// describe a value of it (which only a cast `WITHOUT FUNCTION` or a damaged page
/// makes): `invalid {type_name} value: {what}`.
pub fn corrupt_datum(type_name: &str, what: String) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!("invalid {type_name} value: {what}"),
        None,
    )
}
