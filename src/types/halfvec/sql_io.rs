//! Input, output, type modifier and cast functions of `halfvec` (PostgreSQL docs,
//! "CREATE TYPE"; pgvector's `halfvec.c`).

use super::cast_checked;
use crate::types::datum::{array_to_floats, recv_buffer, Halfvec, HalfvecArg, Vector, VectorArg};
use crate::types::error::{OrReport, SqlType};
use crate::types::half::halves_to_f32;
use crate::types::{text, vector};
use pgrx::datum::{AnyArray, Array, Internal};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

const HALFVEC: SqlType = SqlType::Halfvec;

/// `halfvec_in(cstring, oid, integer)`: text input `[1,2,3]`, checked against the typmod.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_in(input: &CStr, _typoid: pg_sys::Oid, typmod: i32) -> Halfvec {
    let input = input.to_string_lossy();
    let elements = text::parse_half(&input).or_report_as(HALFVEC);
    vector::check_typmod(typmod, elements.len()).or_report_as(HALFVEC);
    Halfvec(elements)
}

/// `halfvec_out(halfvec)`: each half printed as the shortest `real` that reads back to
/// it, as pgvector prints it.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_out(v: HalfvecArg<'_>) -> CString {
    CString::new(text::format(&halves_to_f32(&v))).expect("formatted halfvec has no NUL byte")
}

/// `halfvec_typmod_in(cstring[])`: the `n` of `halfvec(n)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_typmod_in(list: Array<'_, &CStr>) -> i32 {
    crate::types::sql_io::typmod_in(list, crate::types::MAX_DIM).or_report_as(HALFVEC)
}

/// `halfvec_recv(internal, oid, integer)`: binary input, validated like text input.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_recv(mut buf: Internal, _typoid: pg_sys::Oid, typmod: i32) -> Halfvec {
    // SAFETY: PostgreSQL passes the StringInfo of the binary message as `internal`.
    let buf = unsafe { buf.get_mut::<pg_sys::StringInfoData>() }.expect("recv buffer");
    // SAFETY: `buf` is that StringInfo.
    let bytes = unsafe { recv_buffer(buf) };
    let (elements, used) = super::from_binary(bytes, typmod).or_report_as(HALFVEC);
    buf.cursor += used as i32;
    Halfvec(elements)
}

/// `halfvec_send(halfvec)`: `int16 dim, int16 unused, dim × binary16`, network order.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_send(v: HalfvecArg<'_>) -> Vec<u8> {
    super::to_binary(&v)
}

/// `halfvec(halfvec, integer, boolean)`: the length coercion behind `::halfvec(n)`.
#[pg_extern(immutable, strict, parallel_safe, name = "halfvec")]
fn halfvec_coerce(v: HalfvecArg<'_>, typmod: i32, _explicit: bool) -> Halfvec {
    vector::check_typmod(typmod, v.len()).or_report_as(HALFVEC);
    Halfvec(v.to_vec())
}

/// `array_to_halfvec(integer[] | real[] | double precision[] | numeric[], integer,
/// boolean)`: the assignment casts from arrays; values round to the nearest half.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = r#"
CREATE FUNCTION array_to_halfvec(integer[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_halfvec(real[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_halfvec(double precision[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_halfvec(numeric[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
"#
)]
fn array_to_halfvec(array: AnyArray, typmod: i32, _explicit: bool) -> Halfvec {
    let values = array_to_floats(&array).or_report_as(HALFVEC);
    Halfvec(cast_checked(&values, typmod).or_report_as(HALFVEC))
}

/// `halfvec_to_float4(halfvec, integer, boolean)`: the cast to `real[]`.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_to_float4(v: HalfvecArg<'_>, _typmod: i32, _explicit: bool) -> Vec<f32> {
    halves_to_f32(&v)
}

/// `vector_to_halfvec(vector, integer, boolean)`: the implicit cast `vector → halfvec`;
/// a value beyond ±65504 is out of range.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_to_halfvec(v: VectorArg<'_>, typmod: i32, _explicit: bool) -> Halfvec {
    Halfvec(cast_checked(&v, typmod).or_report_as(HALFVEC))
}

/// `halfvec_to_vector(halfvec, integer, boolean)`: the assignment cast `halfvec →
/// vector` (exact).
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_to_vector(v: HalfvecArg<'_>, typmod: i32, _explicit: bool) -> Vector {
    vector::check_typmod(typmod, v.len()).or_report();
    Vector(halves_to_f32(&v))
}
