//! Lanes: how an index holds an element of any type in one shape.
//!
//! The HNSW core, the build arena and the element tuples store every element as a
//! slice of 4-byte lanes typed `f32` (4-aligned in memory and on a page) and never
//! look inside one; only [`crate::hnsw::Metric`] reads them, through the views here:
//!
//! - `vector(n)`: `n` lanes, the `f32` values;
//! - `halfvec(n)`: `ceil(n / 2)` lanes, the binary16 values two per lane in memory
//!   order, a zero half after an odd last one;
//! - `bit(n)`: `ceil(n / 32)` lanes, the bytes of the `VarBit` in memory order, zero
//!   bytes after the last one;
//! - `sparsevec(n)` with `k` non-zero elements: `2k` lanes, the `k` ascending 0-based
//!   indices (`i32` bit patterns), then their `k` values (`f32`). Its elements differ
//!   in length; the index's dimensions are `n` for all of them.
//!
//! The padding is zero in every element of an index, so it adds nothing to an L2, inner
//! product, L1, Hamming or Jaccard sum. Lanes are compared bit for bit ([`same`]): a
//! packed lane may hold any bit pattern, NaN ones included.

use crate::types::half::Half;

/// The lanes of `halves`, two per lane, a zero half after an odd last one.
pub fn from_halves(halves: &[Half]) -> Vec<f32> {
    halves
        .chunks(2)
        .map(|pair| {
            let low = pair[0].0;
            let high = pair.get(1).map_or(0, |h| h.0);
            let mut bytes = [0u8; 4];
            bytes[..2].copy_from_slice(&low.to_ne_bytes());
            bytes[2..].copy_from_slice(&high.to_ne_bytes());
            f32::from_ne_bytes(bytes)
        })
        .collect()
}

/// The lanes of `bytes`, four per lane, zero bytes after the last one.
pub fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|chunk| {
            let mut lane = [0u8; 4];
            lane[..chunk.len()].copy_from_slice(chunk);
            f32::from_ne_bytes(lane)
        })
        .collect()
}

/// The lanes of a sparse vector: its `indices`, then its `values` (of equal length).
pub fn from_sparse(indices: &[i32], values: &[f32]) -> Vec<f32> {
    assert_eq!(indices.len(), values.len());
    indices
        .iter()
        .map(|&i| f32::from_bits(i as u32))
        .chain(values.iter().copied())
        .collect()
}

/// The indices and the values held by the lanes of a sparse vector ([`from_sparse`]);
/// an odd last lane (never written so) is left out.
#[inline]
pub fn sparse(lanes: &[f32]) -> (&[i32], &[f32]) {
    let k = lanes.len() / 2;
    // SAFETY: `i32` and `f32` have the same size and alignment and every bit pattern
    // is valid for both; the view covers the first `k` lanes and borrows them.
    let indices = unsafe { std::slice::from_raw_parts(lanes.as_ptr().cast::<i32>(), k) };
    (indices, &lanes[k..2 * k])
}

/// The halves held by `lanes` (`2 · lanes.len()` of them, padding included).
#[inline]
pub fn halves(lanes: &[f32]) -> &[Half] {
    // SAFETY: `Half` is a `repr(transparent)` u16: 2 bytes, alignment 2, every bit
    // pattern valid. The lanes are 4-aligned and hold exactly `2 · len` of them; the
    // view borrows the lanes.
    unsafe { std::slice::from_raw_parts(lanes.as_ptr().cast::<Half>(), lanes.len() * 2) }
}

/// The bytes held by `lanes` (`4 · lanes.len()` of them, padding included).
#[inline]
pub fn bytes(lanes: &[f32]) -> &[u8] {
    // SAFETY: any memory is valid as bytes; the view covers exactly the lanes and
    // borrows them.
    unsafe { std::slice::from_raw_parts(lanes.as_ptr().cast::<u8>(), lanes.len() * 4) }
}

/// Whether two elements are the same value: equal lanes, bit for bit (so `-0.0` and
/// `0.0` differ, as pgvector's `datumIsEqual` finds them to).
pub fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_trip_with_zero_padding() {
        for n in [1usize, 2, 3, 7, 384, 385] {
            let h: Vec<Half> = (0..n).map(|i| Half(0x3c00 + i as u16)).collect();
            let lanes = from_halves(&h);
            assert_eq!(lanes.len(), n.div_ceil(2));
            let back = halves(&lanes);
            assert_eq!(&back[..n], &h[..]);
            assert!(back[n..].iter().all(|x| x.0 == 0));
        }
    }

    #[test]
    fn bytes_round_trip_with_zero_padding() {
        for n in [1usize, 3, 4, 5, 8, 383] {
            let b: Vec<u8> = (0..n).map(|i| (i * 37 + 1) as u8).collect();
            let lanes = from_bytes(&b);
            assert_eq!(lanes.len(), n.div_ceil(4));
            assert_eq!(&bytes(&lanes)[..n], &b[..]);
            assert!(bytes(&lanes)[n..].iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn sparse_round_trip() {
        let lanes = from_sparse(&[0, 7, 1_000_000_000 - 1], &[1.5, -2.0, 0.25]);
        assert_eq!(lanes.len(), 6);
        assert_eq!(
            sparse(&lanes),
            (&[0, 7, 999_999_999][..], &[1.5f32, -2.0, 0.25][..])
        );
        assert_eq!(sparse(&[]), (&[][..], &[][..]));
    }

    #[test]
    fn same_is_bitwise() {
        let nan = f32::from_bits(0x7fc0_0001);
        assert!(same(&[nan, 1.0], &[nan, 1.0]));
        assert!(!same(&[0.0], &[-0.0]));
        assert!(!same(&[1.0], &[1.0, 1.0]));
    }
}
