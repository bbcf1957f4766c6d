//! Distances, functions, arithmetic and comparisons of `halfvec` (the procedures
//! behind `<-> <#> <=> <+>`, `+ - * ||`, `< <= = <> >= >`), under pgvector's names.
//! Distances run the half kernels of the table chosen at load time
//! ([`crate::distance::kernels`]), which widen the halves in registers; comparisons
//! are exact on the half values.

use super::{mul, to_halves, via_f32};
use crate::distance::kernels;
use crate::types::datum::{Halfvec, HalfvecArg};
use crate::types::error::{OrReport, SqlType, VectorError};
use crate::types::half::{halves_to_f32, Half};
use crate::types::vector;
use pgrx::prelude::*;
use std::cmp::Ordering;

const HALFVEC: SqlType = SqlType::Halfvec;

/// Both operands, after checking that their dimensions agree.
fn operands<'a>(a: &'a HalfvecArg<'_>, b: &'a HalfvecArg<'_>) -> (&'a [Half], &'a [Half]) {
    if a.len() != b.len() {
        VectorError::DifferentDimensions(a.len(), b.len()).report_as(HALFVEC);
    }
    (a, b)
}

/// `l2_distance(halfvec, halfvec)`, operator `<->`.
#[pg_extern(immutable, strict, parallel_safe, name = "l2_distance")]
fn halfvec_l2_distance(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    kernels().l2_squared_half(a, b).sqrt()
}

/// `halfvec_l2_squared_distance(halfvec, halfvec)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_l2_squared_distance(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    kernels().l2_squared_half(a, b)
}

/// `inner_product(halfvec, halfvec)`.
#[pg_extern(immutable, strict, parallel_safe, name = "inner_product")]
fn halfvec_inner_product(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    kernels().inner_product_half(a, b)
}

/// `halfvec_negative_inner_product(halfvec, halfvec)`, operator `<#>`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_negative_inner_product(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    -kernels().inner_product_half(a, b)
}

/// `cosine_distance(halfvec, halfvec)`, operator `<=>`: `1 - cos`; NaN with a zero
/// vector.
#[pg_extern(immutable, strict, parallel_safe, name = "cosine_distance")]
fn halfvec_cosine_distance(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    kernels().cosine_distance_half(a, b)
}

/// `l1_distance(halfvec, halfvec)`, operator `<+>`.
#[pg_extern(immutable, strict, parallel_safe, name = "l1_distance")]
fn halfvec_l1_distance(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    kernels().l1_distance_half(a, b)
}

/// `vector_dims(halfvec)`: the number of dimensions.
#[pg_extern(immutable, strict, parallel_safe, name = "vector_dims")]
fn halfvec_vector_dims(v: HalfvecArg<'_>) -> i32 {
    v.len() as i32
}

/// `l2_norm(halfvec)`: the Euclidean norm, accumulated in f64.
#[pg_extern(immutable, strict, parallel_safe, name = "l2_norm")]
fn halfvec_l2_norm(v: HalfvecArg<'_>) -> f64 {
    vector::norm_of(v.iter().map(|h| h.to_f32()))
}

/// `l2_normalize(halfvec)`: scaled to unit length, rounded to halves (zero stays zero).
#[pg_extern(immutable, strict, parallel_safe, name = "l2_normalize")]
fn halfvec_l2_normalize(v: HalfvecArg<'_>) -> Halfvec {
    let unit = vector::l2_normalize(&halves_to_f32(&v)).or_report_as(HALFVEC);
    Halfvec(to_halves(&unit).or_report_as(HALFVEC))
}

/// `subvector(halfvec, start integer, count integer)`: 1-based slice.
#[pg_extern(immutable, strict, parallel_safe, name = "subvector")]
fn halfvec_subvector(v: HalfvecArg<'_>, start: i32, count: i32) -> Halfvec {
    Halfvec(vector::subvector(&v, start, count).or_report_as(HALFVEC))
}

/// `halfvec_add(halfvec, halfvec)`, operator `+`; a sum beyond ±65504 overflows.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_add(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> Halfvec {
    Halfvec(via_f32(&a, &b, vector::add).or_report_as(HALFVEC))
}

/// `halfvec_sub(halfvec, halfvec)`, operator `-`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_sub(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> Halfvec {
    Halfvec(via_f32(&a, &b, vector::sub).or_report_as(HALFVEC))
}

/// `halfvec_mul(halfvec, halfvec)`, operator `*`: element-wise product.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_mul(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> Halfvec {
    Halfvec(mul(&a, &b).or_report_as(HALFVEC))
}

/// `halfvec_concat(halfvec, halfvec)`, operator `||`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_concat(a: HalfvecArg<'_>, b: HalfvecArg<'_>) -> Halfvec {
    Halfvec(vector::concat(&a, &b).or_report_as(HALFVEC))
}

/// B-tree order of halfvecs: that of their values ([`vector::compare`]).
fn compare(a: &HalfvecArg<'_>, b: &HalfvecArg<'_>) -> Ordering {
    vector::compare_by(a, b, |h| h.to_f32())
}

crate::types::sql_compare::btree_comparisons!(
    HalfvecArg,
    compare,
    halfvec_cmp,
    halfvec_lt,
    halfvec_le,
    halfvec_eq,
    halfvec_ne,
    halfvec_ge,
    halfvec_gt
);
