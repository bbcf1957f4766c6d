//! Transition functions of `avg(halfvec)` and `sum(halfvec)`: the state of
//! `avg(vector)` (`double precision[]` `{n, Σx₁, …, Σx_d}`), the same merge
//! ([`crate::types::sql_aggregates`]); `sum` uses `halfvec_add`.

use super::to_halves;
use crate::types::datum::{Halfvec, HalfvecArg};
use crate::types::error::{OrReport, SqlType};
use crate::types::sql_aggregates::{average, merge, state};
use pgrx::datum::Array;
use pgrx::prelude::*;

/// `halfvec_accum(double precision[], halfvec)`: adds one halfvec to the `avg` state.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_accum(state_in: Array<'_, f64>, v: HalfvecArg<'_>) -> Vec<f64> {
    let row: Vec<f64> = std::iter::once(1.0)
        .chain(v.iter().map(|h| f64::from(h.to_f32())))
        .collect();
    merge(state(&state_in), &row, SqlType::Halfvec)
}

/// `halfvec_combine(double precision[], double precision[])`: merges two `avg` states.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_combine(a: Array<'_, f64>, b: Array<'_, f64>) -> Vec<f64> {
    merge(state(&a), &state(&b), SqlType::Halfvec)
}

/// `halfvec_avg(double precision[])`: the final function of `avg`; NULL for no rows.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_avg(state_in: Array<'_, f64>) -> Option<Halfvec> {
    let avg = average(&state(&state_in))?;
    Some(Halfvec(to_halves(&avg).or_report_as(SqlType::Halfvec)))
}
