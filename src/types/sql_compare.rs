//! Comparison functions behind `< <= = <> >= >` and the default B-tree operator class:
//! element-wise order, then the shorter vector first (as pgvector).

use super::datum::VectorArg;
use super::vector::compare;
use pgrx::prelude::*;
use std::cmp::Ordering;

/// `vector_cmp(vector, vector)`: B-tree support function 1 (-1, 0 or 1).
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_cmp(a: VectorArg<'_>, b: VectorArg<'_>) -> i32 {
    compare(&a, &b) as i32
}

/// `vector_lt(vector, vector)`, operator `<`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_lt(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) == Ordering::Less
}

/// `vector_le(vector, vector)`, operator `<=`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_le(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) != Ordering::Greater
}

/// `vector_eq(vector, vector)`, operator `=`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_eq(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) == Ordering::Equal
}

/// `vector_ne(vector, vector)`, operator `<>`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_ne(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) != Ordering::Equal
}

/// `vector_ge(vector, vector)`, operator `>=`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_ge(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) != Ordering::Less
}

/// `vector_gt(vector, vector)`, operator `>`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_gt(a: VectorArg<'_>, b: VectorArg<'_>) -> bool {
    compare(&a, &b) == Ordering::Greater
}
