//! Input, output, type modifier and cast functions of `sparsevec` (PostgreSQL docs,
//! "CREATE TYPE"; pgvector's `sparsevec.c`).

use super::datum::{Sparsevec, SparsevecArg};
use super::{from_dense, text, to_dense};
use crate::types::datum::{array_to_floats, recv_buffer, Halfvec, HalfvecArg, Vector, VectorArg};
use crate::types::error::{OrReport, SqlType};
use crate::types::half::halves_to_f32;
use crate::types::{halfvec, vector, SPARSEVEC_MAX_DIM};
use pgrx::datum::{AnyArray, Array, Internal};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

const SPARSEVEC: SqlType = SqlType::Sparsevec;

/// `sparsevec_in(cstring, oid, integer)`: text input `{1:1.5,3:2}/5`, checked against
/// the typmod.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_in(input: &CStr, _typoid: pg_sys::Oid, typmod: i32) -> Sparsevec {
    Sparsevec(text::parse(&input.to_string_lossy(), typmod).or_report_as(SPARSEVEC))
}

/// `sparsevec_out(sparsevec)`: `{index:value,…}/dim`, 1-based indices.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_out(v: SparsevecArg<'_>) -> CString {
    CString::new(text::format(v.get())).expect("formatted sparsevec has no NUL byte")
}

/// `sparsevec_typmod_in(cstring[])`: the `n` of `sparsevec(n)`, up to 1,000,000,000.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_typmod_in(list: Array<'_, &CStr>) -> i32 {
    crate::types::sql_io::typmod_in(list, SPARSEVEC_MAX_DIM).or_report_as(SPARSEVEC)
}

/// `sparsevec_recv(internal, oid, integer)`: binary input, validated like text input
/// (and refusing stored zeros).
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_recv(mut buf: Internal, _typoid: pg_sys::Oid, typmod: i32) -> Sparsevec {
    // SAFETY: PostgreSQL passes the StringInfo of the binary message as `internal`.
    let buf = unsafe { buf.get_mut::<pg_sys::StringInfoData>() }.expect("recv buffer");
    // SAFETY: `buf` is that StringInfo.
    let bytes = unsafe { recv_buffer(buf) };
    let (v, used) = super::from_binary(bytes, typmod).or_report_as(SPARSEVEC);
    buf.cursor += used as i32;
    Sparsevec(v)
}

/// `sparsevec_send(sparsevec)`: `int32 dim, int32 nnz, int32 unused`, the 0-based
/// indices, the values; network order.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_send(v: SparsevecArg<'_>) -> Vec<u8> {
    super::to_binary(v.get())
}

/// `sparsevec(sparsevec, integer, boolean)`: the length coercion behind
/// `::sparsevec(n)`.
#[pg_extern(immutable, strict, parallel_safe, name = "sparsevec")]
fn sparsevec_coerce(v: SparsevecArg<'_>, typmod: i32, _explicit: bool) -> Sparsevec {
    let v = v.get();
    vector::check_typmod(typmod, v.dim as usize).or_report_as(SPARSEVEC);
    Sparsevec(super::SparseVec {
        dim: v.dim,
        indices: v.indices.to_vec(),
        values: v.values.to_vec(),
    })
}

/// `vector_to_sparsevec(vector, integer, boolean)`: the implicit cast; zeros dropped.
#[pg_extern(immutable, strict, parallel_safe)]
fn vector_to_sparsevec(v: VectorArg<'_>, typmod: i32, _explicit: bool) -> Sparsevec {
    Sparsevec(from_dense(&v, typmod).or_report_as(SPARSEVEC))
}

/// `halfvec_to_sparsevec(halfvec, integer, boolean)`: the implicit cast; zeros dropped.
#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_to_sparsevec(v: HalfvecArg<'_>, typmod: i32, _explicit: bool) -> Sparsevec {
    Sparsevec(from_dense(&halves_to_f32(&v), typmod).or_report_as(SPARSEVEC))
}

/// `array_to_sparsevec(integer[] | real[] | double precision[] | numeric[], integer,
/// boolean)`: the assignment casts from arrays; zeros dropped, the rest finite.
#[pg_extern(
    immutable,
    strict,
    parallel_safe,
    sql = r#"
CREATE FUNCTION array_to_sparsevec(integer[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_sparsevec(real[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_sparsevec(double precision[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
CREATE FUNCTION array_to_sparsevec(numeric[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
"#
)]
fn array_to_sparsevec(array: AnyArray, typmod: i32, _explicit: bool) -> Sparsevec {
    let values = array_to_floats(&array).or_report_as(SPARSEVEC);
    Sparsevec(from_dense(&values, typmod).or_report_as(SPARSEVEC))
}

/// The dense elements of a stored `sparsevec` (whose dimensions the caller has checked
/// against the dense type's limit); a stored index outside them is a corrupt datum.
fn dense(v: super::SparseRef<'_>) -> Vec<f32> {
    to_dense(v).unwrap_or_else(|| {
        crate::error::corrupt_datum(
            "sparsevec",
            format!("an index outside {} dimensions", v.dim),
        )
    })
}

/// `sparsevec_to_vector(sparsevec, integer, boolean)`: the assignment cast; at most
/// 16,000 dimensions (checked before the dense vector is allocated).
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_to_vector(v: SparsevecArg<'_>, typmod: i32, _explicit: bool) -> Vector {
    let v = v.get();
    vector::check_dims(v.dim as usize).or_report();
    vector::check_typmod(typmod, v.dim as usize).or_report();
    Vector(dense(v))
}

/// `sparsevec_to_halfvec(sparsevec, integer, boolean)`: the assignment cast; at most
/// 16,000 dimensions (checked before the dense vector is allocated), each value in the
/// half range.
#[pg_extern(immutable, strict, parallel_safe)]
fn sparsevec_to_halfvec(v: SparsevecArg<'_>, typmod: i32, _explicit: bool) -> Halfvec {
    let v = v.get();
    vector::check_dims(v.dim as usize).or_report_as(SqlType::Halfvec);
    Halfvec(halfvec::cast_checked(&dense(v), typmod).or_report_as(SqlType::Halfvec))
}
