//! Bit-string kernels (`bit(n)`, pgvector's `<~>` and `<%>`): population counts of
//! `a XOR b` (Hamming) and of `a AND b`, `a OR b` (Jaccard), over the bytes of two
//! bit strings of equal length whose pad bits are zero.
//!
//! Three versions, picked with the other kernels by [`super::Kernels`]: portable
//! (`u64::count_ones` on the target baseline, which has no POPCNT instruction), POPCNT
//! (Hamming at the `avx2` level) and AVX-512 VPOPCNTDQ (the `avx512` level when the CPU
//! has that extension and AVX-512BW, else POPCNT): eight 64-bit counts per instruction,
//! the tail read by one masked load. Jaccard at the `avx2` level is simsimd's, which
//! measured faster than our POPCNT one ([`jaccard_popcnt_kernel`] keeps ours testable
//! and measurable).

/// Counts of one Jaccard distance: `(|a ∩ b|, |a ∪ b|)` in bits.
type JaccardCounts = (u64, u64);

/// A Hamming kernel: the number of differing bits.
pub type HammingKernel = fn(&[u8], &[u8]) -> u64;

/// A Jaccard kernel: the distance ([`jaccard_distance`]).
pub type JaccardKernel = fn(&[u8], &[u8]) -> f64;

/// Jaccard distance `1 - |a ∩ b| / |a ∪ b|` from its counts; 1 when the sets share no
/// bit (both empty included), as pgvector's `jaccard_distance` (and simsimd's).
#[inline]
pub fn jaccard_distance((both, either): JaccardCounts) -> f64 {
    if both == 0 {
        1.0
    } else {
        1.0 - both as f64 / either as f64
    }
}

/// Folds the 64-bit words of `a` and `b` (native order: popcounts do not care), then
/// their tail bytes (widened), through `word`.
#[inline(always)]
fn fold<A: Copy + std::ops::Add<Output = A>>(
    a: &[u8],
    b: &[u8],
    zero: A,
    word: impl Fn(u64, u64) -> A,
) -> A {
    assert_eq!(a.len(), b.len());
    let (wa, ta) = a.as_chunks::<8>();
    let (wb, tb) = b.as_chunks::<8>();
    let mut acc = zero;
    for (x, y) in wa.iter().zip(wb) {
        acc = acc + word(u64::from_ne_bytes(*x), u64::from_ne_bytes(*y));
    }
    for (&x, &y) in ta.iter().zip(tb) {
        acc = acc + word(x.into(), y.into());
    }
    acc
}

/// Two counts added lane by lane.
#[derive(Clone, Copy)]
struct Counts(u64, u64);

impl std::ops::Add for Counts {
    type Output = Counts;
    #[inline(always)]
    fn add(self, o: Counts) -> Counts {
        Counts(self.0 + o.0, self.1 + o.1)
    }
}

#[inline(always)]
fn hamming_generic(a: &[u8], b: &[u8]) -> u64 {
    fold(a, b, 0, |x, y| u64::from((x ^ y).count_ones()))
}

#[inline(always)]
fn jaccard_generic(a: &[u8], b: &[u8]) -> JaccardCounts {
    let c = fold(a, b, Counts(0, 0), |x, y| {
        Counts((x & y).count_ones().into(), (x | y).count_ones().into())
    });
    (c.0, c.1)
}

/// Portable Hamming distance.
pub fn hamming_portable(a: &[u8], b: &[u8]) -> u64 {
    hamming_generic(a, b)
}

/// Portable Jaccard distance.
pub fn jaccard_portable(a: &[u8], b: &[u8]) -> f64 {
    jaccard_distance(jaccard_generic(a, b))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support POPCNT.
    #[target_feature(enable = "popcnt")]
    pub unsafe fn hamming_popcnt(a: &[u8], b: &[u8]) -> u64 {
        super::hamming_generic(a, b)
    }

    /// # Safety
    /// The CPU must support POPCNT.
    #[target_feature(enable = "popcnt")]
    pub unsafe fn jaccard_popcnt(a: &[u8], b: &[u8]) -> f64 {
        super::jaccard_distance(super::jaccard_generic(a, b))
    }

    /// Sums the 64-byte blocks of `a` and `b` through `step` (two 8×u64 accumulators),
    /// the last partial block read by a masked load (zeros past the end).
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ; equal lengths.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    unsafe fn blocks(
        a: &[u8],
        b: &[u8],
        step: impl Fn(__m512i, __m512i, &mut [__m512i; 2]),
    ) -> [u64; 2] {
        let n = a.len();
        // SAFETY: each full load reads 64 bytes at `i <= n - 64` of both slices; the
        // masked load touches only the `n - i < 64` bytes its mask selects.
        unsafe {
            let mut acc = [_mm512_setzero_si512(); 2];
            let mut i = 0;
            while i + 64 <= n {
                let x = _mm512_loadu_si512(a.as_ptr().add(i).cast());
                let y = _mm512_loadu_si512(b.as_ptr().add(i).cast());
                step(x, y, &mut acc);
                i += 64;
            }
            if i < n {
                let mask: __mmask64 = (1u64 << (n - i)) - 1;
                let x = _mm512_maskz_loadu_epi8(mask, a.as_ptr().add(i).cast());
                let y = _mm512_maskz_loadu_epi8(mask, b.as_ptr().add(i).cast());
                step(x, y, &mut acc);
            }
            let sum = |v: __m512i| _mm512_reduce_add_epi64(v) as u64;
            [sum(acc[0]), sum(acc[1])]
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ; equal lengths.
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    pub unsafe fn hamming_avx512(a: &[u8], b: &[u8]) -> u64 {
        // SAFETY: the caller guarantees the CPU features and equal lengths.
        unsafe {
            blocks(a, b, |x, y, acc| {
                acc[0] = _mm512_add_epi64(acc[0], _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
            })[0]
        }
    }

    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ; equal lengths.
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    pub unsafe fn jaccard_avx512(a: &[u8], b: &[u8]) -> f64 {
        // SAFETY: the caller guarantees the CPU features and equal lengths.
        let [both, either] = unsafe {
            blocks(a, b, |x, y, acc| {
                acc[0] = _mm512_add_epi64(acc[0], _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
                acc[1] = _mm512_add_epi64(acc[1], _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
            })
        };
        super::jaccard_distance((both, either))
    }
}

/// Our POPCNT Jaccard kernel, when this CPU has the AVX2 level (for the tests and the
/// benchmark beside simsimd's, which the kernel table installs instead).
pub fn jaccard_popcnt_kernel() -> Option<JaccardKernel> {
    #[cfg(target_arch = "x86_64")]
    if super::Isa::Avx2.supported() {
        return Some(jaccard_popcnt);
    }
    None
}

/// Whether this CPU can run [`hamming_avx512`] and [`jaccard_avx512`].
pub fn has_vpopcntdq() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

macro_rules! dispatch {
    ($name:ident, $inner:ident, $out:ty, $check:expr) => {
        /// Kernel for the instructions in its name. Only reachable through
        /// [`super::Kernels::for_isa`], which hands it out after checking the CPU.
        #[cfg(target_arch = "x86_64")]
        pub(super) fn $name(a: &[u8], b: &[u8]) -> $out {
            assert_eq!(a.len(), b.len());
            debug_assert!($check);
            // SAFETY: installed in a kernel table only after the CPU check above
            // passed (`Isa::supported`, `has_vpopcntdq`); lengths are equal.
            unsafe { x86::$inner(a, b) }
        }
    };
}
dispatch!(
    hamming_popcnt,
    hamming_popcnt,
    u64,
    super::Isa::Avx2.supported()
);
dispatch!(
    jaccard_popcnt,
    jaccard_popcnt,
    f64,
    super::Isa::Avx2.supported()
);
dispatch!(hamming_avx512, hamming_avx512, u64, has_vpopcntdq());
dispatch!(jaccard_avx512, jaccard_avx512, f64, has_vpopcntdq());

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The reference: bit by bit.
    fn reference(a: &[u8], b: &[u8]) -> (u64, JaccardCounts) {
        let bit = |v: &[u8], i: usize| v[i / 8] >> (i % 8) & 1 == 1;
        let (mut differ, mut both, mut either) = (0, 0, 0);
        for i in 0..a.len() * 8 {
            let (x, y) = (bit(a, i), bit(b, i));
            differ += u64::from(x != y);
            both += u64::from(x && y);
            either += u64::from(x || y);
        }
        (differ, (both, either))
    }

    #[test]
    fn every_bit_kernel_matches_the_reference_on_every_length() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(23);
        let kernels: Vec<_> = super::super::Isa::ALL
            .into_iter()
            .filter_map(super::super::Kernels::for_isa)
            .collect();
        for bytes in [0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 200, 384, 1000, 8000] {
            let a: Vec<u8> = (0..bytes).map(|_| rng.random()).collect();
            let b: Vec<u8> = (0..bytes).map(|_| rng.random()).collect();
            let (hamming, jaccard) = reference(&a, &b);
            for k in &kernels {
                assert_eq!(k.hamming(&a, &b), hamming, "{:?} {bytes} bytes", k.isa());
                let jaccard = jaccard_distance(jaccard);
                assert_eq!(k.jaccard(&a, &b), jaccard, "{:?} {bytes}", k.isa());
                if let Some(ours) = jaccard_popcnt_kernel() {
                    assert_eq!(ours(&a, &b), jaccard, "POPCNT {bytes}");
                }
                // simsimd's, which the benchmark compares with ours, count the same.
                if let Some(s) = super::super::simsimd::SimsimdBits::for_isa(k.isa()) {
                    assert_eq!(s.hamming(&a, &b), hamming as f64, "simsimd {:?}", k.isa());
                    assert_eq!(s.jaccard(&a, &b), jaccard, "simsimd {:?}", k.isa());
                }
            }
        }
    }
}
