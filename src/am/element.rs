//! What the elements of an hnsw index are: the operator class's [`Metric`] (from the
//! type it indexes and its support function 1), the column's dimensions and their
//! limit, and a column value (or an ORDER BY argument) as the lanes the index stores
//! ([`crate::distance::lanes`]): as many as the dimensions ask, or for a `sparsevec`
//! two per non-zero element (at most [`MAX_SPARSE_NNZ`] of them in a row).

use crate::distance::lanes;
use crate::error::raise;
use crate::hnsw::metric::{ElementType, MAX_SPARSE_NNZ};
use crate::hnsw::Metric;
use crate::types::bit::datum::BitArg;
use crate::types::datum::{HalfvecArg, VectorArg};
use crate::types::error::{SqlType, VectorError};
use crate::types::sparsevec::datum::SparsevecArg;
use pgrx::{pg_sys, PgSqlErrorCode};
use std::ffi::CStr;

/// The most dimensions an index of `t` accepts: 16,000 of `vector` and of `halfvec`
/// (every value of either type; pgvector's index takes 2,000 and 4,000), 64,000 bits
/// (pgvector's limit), every `sparsevec` (1,000,000,000; its rows are limited in
/// non-zero elements instead, [`MAX_SPARSE_NNZ`]). Elements of more than
/// [`INLINE_LANES`](crate::storage::tuple::INLINE_LANES) lanes keep them in a chain of
/// pages (`storage::chain`).
pub fn max_dimensions(t: ElementType) -> usize {
    match t {
        ElementType::Vector | ElementType::Halfvec => MAX_LANES,
        ElementType::Bit => 64_000,
        ElementType::Sparsevec => crate::types::SPARSEVEC_MAX_DIM,
    }
}

/// The most lanes an element has: 16,000 dimensions of `vector` (of `halfvec` 8,000,
/// of `bit` 2,000).
pub const MAX_LANES: usize = 16_000;

/// The name of a function, palloc'd by PostgreSQL, copied.
fn function_name(oid: pg_sys::Oid) -> String {
    // SAFETY: get_func_name returns NULL for a missing function, else a palloc'd
    // NUL-terminated name.
    unsafe {
        let name = pg_sys::get_func_name(oid);
        if name.is_null() {
            return String::new();
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// The element type of an index on values of type `oid`, known by the type's input
/// function (`vector_in`, `halfvec_in`, `bit_in`, `sparsevec_in`): our types have no
/// fixed OIDs.
fn element_type(oid: pg_sys::Oid) -> Option<ElementType> {
    let mut input = pg_sys::InvalidOid;
    let mut ioparam = pg_sys::InvalidOid;
    // SAFETY: getTypeInputInfo writes both outputs, erroring for an unknown type.
    unsafe { pg_sys::getTypeInputInfo(oid, &mut input, &mut ioparam) };
    match function_name(input).as_str() {
        "vector_in" => Some(ElementType::Vector),
        "halfvec_in" => Some(ElementType::Halfvec),
        "bit_in" => Some(ElementType::Bit),
        "sparsevec_in" => Some(ElementType::Sparsevec),
        _ => None,
    }
}

/// The metric of the index's operator class, from the type it indexes and its support
/// functions: function 1 is the distance, function 2 (cosine only) the norm.
///
/// # Errors
/// `ERRCODE_FEATURE_NOT_SUPPORTED`: `type not supported for hnsw index` for a `bit
/// varying` column (as pgvector), `hnsw does not support the distance function …`
/// for an operator class of another type or distance.
pub(crate) fn index_metric(index: pg_sys::Relation) -> Metric {
    // SAFETY: an hnsw index has one key column (attnum 1) and `amsupport` = 2, so both
    // lookups are in range (a missing function is InvalidOid, which `function_name`
    // reads as no name); `rd_opcintype` has an entry per key column.
    let (distance, has_norm, input_type) = unsafe {
        (
            pg_sys::index_getprocid(index, 1, 1),
            pg_sys::index_getprocid(index, 1, 2) != pg_sys::InvalidOid,
            *(*index).rd_opcintype,
        )
    };
    if crate::pg::first_column_type(index) == pg_sys::VARBITOID {
        // `bit varying` is binary-coercible to `bit`, but its values differ in length.
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "type not supported for hnsw index",
            None,
        );
    }
    let name = function_name(distance);
    let metric = match (element_type(input_type), name.as_str(), has_norm) {
        (Some(ElementType::Vector), "vector_l2_squared_distance", _) => Some(Metric::L2),
        (Some(ElementType::Vector), "vector_negative_inner_product", true) => Some(Metric::Cosine),
        (Some(ElementType::Vector), "vector_negative_inner_product", false) => {
            Some(Metric::InnerProduct)
        }
        (Some(ElementType::Vector), "l1_distance", _) => Some(Metric::L1),
        (Some(ElementType::Halfvec), "halfvec_l2_squared_distance", _) => Some(Metric::HalfL2),
        (Some(ElementType::Halfvec), "halfvec_negative_inner_product", true) => {
            Some(Metric::HalfCosine)
        }
        (Some(ElementType::Halfvec), "halfvec_negative_inner_product", false) => {
            Some(Metric::HalfInnerProduct)
        }
        (Some(ElementType::Halfvec), "l1_distance", _) => Some(Metric::HalfL1),
        (Some(ElementType::Bit), "hamming_distance", _) => Some(Metric::Hamming),
        (Some(ElementType::Bit), "jaccard_distance", _) => Some(Metric::Jaccard),
        (Some(ElementType::Sparsevec), "sparsevec_l2_squared_distance", _) => {
            Some(Metric::SparseL2)
        }
        (Some(ElementType::Sparsevec), "sparsevec_negative_inner_product", true) => {
            Some(Metric::SparseCosine)
        }
        (Some(ElementType::Sparsevec), "sparsevec_negative_inner_product", false) => {
            Some(Metric::SparseInnerProduct)
        }
        (Some(ElementType::Sparsevec), "l1_distance", _) => Some(Metric::SparseL1),
        _ => None,
    };
    metric.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("hnsw does not support the distance function {name}"),
            None,
        )
    })
}

/// The dimensions of the indexed column (its `vector(n)`, `halfvec(n)`, `bit(n)` or
/// `sparsevec(n)` typmod), for elements of type `t`.
///
/// # Errors
/// `column does not have dimensions`; `column cannot have more than 16000 dimensions
/// for hnsw index` (64000 for `bit`), as pgvector words them.
pub(crate) fn index_dimensions(index: pg_sys::Relation, t: ElementType) -> usize {
    let typmod = crate::pg::first_column_typmod(index);
    if typmod < 1 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "column does not have dimensions",
            None,
        );
    }
    let max = max_dimensions(t);
    if typmod as usize > max {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("column cannot have more than {max} dimensions for hnsw index"),
            None,
        );
    }
    typmod as usize
}

/// A value of the index's type: its dimensions and its lanes, as the column holds it
/// (not yet [`Metric::prepare`]d).
///
/// # Safety
/// `datum` must be a non-null datum of the type of `metric`'s elements (the index's
/// column; a `bit varying` one is refused when the index is built), valid for the
/// call.
pub(crate) unsafe fn value_lanes(metric: Metric, datum: pg_sys::Datum) -> (usize, Vec<f32>) {
    // SAFETY: the caller guarantees the datum's type.
    unsafe {
        match metric.element_type() {
            ElementType::Vector => {
                let v = VectorArg::from_datum(datum);
                (v.len(), v.to_vec())
            }
            ElementType::Halfvec => {
                let v = HalfvecArg::from_datum(datum);
                (v.len(), lanes::from_halves(&v))
            }
            ElementType::Bit => {
                let v = BitArg::from_datum(datum);
                (v.len(), lanes::from_bytes(v.bytes()))
            }
            ElementType::Sparsevec => {
                let v = SparsevecArg::from_datum(datum).get();
                (v.dim as usize, lanes::from_sparse(v.indices, v.values))
            }
        }
    }
}

/// A row's value as the index stores it (normalised for cosine); `None` for a row the
/// index skips (a zero vector under cosine).
///
/// # Errors
/// `expected {dim} dimensions, not {n}` when the value does not match the column;
/// `sparsevec cannot have more than 1000 non-zero elements for hnsw index`
/// (`ERRCODE_PROGRAM_LIMIT_EXCEEDED`; pgvector's words).
///
/// # Safety
/// As [`value_lanes`].
pub(crate) unsafe fn row_element(
    metric: Metric,
    dim: usize,
    datum: pg_sys::Datum,
) -> Option<Vec<f32>> {
    // SAFETY: passed on from the caller.
    let (n, v) = unsafe { value_lanes(metric, datum) };
    if n != dim {
        VectorError::ExpectedDimensions {
            expected: dim as i32,
            actual: n,
        }
        .report_as(sql_type(metric.element_type()));
    }
    if metric.element_type() == ElementType::Sparsevec && v.len() > 2 * MAX_SPARSE_NNZ {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "sparsevec cannot have more than {MAX_SPARSE_NNZ} non-zero elements for hnsw index"
            ),
            None,
        );
    }
    let mut v = v;
    metric.prepare(&mut v).then_some(v)
}

/// A search's query as the index measures it: an ORDER BY argument prepared like a
/// row, except that a zero vector under cosine is searched as it is (at the same
/// distance from every element; pgvector returns rows too).
///
/// # Errors
/// `different vector dimensions {n} and {dim}` (`different halfvec dimensions`,
/// `different sparsevec dimensions` for those types), `different bit lengths {n} and
/// {dim}`: the query's length first, as pgvector's scan calls the distance function
/// with the query first. A query may have any number of non-zero elements.
///
/// # Safety
/// As [`value_lanes`].
pub(crate) unsafe fn query_element(metric: Metric, dim: usize, datum: pg_sys::Datum) -> Vec<f32> {
    // SAFETY: passed on from the caller.
    let (n, v) = unsafe { value_lanes(metric, datum) };
    if n != dim {
        match metric.element_type() {
            ElementType::Bit => raise(
                PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
                format!("different bit lengths {n} and {dim}"),
                None,
            ),
            t => VectorError::DifferentDimensions(n, dim).report_as(sql_type(t)),
        }
    }
    let mut v = v;
    metric.prepare(&mut v);
    v
}

/// The query of an ORDER BY argument that is NULL: a zero vector (of the index's
/// lanes; a `sparsevec` one stores nothing). The scan returns every row, as
/// pgvector's does.
pub(crate) fn null_query(meta: &crate::storage::meta::Meta) -> Vec<f32> {
    vec![0.0; meta.least_lanes()]
}

/// The SQL type whose words name errors about elements of `t`.
fn sql_type(t: ElementType) -> SqlType {
    match t {
        ElementType::Halfvec => SqlType::Halfvec,
        ElementType::Sparsevec => SqlType::Sparsevec,
        ElementType::Vector | ElementType::Bit => SqlType::Vector,
    }
}
