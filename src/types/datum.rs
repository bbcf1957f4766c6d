//! The FFI layer of the `vector` type: reading and writing its varlena datums.
//!
//! On-disk and in-memory layout (pgvector's, so existing dumps and binary clients
//! work): a 4-byte varlena header, `int16 dim`, `int16 unused` (always 0), then `dim`
//! `float4`s. [`VectorArg`] borrows a detoasted argument; [`Vector`] is a result that
//! is copied into a `palloc`'d datum when returned. All `unsafe` of the type lives here.

use super::error::VectorError;
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

/// A `vector` argument, detoasted; borrows the datum for the function call.
pub struct VectorArg<'fcx> {
    data: NonNull<f32>,
    dim: usize,
    _lifetime: PhantomData<&'fcx [f32]>,
}

impl<'fcx> VectorArg<'fcx> {
    /// Detoasts a non-null `vector` datum.
    ///
    /// # Safety
    /// `datum` must be a non-null datum of type `vector` valid for `'fcx`.
    pub unsafe fn from_datum(datum: pg_sys::Datum) -> VectorArg<'fcx> {
        // SAFETY: the caller guarantees a vector varlena; detoasting returns a pointer
        // with a 4-byte header, either the original or a palloc'd copy in the current
        // memory context, which outlives the call.
        unsafe {
            let raw = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>());
            let size = pgrx::varlena::varsize_4b(raw);
            let base = raw.cast::<u8>();
            let dim = base.add(4).cast::<i16>().read();
            assert!(
                dim >= 1 && dim as usize <= MAX_DIM && size == HEADER_BYTES + 4 * dim as usize,
                "corrupt vector datum: dim {dim}, size {size}"
            );
            let data = base.add(HEADER_BYTES).cast::<f32>();
            debug_assert!(data.is_aligned());
            VectorArg {
                data: NonNull::new_unchecked(data),
                dim: dim as usize,
                _lifetime: PhantomData,
            }
        }
    }

    /// The elements.
    pub fn as_slice(&self) -> &'fcx [f32] {
        // SAFETY: `from_datum` checked that the varlena holds `dim` floats, 4-aligned,
        // and the datum lives for `'fcx`.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.dim) }
    }
}

impl std::ops::Deref for VectorArg<'_> {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

// SAFETY: `vector` is a varlena passed by reference; a null argument is never unboxed
// (pgrx only calls `unbox_arg_unchecked` for non-null arguments of STRICT functions).
unsafe impl<'fcx> ArgAbi<'fcx> for VectorArg<'fcx> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature declares this argument as `vector`.
        unsafe {
            let datum: Option<pg_sys::Datum> = arg.unbox_arg_using_from_datum();
            VectorArg::from_datum(
                datum.unwrap_or_else(|| panic!("argument {index} must not be null")),
            )
        }
    }
}

/// An owned `vector` result.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector(pub Vec<f32>);

impl Vector {
    /// Copies the elements into a new `palloc`'d varlena in the current memory context.
    pub fn to_datum(elements: &[f32]) -> pg_sys::Datum {
        assert!(
            (1..=MAX_DIM).contains(&elements.len()),
            "vector dimensions checked by caller"
        );
        let size = HEADER_BYTES + 4 * elements.len();
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
}

// SAFETY: returns a freshly palloc'd varlena of type `vector`.
unsafe impl BoxRet for Vector {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a valid vector allocated in the caller's memory context.
        unsafe { fcinfo.return_raw_datum(Vector::to_datum(&self.0)) }
    }
}

macro_rules! vector_sql_type {
    ($ty:ty) => {
        // SAFETY: both map to the SQL type `vector`, created by `sql/bootstrap.sql`
        // (shell) and `sql/finalize.sql` (definition) of this extension.
        unsafe impl SqlTranslatable for $ty {
            const TYPE_IDENT: &'static str = "pgvec_hnsw::vector";
            const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
            const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
                Ok(SqlMappingRef::literal("vector"));
            const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
                Ok(ReturnsRef::One(SqlMappingRef::literal("vector")));
        }
    };
}
vector_sql_type!(VectorArg<'_>);
vector_sql_type!(Vector);

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
