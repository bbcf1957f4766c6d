//! User-facing errors of the `vector`, `halfvec` and `sparsevec` types, worded as
//! pgvector words them (its `vector.c`, `halfvec.c` and `sparsevec.c`).
//!
//! Parsing and checking code returns [`VectorError`]; the SQL functions turn it into an
//! `ereport(ERROR)` with the SQLSTATE of [`VectorError::sqlstate`] via
//! [`VectorError::report`], so a user never sees a Rust panic or SQLSTATE XX000 for a
//! mistake in their input.

use super::{MAX_DIM, SPARSEVEC_MAX_DIM, SPARSEVEC_MAX_NNZ};
use pgrx::PgSqlErrorCode;

/// The SQL type whose value or operation an error is about, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `vector`: `float4` elements.
    Vector,
    /// `halfvec`: IEEE binary16 elements.
    Halfvec,
    /// `sparsevec`: `float4` values at sorted indices.
    Sparsevec,
}

impl SqlType {
    /// The type's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            SqlType::Vector => "vector",
            SqlType::Halfvec => "halfvec",
            SqlType::Sparsevec => "sparsevec",
        }
    }

    /// The type's largest number of dimensions: 16,000 for `vector` and `halfvec`,
    /// 1,000,000,000 for `sparsevec` (pgvector's `*_MAX_DIM`).
    pub fn max_dim(self) -> usize {
        match self {
            SqlType::Vector | SqlType::Halfvec => MAX_DIM,
            SqlType::Sparsevec => SPARSEVEC_MAX_DIM,
        }
    }
}

/// A mistake in a `vector`, `halfvec` or `sparsevec` value or in an operation on them. The same
/// checks serve both types; the words name the type at [`VectorError::message`].
#[derive(Debug, Clone, PartialEq)]
pub enum VectorError {
    /// Text input that is not `[x, y, …]`; `detail` says what was wrong where known.
    Syntax {
        input: String,
        detail: Option<&'static str>,
    },
    /// A finite literal too large for the element type, e.g. `1e39` (`real`) or
    /// `65520` (`half`).
    ElementOutOfRange(String),
    NaN,
    Infinite,
    /// The value does not have the dimensions of its column's `vector(n)` typmod.
    ExpectedDimensions {
        expected: i32,
        actual: usize,
    },
    /// Two operands of a binary operation differ in dimensions.
    DifferentDimensions(usize, usize),
    NoDimensions,
    TooManyDimensions,
    TypmodTooSmall,
    TypmodTooLarge,
    InvalidTypmod,
    ArrayNotOneDimensional,
    ArrayContainsNulls,
    /// An array of an element type other than integer, real, double precision, numeric.
    UnsupportedArrayType,
    Overflow,
    Underflow,
    /// Binary input whose reserved field is not zero.
    UnusedNotZero(i32),
    /// Binary input that ends before its last element.
    InsufficientData,
    /// A `sparsevec` index below 1 or above the dimensions (0-based: outside `0..dim`).
    IndexOutOfBounds,
    /// `sparsevec` binary input whose indices are not increasing.
    IndicesNotAscending,
    DuplicateIndices,
    /// More than 16,000 non-zero `sparsevec` elements.
    TooManyNonZero,
    NegativeNonZeroCount,
    /// A `sparsevec` with more non-zero elements than dimensions.
    MoreElementsThanDimensions,
    /// `sparsevec` binary input that stores a zero.
    ZeroInBinary,
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
            VectorError::UnusedNotZero(_)
            | VectorError::IndexOutOfBounds
            | VectorError::IndicesNotAscending
            | VectorError::DuplicateIndices
            | VectorError::NegativeNonZeroCount
            | VectorError::ZeroInBinary => ERRCODE_DATA_EXCEPTION,
            VectorError::TooManyNonZero | VectorError::MoreElementsThanDimensions => {
                ERRCODE_PROGRAM_LIMIT_EXCEEDED
            }
            // What PostgreSQL's pq_getmsg* functions raise (pgvector reads with them).
            VectorError::InsufficientData => ERRCODE_PROTOCOL_VIOLATION,
        }
    }

    /// The message, in pgvector's words for values of type `ty`.
    pub fn message(&self, ty: SqlType) -> String {
        let t = ty.name();
        match self {
            VectorError::Syntax { input, .. } => {
                format!("invalid input syntax for type {t}: \"{input}\"")
            }
            VectorError::ElementOutOfRange(token) => {
                format!("\"{token}\" is out of range for type {t}")
            }
            VectorError::NaN => format!("NaN not allowed in {t}"),
            VectorError::Infinite => format!("infinite value not allowed in {t}"),
            VectorError::ExpectedDimensions { expected, actual } => {
                format!("expected {expected} dimensions, not {actual}")
            }
            VectorError::DifferentDimensions(a, b) => {
                format!("different {t} dimensions {a} and {b}")
            }
            VectorError::NoDimensions => format!("{t} must have at least 1 dimension"),
            VectorError::TooManyDimensions => {
                format!("{t} cannot have more than {} dimensions", ty.max_dim())
            }
            VectorError::TypmodTooSmall => format!("dimensions for type {t} must be at least 1"),
            VectorError::TypmodTooLarge => {
                format!("dimensions for type {t} cannot exceed {}", ty.max_dim())
            }
            VectorError::InvalidTypmod => "invalid type modifier".into(),
            VectorError::ArrayNotOneDimensional => "array must be 1-D".into(),
            VectorError::ArrayContainsNulls => "array must not contain nulls".into(),
            VectorError::UnsupportedArrayType => "unsupported array type".into(),
            VectorError::Overflow => "value out of range: overflow".into(),
            VectorError::Underflow => "value out of range: underflow".into(),
            VectorError::UnusedNotZero(n) => format!("expected unused to be 0, not {n}"),
            VectorError::InsufficientData => "insufficient data left in message".into(),
            VectorError::IndexOutOfBounds => format!("{t} index out of bounds"),
            VectorError::IndicesNotAscending => format!("{t} indices must be in ascending order"),
            VectorError::DuplicateIndices => format!("{t} indices must not contain duplicates"),
            VectorError::TooManyNonZero => {
                format!("{t} cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements")
            }
            VectorError::NegativeNonZeroCount => {
                format!("{t} cannot have negative number of elements")
            }
            VectorError::MoreElementsThanDimensions => {
                format!("{t} cannot have more elements than dimensions")
            }
            VectorError::ZeroInBinary => {
                format!("binary representation of {t} cannot contain zero values")
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

    /// Raises this error, about a `vector`, as `ereport(ERROR)`; does not return.
    pub fn report(self) -> ! {
        self.report_as(SqlType::Vector)
    }

    /// Raises this error, about a value of type `ty`, as `ereport(ERROR)`.
    pub fn report_as(self, ty: SqlType) -> ! {
        let mut report =
            pgrx::pg_sys::panic::ErrorReport::new(self.sqlstate(), self.message(ty), "");
        if let Some(detail) = self.detail() {
            report = report.set_detail(detail);
        }
        report.report(pgrx::PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) returned")
    }
}

impl std::fmt::Display for VectorError {
    /// The message about a `vector` ([`VectorError::message`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(SqlType::Vector))
    }
}

impl std::error::Error for VectorError {}

/// `Result::unwrap` for SQL functions: the value, or the error raised as `ereport`.
pub trait OrReport<T> {
    /// Returns the value or raises the error about a `vector`.
    fn or_report(self) -> T;
    /// Returns the value or raises the error about a value of type `ty`.
    fn or_report_as(self, ty: SqlType) -> T;
}

impl<T> OrReport<T> for Result<T, VectorError> {
    #[inline]
    fn or_report(self) -> T {
        self.or_report_as(SqlType::Vector)
    }

    #[inline]
    fn or_report_as(self, ty: SqlType) -> T {
        match self {
            Ok(v) => v,
            Err(e) => e.report_as(ty),
        }
    }
}
