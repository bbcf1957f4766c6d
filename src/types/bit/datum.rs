//! The FFI layer of `bit` arguments and results: PostgreSQL's `VarBit` varlena
//! (`utils/varbit.h`): a 4-byte header, `int32 bit_len`, then `ceil(bit_len / 8)`
//! bytes, the first bit in the high bit of the first byte, pad bits zero.

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};

/// Bytes before the first bit: varlena header (4), `bit_len` (4).
const HEADER_BYTES: usize = 8;

/// A `bit` argument, detoasted; borrows the datum for the call.
pub struct BitArg<'fcx> {
    bytes: &'fcx [u8],
    len: usize,
}

impl<'fcx> BitArg<'fcx> {
    /// Detoasts a non-null `bit` or `varbit` datum.
    ///
    /// # Safety
    /// `datum` must be a non-null datum of type `bit` or `varbit` valid for `'fcx`.
    pub unsafe fn from_datum(datum: pg_sys::Datum) -> BitArg<'fcx> {
        // SAFETY: the caller guarantees a VarBit; detoasting returns a 4-byte-header
        // varlena, 4-aligned (palloc'd, or in a page at int alignment, bit's typalign),
        // in memory that outlives the call; `bit_len` is read only once the varlena is
        // known to hold it, and the bits are the `size - 8` bytes after it.
        unsafe {
            let raw = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>());
            let size = pgrx::varlena::varsize_4b(raw);
            let base = raw.cast::<u8>();
            let Some(nbytes) = size.checked_sub(HEADER_BYTES) else {
                crate::error::corrupt_datum("bit", format!("{size} bytes"));
            };
            let len = base.add(4).cast::<i32>().read_unaligned();
            if len < 0 || (len as usize).div_ceil(8) != nbytes {
                crate::error::corrupt_datum("bit", format!("length {len} in {nbytes} bytes"));
            }
            BitArg {
                bytes: std::slice::from_raw_parts(base.add(HEADER_BYTES), nbytes),
                len: len as usize,
            }
        }
    }

    /// The number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes holding the bits, pad bits zero.
    pub fn bytes(&self) -> &'fcx [u8] {
        self.bytes
    }
}

// SAFETY: `bit` is a varlena passed by reference; a null argument is never unboxed
// (pgrx only calls `unbox_arg_unchecked` for non-null arguments of STRICT functions).
unsafe impl<'fcx> ArgAbi<'fcx> for BitArg<'fcx> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature declares this argument as `bit`.
        unsafe {
            let datum: Option<pg_sys::Datum> = arg.unbox_arg_using_from_datum();
            BitArg::from_datum(datum.unwrap_or_else(|| panic!("argument {index} must not be null")))
        }
    }
}

/// An owned `bit(len)` result.
pub struct Bit {
    /// The number of bits.
    pub len: usize,
    /// `ceil(len / 8)` bytes holding the bits, high bit first, pad bits zero.
    pub bytes: Vec<u8>,
}

// SAFETY: returns a freshly palloc'd VarBit.
unsafe impl BoxRet for Bit {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        assert_eq!(self.len.div_ceil(8), self.bytes.len(), "bit result shape");
        let size = HEADER_BYTES + self.bytes.len();
        // SAFETY: palloc returns `size` writable bytes, MAXALIGNed; the header, the
        // length and every byte are written before the datum is returned.
        unsafe {
            let raw = pg_sys::palloc(size).cast::<u8>();
            pgrx::varlena::set_varsize_4b(raw.cast(), size as i32);
            raw.add(4).cast::<i32>().write(self.len as i32);
            std::ptr::copy_nonoverlapping(
                self.bytes.as_ptr(),
                raw.add(HEADER_BYTES),
                self.bytes.len(),
            );
            fcinfo.return_raw_datum(pg_sys::Datum::from(raw))
        }
    }
}

macro_rules! bit_sql_type {
    ($ty:ty) => {
        // SAFETY: maps to PostgreSQL's built-in type `bit`.
        unsafe impl SqlTranslatable for $ty {
            const TYPE_IDENT: &'static str = "pg_catalog::bit";
            const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
            const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
                Ok(SqlMappingRef::literal("bit"));
            const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
                Ok(ReturnsRef::One(SqlMappingRef::literal("bit")));
        }
    };
}
bit_sql_type!(BitArg<'_>);
bit_sql_type!(Bit);
