//! Distances, norms and comparisons of `sparsevec` (the procedures behind
//! `<-> <#> <=> <+>` and `< <= = <> >= >`), under pgvector's names. The distances are
//! [`crate::distance::sparse`]'s merge walks.

use super::datum::{Sparsevec, SparsevecArg};
use super::SparseRef;
use crate::distance::sparse::{self, Sparse};
use crate::types::error::{OrReport, SqlType, VectorError};
use pgrx::prelude::*;
use std::cmp::Ordering;

/// Both operands' stored elements, after checking that their dimensions agree.
fn operands<'a>(a: &SparsevecArg<'a>, b: &SparsevecArg<'a>) -> (Sparse<'a>, Sparse<'a>) {
    let (a, b) = (a.get(), b.get());
    if a.dim != b.dim {
        VectorError::DifferentDimensions(a.dim as usize, b.dim as usize)
            .report_as(SqlType::Sparsevec);
    }
    ((a.indices, a.values), (b.indices, b.values))
}

/// `l2_distance(sparsevec, sparsevec)`, operator `<->`.
#[pg_extern(immutable, strict, parallel_safe, name = "l2_distance")]
fn sparsevec_l2_distance(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    sparse::l2_squared(a, b).sqrt()
}

/// `sparsevec_l2_squared_distance(sparsevec, sparsevec)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_l2_squared_distance(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    sparse::l2_squared(a, b)
}

/// `inner_product(sparsevec, sparsevec)`.
#[pg_extern(immutable, strict, parallel_safe, name = "inner_product")]
fn sparsevec_inner_product(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    sparse::inner_product(a, b)
}

/// `sparsevec_negative_inner_product(sparsevec, sparsevec)`, operator `<#>`.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_negative_inner_product(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    -sparse::inner_product(a, b)
}

/// `cosine_distance(sparsevec, sparsevec)`, operator `<=>`: `1 - cos`; NaN with a zero
/// vector.
#[pg_extern(immutable, strict, parallel_safe, name = "cosine_distance")]
fn sparsevec_cosine_distance(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    sparse::cosine_distance(a, b)
}

/// `l1_distance(sparsevec, sparsevec)`, operator `<+>`.
#[pg_extern(immutable, strict, parallel_safe, name = "l1_distance")]
fn sparsevec_l1_distance(a: SparsevecArg<'_>, b: SparsevecArg<'_>) -> f64 {
    let (a, b) = operands(&a, &b);
    sparse::l1_distance(a, b)
}

/// `l2_norm(sparsevec)`: the Euclidean norm, accumulated in f64.
#[pg_extern(immutable, strict, parallel_safe, name = "l2_norm")]
fn sparsevec_l2_norm(v: SparsevecArg<'_>) -> f64 {
    super::norm(v.get())
}

/// `l2_normalize(sparsevec)`: scaled to unit length (zero stays zero).
#[pg_extern(immutable, strict, parallel_safe, name = "l2_normalize")]
fn sparsevec_l2_normalize(v: SparsevecArg<'_>) -> Sparsevec {
    Sparsevec(super::l2_normalize(v.get()).or_report_as(SqlType::Sparsevec))
}

/// The B-tree order of two `sparsevec`s ([`super::compare`]).
fn compare(a: &SparsevecArg<'_>, b: &SparsevecArg<'_>) -> Ordering {
    let (a, b): (SparseRef<'_>, SparseRef<'_>) = (a.get(), b.get());
    super::compare(a, b)
}

crate::types::sql_compare::btree_comparisons!(
    SparsevecArg,
    compare,
    sparsevec_cmp,
    sparsevec_lt,
    sparsevec_le,
    sparsevec_eq,
    sparsevec_ne,
    sparsevec_ge,
    sparsevec_gt
);
