//! User-facing errors of the `vector` type, worded as pgvector words them.
//!
//! Parsing and checking code returns [`VectorError`]; the SQL functions turn it into an
//! `ereport(ERROR)` with the SQLSTATE of [`VectorError::sqlstate`] via
//! [`VectorError::report`], so a user never sees a Rust panic or SQLSTATE XX000 for a
//! mistake in their input.

use super::MAX_DIM;
use pgrx::PgSqlErrorCode;

/// A mistake in a `vector` value or in an operation on vectors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    /// Text input that is not `[x, y, …]`; `detail` says what was wrong where known.
    #[error("invalid input syntax for type vector: \"{input}\"")]
    Syntax {
        input: String,
        detail: Option<&'static str>,
    },
    /// A finite literal too large for `real`, e.g. `1e39`.
    #[error("\"{0}\" is out of range for type vector")]
    ElementOutOfRange(String),
    #[error("NaN not allowed in vector")]
    NaN,
    #[error("infinite value not allowed in vector")]
    Infinite,
    /// The value does not have the dimensions of its column's `vector(n)` typmod.
    #[error("expected {expected} dimensions, not {actual}")]
    ExpectedDimensions { expected: i32, actual: usize },
    /// Two operands of a binary operation differ in dimensions.
    #[error("different vector dimensions {0} and {1}")]
    DifferentDimensions(usize, usize),
    #[error("vector must have at least 1 dimension")]
    NoDimensions,
    #[error("vector cannot have more than {MAX_DIM} dimensions")]
    TooManyDimensions,
    #[error("dimensions for type vector must be at least 1")]
    TypmodTooSmall,
    #[error("dimensions for type vector cannot exceed {MAX_DIM}")]
    TypmodTooLarge,
    #[error("invalid type modifier")]
    InvalidTypmod,
    #[error("array must be 1-D")]
    ArrayNotOneDimensional,
    #[error("array must not contain nulls")]
    ArrayContainsNulls,
    /// An array of an element type other than integer, real, double precision, numeric.
    #[error("unsupported array type")]
    UnsupportedArrayType,
    #[error("value out of range: overflow")]
    Overflow,
    #[error("value out of range: underflow")]
    Underflow,
    /// Binary input whose reserved field is not zero.
    #[error("expected unused to be 0, not {0}")]
    UnusedNotZero(i16),
    /// Binary input with a negative or missing element count.
    #[error("invalid binary representation for type vector: {0}")]
    BinaryFormat(&'static str),
}

impl VectorError {
    /// The SQLSTATE PostgreSQL reports for this error (same as pgvector).
    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use PgSqlErrorCode::*;
        match self {
            VectorError::Syntax { .. } => ERRCODE_INVALID_TEXT_REPRESENTATION,
            VectorError::ElementOutOfRange(_) | VectorError::Overflow | VectorError::Underflow => {
                ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE
            }
            VectorError::NaN
            | VectorError::Infinite
            | VectorError::ExpectedDimensions { .. }
            | VectorError::DifferentDimensions(..)
            | VectorError::NoDimensions
            | VectorError::ArrayNotOneDimensional
            | VectorError::UnsupportedArrayType => ERRCODE_DATA_EXCEPTION,
            VectorError::TooManyDimensions => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            VectorError::TypmodTooSmall
            | VectorError::TypmodTooLarge
            | VectorError::InvalidTypmod => ERRCODE_INVALID_PARAMETER_VALUE,
            VectorError::ArrayContainsNulls => ERRCODE_NULL_VALUE_NOT_ALLOWED,
            VectorError::UnusedNotZero(_) | VectorError::BinaryFormat(_) => {
                ERRCODE_INVALID_BINARY_REPRESENTATION
            }
        }
    }

    /// The DETAIL line, where the error has one.
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            VectorError::Syntax { detail, .. } => *detail,
            _ => None,
        }
    }

    /// Raises this error as `ereport(ERROR)`; does not return.
    pub fn report(self) -> ! {
        let mut report =
            pgrx::pg_sys::panic::ErrorReport::new(self.sqlstate(), self.to_string(), "");
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        report.report(pgrx::PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) returned")
    }
}

/// `Result::unwrap` for SQL functions: the value, or the error raised as `ereport`.
pub trait OrReport<T> {
    /// Returns the value or raises the error with [`VectorError::report`].
    fn or_report(self) -> T;
}

impl<T> OrReport<T> for Result<T, VectorError> {
    #[inline]
    fn or_report(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => e.report(),
        }
    }
}
