//! Distance functions and vector arithmetic (the procedures behind `<->`, `<#>`,
//! `<=>`, `<+>`, `+`, `-`, `*`, `||`). Distances go through the kernel table chosen
//! at load time ([`crate::distance::kernels`]).

use super::datum::{Vector, VectorArg};
use super::error::OrReport;
use super::vector;
use crate::distance::kernels;
use pgrx::prelude::*;

fn same_dims<'a>(a: &'a VectorArg<'_>, b: &'a VectorArg<'_>) -> (&'a [f32], &'a [f32]) {
    vector::check_same_dims(a, b).or_report();
    (a, b)
}

/// `l2_distance(vector, vector)`, operator `<->`: Euclidean distance.
#[pg_extern(immutable, strict, parallel_safe)]
fn l2_distance(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    kernels().l2_squared(a, b).sqrt()
}

/// `vector_l2_squared_distance(vector, vector)`: squared Euclidean distance.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_l2_squared_distance(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    kernels().l2_squared(a, b)
}

/// `inner_product(vector, vector)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn inner_product(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    kernels().inner_product(a, b)
}

/// `vector_negative_inner_product(vector, vector)`, operator `<#>`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_negative_inner_product(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    -kernels().inner_product(a, b)
}

/// `cosine_distance(vector, vector)`, operator `<=>`: `1 - cos`; NaN with a zero vector.
#[pg_extern(immutable, strict, parallel_safe)]
fn cosine_distance(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    kernels().cosine_distance(a, b)
}

/// `l1_distance(vector, vector)`, operator `<+>`: Manhattan distance.
#[pg_extern(immutable, strict, parallel_safe)]
fn l1_distance(a: VectorArg<'_>, b: VectorArg<'_>) -> f64 {
    let (a, b) = same_dims(&a, &b);
    kernels().l1_distance(a, b)
}

/// `vector_dims(vector)`: the number of dimensions.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_dims(v: VectorArg<'_>) -> i32 {
    v.len() as i32
}

/// `vector_norm(vector)`: the Euclidean norm.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_norm(v: VectorArg<'_>) -> f64 {
    vector::norm(&v)
}

/// `l2_normalize(vector)`: the vector scaled to unit length (zero stays zero).
#[pg_extern(immutable, strict, parallel_safe)]
fn l2_normalize(v: VectorArg<'_>) -> Vector {
    Vector(vector::l2_normalize(&v).or_report())
}

/// `subvector(vector, start integer, count integer)`: 1-based slice.
#[pg_extern(immutable, strict, parallel_safe)]
fn subvector(v: VectorArg<'_>, start: i32, count: i32) -> Vector {
    Vector(vector::subvector(&v, start, count).or_report())
}

/// `vector_add(vector, vector)`, operator `+`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_add(a: VectorArg<'_>, b: VectorArg<'_>) -> Vector {
    Vector(vector::add(&a, &b).or_report())
}

/// `vector_sub(vector, vector)`, operator `-`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_sub(a: VectorArg<'_>, b: VectorArg<'_>) -> Vector {
    Vector(vector::sub(&a, &b).or_report())
}

/// `vector_mul(vector, vector)`, operator `*`: element-wise product.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_mul(a: VectorArg<'_>, b: VectorArg<'_>) -> Vector {
    Vector(vector::mul(&a, &b).or_report())
}

/// `vector_concat(vector, vector)`, operator `||`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_concat(a: VectorArg<'_>, b: VectorArg<'_>) -> Vector {
    Vector(vector::concat(&a, &b).or_report())
}

/// `pgvec_hnsw_simd()`: the instruction set of the distance kernels chosen at load
/// time (`avx512`, `avx2` or `portable`).
#[pg_extern(stable, parallel_safe)]
fn pgvec_hnsw_simd() -> &'static str {
    kernels().isa().name()
}
