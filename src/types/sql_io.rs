//! Input, output, type modifier and cast functions of `vector`
//! (PostgreSQL docs, "CREATE TYPE": input/output/receive/send/typmod functions).

use super::datum::{array_to_floats, recv_buffer, Vector, VectorArg};
use super::error::{OrReport, VectorError};
use super::{text, vector, MAX_DIM};
use pgrx::datum::{AnyArray, Array, Internal};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

/// `vector_in(cstring, oid, integer)`: text input `[1,2,3]`, checked against the typmod.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_in(input: &CStr, _typoid: pg_sys::Oid, typmod: i32) -> Vector {
    let input = input.to_string_lossy();
    let elements = text::parse(&input).or_report();
    vector::check_typmod(typmod, elements.len()).or_report();
    Vector(elements)
}

/// `vector_out(vector)`: `[1,2.5,-0.03]`, shortest round-trip digits, no spaces.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_out(v: VectorArg<'_>) -> CString {
    CString::new(text::format(&v)).expect("formatted vector has no NUL byte")
}

/// `vector_typmod_in(cstring[])`: the `n` of `vector(n)`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_typmod_in(list: Array<'_, &CStr>) -> i32 {
    typmod_in(list, MAX_DIM).or_report()
}

/// The `n` of a `vector(n)`, `halfvec(n)` or `sparsevec(n)` type modifier list, at most
/// `max`.
pub(crate) fn typmod_in(list: Array<'_, &CStr>, max: usize) -> Result<i32, VectorError> {
    let mods: Vec<i32> = list
        .iter()
        .map(|m| {
            m.and_then(|s| s.to_str().ok()?.trim().parse().ok())
                .ok_or(VectorError::InvalidTypmod)
        })
        .collect::<Result<_, _>>()?;
    vector::parse_typmod(&mods, max)
}

/// `vector_typmod_out(integer)`: `(n)`, or nothing without a typmod.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_typmod_out(typmod: i32) -> CString {
    let s = if typmod < 0 {
        String::new()
    } else {
        format!("({typmod})")
    };
    CString::new(s).expect("no NUL byte")
}

/// `vector_recv(internal, oid, integer)`: binary input, validated like text input.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_recv(mut buf: Internal, _typoid: pg_sys::Oid, typmod: i32) -> Vector {
    // SAFETY: PostgreSQL passes the StringInfo of the binary message as `internal`.
    let buf = unsafe { buf.get_mut::<pg_sys::StringInfoData>() }.expect("recv buffer");
    // SAFETY: `buf` is that StringInfo.
    let bytes = unsafe { recv_buffer(buf) };
    let (elements, used) = vector::from_binary(bytes, typmod).or_report();
    buf.cursor += used as i32;
    Vector(elements)
}

/// `vector_send(vector)`: `int16 dim, int16 unused, dim × float4`, network byte order.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_send(v: VectorArg<'_>) -> Vec<u8> {
    vector::to_binary(&v)
}

/// `vector(vector, integer, boolean)`: the length coercion behind `::vector(n)` and
/// assignment to a `vector(n)` column.
#[pg_extern(immutable, strict, parallel_safe, name = "vector")]
fn vector_coerce(v: VectorArg<'_>, typmod: i32, _explicit: bool) -> Vector {
    vector::check_typmod(typmod, v.len()).or_report();
    Vector(v.to_vec())
}

/// `array_to_vector(integer[] | real[] | double precision[] | numeric[], integer,
/// boolean)`: the assignment casts from arrays.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = r#"
CREATE FUNCTION array_to_vector(integer[], integer, boolean) RETURNS vector
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_vector(real[], integer, boolean) RETURNS vector
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_vector(double precision[], integer, boolean) RETURNS vector
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_vector(numeric[], integer, boolean) RETURNS vector
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
"#
)]
fn array_to_vector(array: AnyArray, typmod: i32, _explicit: bool) -> Vector {
    let elements = array_to_floats(&array).or_report();
    vector::check_vector(&elements, typmod).or_report();
    Vector(elements)
}

/// `vector_to_float4(vector, integer, boolean)`: the implicit cast to `real[]`.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_to_float4(v: VectorArg<'_>, _typmod: i32, _explicit: bool) -> Vec<f32> {
    v.to_vec()
}
