//! The FFI layer of `sparsevec` arguments and results.
//!
//! Layout (pgvector's `SparseVector`, so dumps, binary clients and pgvector's indexes'
//! expectations carry over): a 4-byte varlena header, `int32 dim`, `int32 nnz`,
//! `int32 unused` (0), `int32 indices[nnz]` (0-based, ascending), `float4 values[nnz]`.

use super::{SparseRef, SparseVec};
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};

/// Bytes before the first index: varlena header, `dim`, `nnz`, `unused`.
const HEADER_BYTES: usize = 16;

/// The datum size of a `sparsevec` storing `nnz` elements (pgvector's `SPARSEVEC_SIZE`).
pub const fn datum_size(nnz: usize) -> usize {
    HEADER_BYTES + 8 * nnz
}

/// A `sparsevec` argument, detoasted; borrows the datum for the call.
pub struct SparsevecArg<'fcx> {
    v: SparseRef<'fcx>,
}

impl<'fcx> SparsevecArg<'fcx> {
    /// Detoasts a non-null `sparsevec` datum.
    ///
    /// # Safety
    /// `datum` must be a non-null datum of type `sparsevec` valid for `'fcx`.
    pub unsafe fn from_datum(datum: pg_sys::Datum) -> SparsevecArg<'fcx> {
        // SAFETY: the caller guarantees a sparsevec varlena; detoasting returns a
        // 4-byte-header varlena, 4-aligned (palloc'd, or in a page at int alignment,
        // the type's alignment), in memory that outlives the call. The three header
        // words are read only once the size shows they are there, and the arrays
        // only once the size matches `nnz`.
        unsafe {
            let raw = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>());
            let size = pgrx::varlena::varsize_4b(raw);
            let base = raw.cast::<u8>();
            if size < HEADER_BYTES {
                crate::error::corrupt_datum("sparsevec", format!("{size} bytes"));
            }
            let dim = base.add(4).cast::<i32>().read();
            let nnz = base.add(8).cast::<i32>().read();
            if dim < 1 || nnz < 0 || nnz > dim || size != datum_size(nnz as usize) {
                crate::error::corrupt_datum(
                    "sparsevec",
                    format!("dim {dim}, nnz {nnz} in {size} bytes"),
                );
            }
            let nnz = nnz as usize;
            let indices = base.add(HEADER_BYTES).cast::<i32>();
            let values = base.add(HEADER_BYTES + 4 * nnz).cast::<f32>();
            debug_assert!(indices.is_aligned() && values.is_aligned());
            SparsevecArg {
                v: SparseRef {
                    dim,
                    indices: std::slice::from_raw_parts(indices, nnz),
                    values: std::slice::from_raw_parts(values, nnz),
                },
            }
        }
    }

    /// The vector.
    pub fn get(&self) -> SparseRef<'fcx> {
        self.v
    }
}

// SAFETY: `sparsevec` is a varlena passed by reference; a null argument is never
// unboxed (pgrx only calls `unbox_arg_unchecked` for non-null arguments of STRICT
// functions).
unsafe impl<'fcx> ArgAbi<'fcx> for SparsevecArg<'fcx> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature declares this argument as `sparsevec`.
        unsafe {
            let datum: Option<pg_sys::Datum> = arg.unbox_arg_using_from_datum();
            SparsevecArg::from_datum(
                datum.unwrap_or_else(|| panic!("argument {index} must not be null")),
            )
        }
    }
}

/// An owned `sparsevec` result.
pub struct Sparsevec(pub SparseVec);

/// Copies `v` into a new `palloc`'d `sparsevec` varlena in the current memory context.
pub fn sparsevec_to_datum(v: SparseRef<'_>) -> pg_sys::Datum {
    let nnz = v.nnz();
    assert!(
        v.values.len() == nnz && v.dim >= 1 && nnz <= v.dim as usize,
        "sparsevec shape checked by caller"
    );
    let size = datum_size(nnz);
    // SAFETY: palloc returns `size` writable bytes, MAXALIGNed; the header and both
    // arrays (`nnz` elements each, at the offsets `from_datum` reads) are written
    // before the datum is returned.
    unsafe {
        let raw = pg_sys::palloc(size).cast::<u8>();
        pgrx::varlena::set_varsize_4b(raw.cast(), size as i32);
        raw.add(4).cast::<i32>().write(v.dim);
        raw.add(8).cast::<i32>().write(nnz as i32);
        raw.add(12).cast::<i32>().write(0);
        std::ptr::copy_nonoverlapping(v.indices.as_ptr(), raw.add(HEADER_BYTES).cast(), nnz);
        std::ptr::copy_nonoverlapping(
            v.values.as_ptr(),
            raw.add(HEADER_BYTES + 4 * nnz).cast(),
            nnz,
        );
        pg_sys::Datum::from(raw)
    }
}

// SAFETY: returns a freshly palloc'd varlena of type `sparsevec`.
unsafe impl BoxRet for Sparsevec {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a valid sparsevec allocated in the caller's context.
        unsafe { fcinfo.return_raw_datum(sparsevec_to_datum(self.0.as_ref())) }
    }
}

macro_rules! sparsevec_sql_type {
    ($ty:ty) => {
        // SAFETY: maps to the SQL type `sparsevec`, created by `sql/bootstrap.sql`
        // (shell) and `sql/finalize.sql` (definition) of this extension.
        unsafe impl SqlTranslatable for $ty {
            const TYPE_IDENT: &'static str = "pgvec_hnsw::sparsevec";
            const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
            const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
                Ok(SqlMappingRef::literal("sparsevec"));
            const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
                Ok(ReturnsRef::One(SqlMappingRef::literal("sparsevec")));
        }
    };
}
sparsevec_sql_type!(SparsevecArg<'_>);
sparsevec_sql_type!(Sparsevec);
