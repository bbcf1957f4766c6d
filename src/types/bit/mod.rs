//! Distances on PostgreSQL's `bit(n)` (pgvector's `<~>` Hamming and `<%>` Jaccard) and
//! `binary_quantize`, which turns a `vector` or `halfvec` into a `bit` with one bit per
//! dimension (set where the element is positive), the key of a binary-quantized index.
//!
//! Bits are stored as PostgreSQL stores them (`VarBit`, "Bit String Types" in the
//! docs): the first bit is the high bit of the first byte, and the pad bits of the
//! last byte are zero, so distances can count whole bytes. This file is
//! Postgres-free; [`datum`] reads and writes the datums, `sql` holds the functions.

pub mod datum;
mod sql;

/// The number of positions where `a` and `b` differ (pad bits are zero in both), by
/// the kernel table chosen at load time ([`crate::distance::bits`]).
///
/// `a` and `b` have the same length.
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    crate::distance::kernels().hamming(a, b)
}

/// Jaccard distance `1 - |a ∩ b| / |a ∪ b|` of the sets of set bits; 1 when they share
/// none (both empty included), as pgvector's `jaccard_distance`.
///
/// `a` and `b` have the same length.
pub fn jaccard(a: &[u8], b: &[u8]) -> f64 {
    crate::distance::kernels().jaccard(a, b)
}

/// The bits of `positive` for each element, high bit first, pad bits zero: the body
/// of a `bit(n)` with `n` the number of elements.
pub fn quantize(elements: impl ExactSizeIterator<Item = bool>) -> Vec<u8> {
    let mut bytes = vec![0u8; elements.len().div_ceil(8)];
    for (i, positive) in elements.enumerate() {
        bytes[i / 8] |= u8::from(positive) << (7 - i % 8);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: bit by bit.
    fn bits(bytes: &[u8], n: usize) -> Vec<bool> {
        (0..n)
            .map(|i| bytes[i / 8] >> (7 - i % 8) & 1 == 1)
            .collect()
    }

    #[test]
    fn distances_against_bit_by_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for n in [1, 3, 7, 8, 9, 63, 64, 65, 127, 384, 1536, 3072, 64000] {
            let a = quantize((0..n).map(|_| rng.random_bool(0.3)));
            let b = quantize((0..n).map(|_| rng.random_bool(0.6)));
            let (x, y) = (bits(&a, n), bits(&b, n));
            let differ = x.iter().zip(&y).filter(|(p, q)| p != q).count() as u64;
            assert_eq!(hamming(&a, &b), differ, "{n}");
            let both = x.iter().zip(&y).filter(|(p, q)| **p && **q).count();
            let either = x.iter().zip(&y).filter(|(p, q)| **p || **q).count();
            let want = if both == 0 {
                1.0
            } else {
                1.0 - both as f64 / either as f64
            };
            assert!((jaccard(&a, &b) - want).abs() < 1e-12, "{n}");
        }
    }

    #[test]
    fn exact_small_cases() {
        // 101 and 111 (bit(3)): one position differs; ∩ = 2, ∪ = 3.
        let (a, b) = ([0b1010_0000u8], [0b1110_0000u8]);
        assert_eq!(hamming(&a, &b), 1);
        assert!((jaccard(&a, &b) - (1.0 - 2.0 / 3.0)).abs() < 1e-15);
        assert_eq!(jaccard(&[0], &[0]), 1.0);
        assert_eq!(jaccard(&[0b1000_0000], &[0b0100_0000]), 1.0);
        assert_eq!(jaccard(&[0xff], &[0xff]), 0.0);
        assert_eq!(
            quantize(
                [1.0f32, -2.0, 0.0, 3.0, 0.5, -0.0, 1e-30, -1.0, 9.0]
                    .iter()
                    .map(|&x| x > 0.0)
            ),
            vec![0b1001_1010, 0b1000_0000]
        );
    }
}
