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
