//! The FFI layer of the `vector` and `halfvec` types: reading and writing their
//! varlena datums.
//!
//! On-disk and in-memory layout (pgvector's, so existing dumps and binary clients
//! work): a 4-byte varlena header, `int16 dim`, `int16 unused` (always 0), then `dim`
//! elements, `float4` for `vector` and IEEE binary16 for `halfvec`. [`ElementsArg`]
//! borrows a detoasted argument; [`Vector`] and [`Halfvec`] are results copied into a
//! `palloc`'d datum when returned. All `unsafe` of the types lives here.

use super::error::{SqlType, VectorError};
use super::half::Half;
use super::MAX_DIM;
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Bytes before the first element: varlena header (4), `dim` (2), `unused` (2).
pub const HEADER_BYTES: usize = 8;

mod sealed {
    /// Only the element types below: plain values of at most 4-byte alignment, which
    /// the 8-byte header of a 4-aligned varlena keeps aligned.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for super::Half {}
}

/// The element of a varlena vector type: `f32` for `vector`, [`Half`] for `halfvec`
/// (sealed: no other type can be one).
pub trait Element: sealed::Sealed + Copy + 'static {
    /// The SQL type whose elements these are.
    const TYPE: SqlType;
}

const _: () = assert!(std::mem::align_of::<f32>() <= 4 && std::mem::align_of::<Half>() <= 4);

impl Element for f32 {
    const TYPE: SqlType = SqlType::Vector;
}

impl Element for Half {
    const TYPE: SqlType = SqlType::Halfvec;
}

/// A `vector` or `halfvec` argument, detoasted; borrows the datum for the call.
pub struct ElementsArg<'fcx, E: Element> {
    data: NonNull<E>,
    dim: usize,
    _lifetime: PhantomData<&'fcx [E]>,
}

/// A `vector` argument.
pub type VectorArg<'fcx> = ElementsArg<'fcx, f32>;
/// A `halfvec` argument.
pub type HalfvecArg<'fcx> = ElementsArg<'fcx, Half>;

impl<'fcx, E: Element> ElementsArg<'fcx, E> {
    /// Detoasts a non-null datum of `E`'s type.
    ///
    /// # Safety
    /// `datum` must be a non-null datum of `E`'s SQL type valid for `'fcx`.
    pub unsafe fn from_datum(datum: pg_sys::Datum) -> ElementsArg<'fcx, E> {
        let width = std::mem::size_of::<E>();
        // SAFETY: the caller guarantees a varlena of the type; detoasting returns a
        // pointer with a 4-byte header, either the original or a palloc'd copy in
        // the current memory context, which outlives the call.
        unsafe {
            let raw = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>());
            let size = pgrx::varlena::varsize_4b(raw);
            let base = raw.cast::<u8>();
            let dim = base.add(4).cast::<i16>().read();
            assert!(
                dim >= 1 && dim as usize <= MAX_DIM && size == HEADER_BYTES + width * dim as usize,
                "corrupt {} datum: dim {dim}, size {size}",
                E::TYPE.name()
            );
            let data = base.add(HEADER_BYTES).cast::<E>();
            debug_assert!(data.is_aligned());
            ElementsArg {
                data: NonNull::new_unchecked(data),
                dim: dim as usize,
                _lifetime: PhantomData,
            }
        }
    }

    /// The elements.
    pub fn as_slice(&self) -> &'fcx [E] {
        // SAFETY: `from_datum` checked that the varlena holds `dim` elements, aligned
        // (a 4-byte header plus 4 bytes, on a 4-aligned varlena), and the datum
        // lives for `'fcx`.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.dim) }
    }
}

impl<E: Element> std::ops::Deref for ElementsArg<'_, E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        self.as_slice()
    }
}

// SAFETY: `vector` and `halfvec` are varlenas passed by reference; a null argument is
// never unboxed (pgrx only calls `unbox_arg_unchecked` for non-null arguments of
// STRICT functions).
unsafe impl<'fcx, E: Element> ArgAbi<'fcx> for ElementsArg<'fcx, E> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature declares this argument as `E`'s type.
        unsafe {
            let datum: Option<pg_sys::Datum> = arg.unbox_arg_using_from_datum();
            ElementsArg::from_datum(
                datum.unwrap_or_else(|| panic!("argument {index} must not be null")),
            )
        }
    }
}

/// Copies `elements` into a new `palloc`'d varlena of `E`'s type in the current
/// memory context.
pub fn elements_to_datum<E: Element>(elements: &[E]) -> pg_sys::Datum {
    assert!(
        (1..=MAX_DIM).contains(&elements.len()),
        "{} dimensions checked by caller",
        E::TYPE.name()
    );
    let size = HEADER_BYTES + std::mem::size_of_val(elements);
    // SAFETY: palloc returns `size` writable bytes, MAXALIGNed; we fill the header
    // and every element before handing the pointer to PostgreSQL.
    unsafe {
        let raw = pg_sys::palloc(size).cast::<u8>();
        pgrx::varlena::set_varsize_4b(raw.cast(), size as i32);
        raw.add(4).cast::<i16>().write(elements.len() as i16);
        raw.add(6).cast::<i16>().write(0);
        std::ptr::copy_nonoverlapping(
            elements.as_ptr(),
            raw.add(HEADER_BYTES).cast(),
            elements.len(),
        );
        pg_sys::Datum::from(raw)
    }
}

/// An owned `vector` result.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector(pub Vec<f32>);

/// An owned `halfvec` result.
#[derive(Debug, Clone, PartialEq)]
pub struct Halfvec(pub Vec<Half>);

// SAFETY: returns a freshly palloc'd varlena of type `vector`.
unsafe impl BoxRet for Vector {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a valid vector allocated in the caller's memory context.
        unsafe { fcinfo.return_raw_datum(elements_to_datum(&self.0)) }
    }
}

// SAFETY: returns a freshly palloc'd varlena of type `halfvec`.
unsafe impl BoxRet for Halfvec {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a valid halfvec allocated in the caller's memory context.
        unsafe { fcinfo.return_raw_datum(elements_to_datum(&self.0)) }
    }
}

macro_rules! sql_type {
    ($ty:ty, $name:literal) => {
        // SAFETY: maps to the SQL type `$name`, created by `sql/bootstrap.sql`
        // (shell) and `sql/finalize.sql` (definition) of this extension.
        unsafe impl SqlTranslatable for $ty {
            const TYPE_IDENT: &'static str = concat!("pgvec_hnsw::", $name);
            const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
            const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
                Ok(SqlMappingRef::literal($name));
            const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
                Ok(ReturnsRef::One(SqlMappingRef::literal($name)));
        }
    };
}
sql_type!(VectorArg<'_>, "vector");
sql_type!(Vector, "vector");
sql_type!(HalfvecArg<'_>, "halfvec");
sql_type!(Halfvec, "halfvec");

/// Reads a one-dimensional `integer[]`, `real[]`, `double precision[]` or `numeric[]`
/// as `f32`s (pgvector's `array_to_vector`).
///
/// # Errors
/// [`VectorError::ArrayNotOneDimensional`], [`VectorError::ArrayContainsNulls`],
/// [`VectorError::UnsupportedArrayType`]; `numeric` values out of `real` range raise
/// PostgreSQL's own error from `numeric_float4`.
pub fn array_to_floats(array: &pgrx::AnyArray) -> Result<Vec<f32>, VectorError> {
    // SAFETY: `array.datum()` is a non-null array datum (the function is STRICT);
    // detoasting gives a readable ArrayType, and deconstruct_array returns `n` datums
    // (and null flags) palloc'd in the current memory context.
    unsafe {
        let arr =
            pg_sys::pg_detoast_datum(array.datum().cast_mut_ptr()).cast::<pg_sys::ArrayType>();
        if (*arr).ndim > 1 {
            return Err(VectorError::ArrayNotOneDimensional);
        }
        if pg_sys::array_contains_nulls(arr) {
            return Err(VectorError::ArrayContainsNulls);
        }
        let elemtype = (*arr).elemtype;
        let (mut len, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(elemtype, &mut len, &mut byval, &mut align);
        let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
        let mut n: i32 = 0;
        pg_sys::deconstruct_array(
            arr,
            elemtype,
            len.into(),
            byval,
            align,
            &mut elems,
            std::ptr::null_mut(),
            &mut n,
        );
        let datums: &[pg_sys::Datum] = if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(elems, n as usize)
        };
        let convert: fn(pg_sys::Datum) -> f32 = match elemtype {
            pg_sys::INT4OID => |d| d.value() as i32 as f32,
            pg_sys::FLOAT4OID => |d| f32::from_bits(d.value() as u32),
            pg_sys::FLOAT8OID => |d| f64::from_bits(d.value() as u64) as f32,
            pg_sys::NUMERICOID => |d| {
                pgrx::direct_function_call::<f32>(pg_sys::numeric_float4, &[Some(d)])
                    .expect("numeric_float4 of a non-null numeric is not null")
            },
            _ => return Err(VectorError::UnsupportedArrayType),
        };
        Ok(datums.iter().map(|&d| convert(d)).collect())
    }
}

/// The unread bytes of a binary-input buffer (`StringInfo` of `recv` functions).
///
/// # Safety
/// `buf` must be the `StringInfo` PostgreSQL passed to a `recv` function.
pub unsafe fn recv_buffer(buf: &pg_sys::StringInfoData) -> &[u8] {
    let (len, cursor) = (buf.len as usize, buf.cursor as usize);
    // SAFETY: `data` holds `len` bytes and `cursor <= len` for a StringInfo.
    unsafe { std::slice::from_raw_parts(buf.data.cast::<u8>().add(cursor), len - cursor) }
}
