//! The `sparsevec(n)` type (pgvector's, same layout, text and binary forms): a vector of
//! up to 1,000,000,000 dimensions that stores only its non-zero elements, as sorted
//! 0-based indices and their `float4` values.
//!
//! This file holds the Postgres-free model ([`SparseVec`], [`SparseRef`]), its checks,
//! conversions to and from dense vectors, norms, order and binary form; `text` the
//! text form (`{1:1.5,3:2}/5`, 1-based indices), `datum` the FFI layer and `sql_*` the
//! SQL functions; the distances are in [`crate::distance::sparse`].

use super::error::VectorError;
use super::vector;
use super::{SPARSEVEC_MAX_DIM, SPARSEVEC_MAX_NNZ};
use std::cmp::Ordering;

pub mod datum;
mod sql_io;
mod sql_ops;
pub mod text;

/// An owned sparse vector: `dim` dimensions, non-zero `values[k]` at `indices[k]`
/// (0-based, strictly increasing, `< dim`). `indices.len() == values.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseVec {
    pub dim: i32,
    pub indices: Vec<i32>,
    pub values: Vec<f32>,
}

/// A borrowed sparse vector (a datum's arrays or a [`SparseVec`]'s), same invariants.
#[derive(Debug, Clone, Copy)]
pub struct SparseRef<'a> {
    pub dim: i32,
    pub indices: &'a [i32],
    pub values: &'a [f32],
}

impl SparseVec {
    /// Borrows the vector.
    pub fn as_ref(&self) -> SparseRef<'_> {
        SparseRef {
            dim: self.dim,
            indices: &self.indices,
            values: &self.values,
        }
    }
}

impl SparseRef<'_> {
    /// The number of stored (non-zero) elements.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// Checks a number of dimensions against `1..=1,000,000,000` and returns it as `i32`.
pub fn check_dim(dim: i64) -> Result<i32, VectorError> {
    if dim < 1 {
        Err(VectorError::NoDimensions)
    } else if dim > SPARSEVEC_MAX_DIM as i64 {
        Err(VectorError::TooManyDimensions)
    } else {
        Ok(dim as i32)
    }
}

/// Checks the number of stored elements of binary input against `0..=16000` and `dim`.
pub fn check_nnz(nnz: i32, dim: i32) -> Result<usize, VectorError> {
    if nnz < 0 {
        Err(VectorError::NegativeNonZeroCount)
    } else if nnz as usize > SPARSEVEC_MAX_NNZ {
        Err(VectorError::TooManyNonZero)
    } else if nnz > dim {
        Err(VectorError::MoreElementsThanDimensions)
    } else {
        Ok(nnz as usize)
    }
}

/// Checks `indices[k]` against the bounds `0..dim` and, after the first, against the
/// index before it: strictly increasing.
pub fn check_index(indices: &[i32], k: usize, dim: i32) -> Result<(), VectorError> {
    let index = indices[k];
    if index < 0 || index >= dim {
        return Err(VectorError::IndexOutOfBounds);
    }
    match k.checked_sub(1).map(|p| index.cmp(&indices[p])) {
        Some(Ordering::Less) => Err(VectorError::IndicesNotAscending),
        Some(Ordering::Equal) => Err(VectorError::DuplicateIndices),
        _ => Ok(()),
    }
}

/// The non-zero elements of a dense vector (casts from `vector`, `halfvec`, arrays):
/// `dim = values.len()`, checked against the `sparsevec` limits and `typmod`; each kept
/// value is finite. `-0` counts as zero.
pub fn from_dense(values: &[f32], typmod: i32) -> Result<SparseVec, VectorError> {
    let dim = check_dim(values.len() as i64)?;
    vector::check_typmod(typmod, values.len())?;
    let (mut indices, mut kept) = (Vec::new(), Vec::new());
    for (i, &x) in values.iter().enumerate() {
        if x != 0.0 {
            vector::check_element(x)?;
            indices.push(i as i32);
            kept.push(x);
        }
    }
    Ok(SparseVec {
        dim,
        indices,
        values: kept,
    })
}

/// The dense form (casts to `vector` and `halfvec`): `dim` elements, zero where nothing
/// is stored; `None` when a stored index is outside `0..dim` (a corrupt datum). The
/// caller checks `dim` against the dense type's limits first (which also bounds the
/// allocation).
pub fn to_dense(v: SparseRef<'_>) -> Option<Vec<f32>> {
    let mut dense = vec![0.0; v.dim as usize];
    for (&i, &x) in v.indices.iter().zip(v.values) {
        *dense.get_mut(usize::try_from(i).ok()?)? = x;
    }
    Some(dense)
}

/// The Euclidean norm, accumulated in `f64` (`sparsevec_l2_norm`).
pub fn norm(v: SparseRef<'_>) -> f64 {
    vector::norm_of(v.values.iter().copied())
}

/// Scaled to unit length (`sparsevec_l2_normalize`); a zero vector stays zero, and a
/// value that rounds to zero is dropped, so the result stores no zero.
///
/// # Errors
/// [`VectorError::Overflow`] when a scaled value is infinite.
pub fn l2_normalize(v: SparseRef<'_>) -> Result<SparseVec, VectorError> {
    let n = norm(v);
    let (mut indices, mut values) = (Vec::with_capacity(v.nnz()), Vec::with_capacity(v.nnz()));
    for (&i, &x) in v.indices.iter().zip(v.values) {
        let y = if n > 0.0 {
            (f64::from(x) / n) as f32
        } else {
            x
        };
        if y.is_infinite() {
            return Err(VectorError::Overflow);
        }
        if y != 0.0 {
            indices.push(i);
            values.push(y);
        }
    }
    Ok(SparseVec {
        dim: v.dim,
        indices,
        values,
    })
}

/// B-tree order, pgvector's `sparsevec_cmp`: the dense vectors compared element-wise,
/// then the one with fewer dimensions first. Walks the stored elements only: at the
/// first index where the two differ, the vector with the larger element there is the
/// larger (an element absent from one vector is 0 there).
pub fn compare(a: SparseRef<'_>, b: SparseRef<'_>) -> Ordering {
    let n = a.nnz().min(b.nnz());
    // The sign of a stored (non-zero) value against an absent 0.
    let sign = |x: f32| {
        if x < 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    };
    for k in 0..n {
        let (ai, bi, ax, bx) = (a.indices[k], b.indices[k], a.values[k], b.values[k]);
        match ai.cmp(&bi) {
            Ordering::Less => return sign(ax),
            Ordering::Greater => return sign(bx).reverse(),
            Ordering::Equal => match ax.partial_cmp(&bx) {
                Some(Ordering::Equal) | None => {}
                Some(o) => return o,
            },
        }
    }
    if a.nnz() < b.nnz() && b.indices[n] < a.dim {
        return sign(b.values[n]).reverse();
    }
    if a.nnz() > b.nnz() && a.indices[n] < b.dim {
        return sign(a.values[n]);
    }
    a.dim.cmp(&b.dim)
}

/// Binary form (`sparsevec_send`): `int32 dim, int32 nnz, int32 unused = 0`, then the
/// `nnz` 0-based indices (`int32`) and the `nnz` values (`float4`), all big-endian.
pub fn to_binary(v: SparseRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 8 * v.nnz());
    out.extend_from_slice(&v.dim.to_be_bytes());
    out.extend_from_slice(&(v.nnz() as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    v.indices
        .iter()
        .for_each(|i| out.extend_from_slice(&i.to_be_bytes()));
    v.values
        .iter()
        .for_each(|x| out.extend_from_slice(&x.to_be_bytes()));
    out
}

/// Reads the binary form (`sparsevec_recv`), checked in pgvector's order: dimensions,
/// element count, typmod, `unused`, each index (bounds, ascending, no duplicates), each
/// value (finite, non-zero). Returns the vector and the number of bytes consumed.
pub fn from_binary(buf: &[u8], typmod: i32) -> Result<(SparseVec, usize), VectorError> {
    let mut pos = 0;
    let mut int = || -> Result<[u8; 4], VectorError> {
        let word = buf.get(pos..pos + 4).ok_or(VectorError::InsufficientData)?;
        pos += 4;
        Ok([word[0], word[1], word[2], word[3]])
    };
    // pgvector reads the three header words before it checks any of them.
    let (dim, nnz, unused) = (
        i32::from_be_bytes(int()?),
        i32::from_be_bytes(int()?),
        i32::from_be_bytes(int()?),
    );
    let dim = check_dim(dim.into())?;
    let nnz = check_nnz(nnz, dim)?;
    vector::check_typmod(typmod, dim as usize)?;
    if unused != 0 {
        return Err(VectorError::UnusedNotZero(unused));
    }
    let mut indices = Vec::with_capacity(nnz);
    for k in 0..nnz {
        indices.push(i32::from_be_bytes(int()?));
        check_index(&indices, k, dim)?;
    }
    let mut values = Vec::with_capacity(nnz);
    for _ in 0..nnz {
        let x = f32::from_be_bytes(int()?);
        vector::check_element(x)?;
        if x == 0.0 {
            return Err(VectorError::ZeroInBinary);
        }
        values.push(x);
    }
    let v = SparseVec {
        dim,
        indices,
        values,
    };
    Ok((v, 12 + 8 * nnz))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sv(dim: i32, elements: &[(i32, f32)]) -> SparseVec {
        SparseVec {
            dim,
            indices: elements.iter().map(|e| e.0).collect(),
            values: elements.iter().map(|e| e.1).collect(),
        }
    }

    #[test]
    fn limits_and_index_checks() {
        assert_eq!(check_dim(0), Err(VectorError::NoDimensions));
        assert_eq!(check_dim(1_000_000_000), Ok(1_000_000_000));
        assert_eq!(
            check_dim(1_000_000_001),
            Err(VectorError::TooManyDimensions)
        );
        assert_eq!(check_nnz(-1, 5), Err(VectorError::NegativeNonZeroCount));
        assert_eq!(check_nnz(16001, 100000), Err(VectorError::TooManyNonZero));
        assert_eq!(
            check_nnz(6, 5),
            Err(VectorError::MoreElementsThanDimensions)
        );
        assert_eq!(check_nnz(5, 5), Ok(5));
        assert_eq!(check_index(&[0, 4], 1, 5), Ok(()));
        assert_eq!(check_index(&[5], 0, 5), Err(VectorError::IndexOutOfBounds));
        assert_eq!(check_index(&[-1], 0, 5), Err(VectorError::IndexOutOfBounds));
        assert_eq!(
            check_index(&[3, 2], 1, 5),
            Err(VectorError::IndicesNotAscending)
        );
        assert_eq!(
            check_index(&[3, 3], 1, 5),
            Err(VectorError::DuplicateIndices)
        );
    }

    #[test]
    fn dense_round_trip_drops_zeros() {
        let s = from_dense(&[0.0, 1.5, -0.0, 3.5, 0.0], -1).unwrap();
        assert_eq!(s, sv(5, &[(1, 1.5), (3, 3.5)]));
        assert_eq!(to_dense(s.as_ref()), Some(vec![0.0, 1.5, 0.0, 3.5, 0.0]));
        assert_eq!(to_dense(sv(2, &[(2, 1.0)]).as_ref()), None);
        assert_eq!(
            from_dense(&[1.0, 2.0], 3),
            Err(VectorError::ExpectedDimensions {
                expected: 3,
                actual: 2
            })
        );
        assert_eq!(from_dense(&[], -1), Err(VectorError::NoDimensions));
        assert_eq!(from_dense(&[f32::NAN], -1), Err(VectorError::NaN));
        assert_eq!(
            from_dense(&[0.0, f32::INFINITY], -1),
            Err(VectorError::Infinite)
        );
    }

    #[test]
    fn norm_and_normalize() {
        let s = sv(9, &[(1, 3.0), (5, 4.0)]);
        assert_eq!(norm(s.as_ref()), 5.0);
        assert_eq!(l2_normalize(s.as_ref()), Ok(sv(9, &[(1, 0.6), (5, 0.8)])));
        let zero = sv(2, &[]);
        assert_eq!(l2_normalize(zero.as_ref()), Ok(zero.clone()));
        // 1e-38 next to 1e38 scales to 0 (f32) and is dropped.
        let tiny = sv(2, &[(0, 1e38), (1, 1e-38)]);
        assert_eq!(l2_normalize(tiny.as_ref()), Ok(sv(2, &[(0, 1.0)])));
    }

    #[test]
    fn order_is_the_dense_order_then_dimensions() {
        let dense_cmp = |a: &SparseVec, b: &SparseVec| {
            vector::compare(
                &to_dense(a.as_ref()).unwrap(),
                &to_dense(b.as_ref()).unwrap(),
            )
        };
        let cases = [
            sv(3, &[(0, 1.0)]),
            sv(3, &[(1, 1.0)]),
            sv(3, &[(1, -1.0)]),
            sv(3, &[(0, 1.0), (2, 1.0)]),
            sv(3, &[(0, 1.0), (2, -1.0)]),
            sv(3, &[]),
            sv(2, &[]),
            sv(4, &[(3, 2.0)]),
            sv(4, &[(0, 1.0), (3, -2.0)]),
            sv(2, &[(0, 1.0)]),
            sv(2, &[(1, -5.0)]),
        ];
        for a in &cases {
            for b in &cases {
                assert_eq!(
                    compare(a.as_ref(), b.as_ref()),
                    dense_cmp(a, b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn binary_round_trips_and_is_checked_in_order() {
        let s = sv(5, &[(0, 1.5), (4, -2.0)]);
        let bytes = to_binary(s.as_ref());
        assert_eq!(&bytes[..12], &[0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(from_binary(&bytes, -1), Ok((s.clone(), bytes.len())));
        assert_eq!(
            from_binary(&bytes[..bytes.len() - 1], -1),
            Err(VectorError::InsufficientData)
        );
        // A short header is short before its words are checked (dim 0 here).
        assert_eq!(from_binary(&[0; 8], -1), Err(VectorError::InsufficientData));
        let with = |at: usize, word: i32| {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&word.to_be_bytes());
            from_binary(&b, -1).map(|(v, _)| v)
        };
        assert_eq!(with(0, 0), Err(VectorError::NoDimensions));
        assert_eq!(with(4, -1), Err(VectorError::NegativeNonZeroCount));
        assert_eq!(with(8, 7), Err(VectorError::UnusedNotZero(7)));
        assert_eq!(with(12, 5), Err(VectorError::IndexOutOfBounds));
        assert_eq!(with(16, 0), Err(VectorError::DuplicateIndices));
        assert_eq!(with(12, 4).err(), Some(VectorError::DuplicateIndices));
        assert_eq!(with(20, 0), Err(VectorError::ZeroInBinary));
        assert_eq!(with(20, f32::NAN.to_bits() as i32), Err(VectorError::NaN));
        let mut descending = bytes.clone();
        descending[12..16].copy_from_slice(&3i32.to_be_bytes());
        descending[16..20].copy_from_slice(&1i32.to_be_bytes());
        assert_eq!(
            from_binary(&descending, -1).map(|(v, _)| v),
            Err(VectorError::IndicesNotAscending)
        );
        assert_eq!(
            from_binary(&bytes, 4).map(|(v, _)| v),
            Err(VectorError::ExpectedDimensions {
                expected: 4,
                actual: 5
            })
        );
    }
}
