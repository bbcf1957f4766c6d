//! Transition functions of `avg(vector)` and `sum(vector)`.
//!
//! `avg` keeps a `double precision[]` state `{n, Σx₁, …, Σx_d}` (pgvector's layout,
//! initial `{0}`), combinable for parallel aggregation; `sum` uses `vector_add` as its
//! transition and combine function. Both return NULL for no rows.

use super::datum::{Vector, VectorArg};
use super::error::{OrReport, SqlType, VectorError};
use super::vector;
use pgrx::datum::Array;
use pgrx::prelude::*;

/// The `avg` state as numbers (pgvector's states hold no NULLs).
pub(super) fn state(array: &Array<'_, f64>) -> Vec<f64> {
    array.iter().map(|x| x.unwrap_or(0.0)).collect()
}

/// Adds `b` into `a` element-wise; `a = {n, sums…}` with `n = 0` takes `b` whole.
/// States of other dimensions are an error in pgvector's words (`expected N
/// dimensions, not M`, N the state's); errors are raised as about type `ty`.
pub(super) fn merge(mut a: Vec<f64>, b: &[f64], ty: SqlType) -> Vec<f64> {
    if a[0] == 0.0 {
        return b.to_vec();
    }
    if b[0] == 0.0 {
        return a;
    }
    if a.len() != b.len() {
        VectorError::ExpectedDimensions {
            expected: (a.len() - 1) as i32,
            actual: b.len() - 1,
        }
        .report_as(ty);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    if a.iter().any(|x| x.is_infinite()) {
        VectorError::Overflow.report_as(ty);
    }
    a
}

/// `vector_accum(double precision[], vector)`: adds one vector to the `avg` state.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_accum(state_in: Array<'_, f64>, v: VectorArg<'_>) -> Vec<f64> {
    let row: Vec<f64> = std::iter::once(1.0)
        .chain(v.iter().map(|&x| f64::from(x)))
        .collect();
    merge(state(&state_in), &row, SqlType::Vector)
}

/// `vector_combine(double precision[], double precision[])`: merges two `avg` states.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_combine(a: Array<'_, f64>, b: Array<'_, f64>) -> Vec<f64> {
    merge(state(&a), &state(&b), SqlType::Vector)
}

/// `vector_avg(double precision[])`: the final function of `avg`; NULL for no rows.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_avg(state_in: Array<'_, f64>) -> Option<Vector> {
    let avg = average(&state(&state_in))?;
    vector::check_vector(&avg, -1).or_report();
    Some(Vector(avg))
}

/// The mean of an `avg` state `{n, sums…}`, as `f32`s; `None` for no rows.
pub(super) fn average(state: &[f64]) -> Option<Vec<f32>> {
    let n = state[0];
    (n != 0.0).then(|| state[1..].iter().map(|&x| (x / n) as f32).collect())
}
