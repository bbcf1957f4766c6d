//! Sparse distances for the index, 16 indices against 16 at a time (AVX-512F with
//! AVX512_VP2INTERSECT).
//!
//! A merge walk ([`super::sparse`]) takes a hard-to-predict branch per stored element.
//! Here both index lists are walked in blocks of 16: `vp2intersectd` finds, in one
//! instruction, which lanes of a block of `a` and of a block of `b` hold an index
//! the other holds; the matched values are packed to the front of each (`vcompressps`;
//! both lists ascend, so they pair up lane by lane) and combined; the block whose last
//! index is smaller moves on (both when they are equal), and blocks whose index ranges
//! do not overlap are skipped. A block's lanes that matched nothing add their own term
//! (`x²`, `|x|`) when it moves on. Every term is summed as it is (never as a difference
//! of norms, which would cancel for near vectors), in `f32`, in another order than
//! pgvector's: the last bits differ from the SQL operators' ([`super::sparse`], which
//! keep pgvector's sums), as between any two orders of summing.
//!
//! Chosen for the AVX-512 table by `Kernels` where the CPU has a fast VP2INTERSECT
//! ([`measured_fast`]); without it, 16 rotations and compares per pair of blocks
//! measured slower than the merge walk (`cargo bench --bench kernels -- sparse`).

use super::sparse::Sparse;
use std::arch::x86_64::*;

/// The mask of the first `n` (at most 16) lanes.
#[inline(always)]
fn first(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// The lanes of `a` and of `b` whose indices the other holds: `vp2intersectd`
/// (AVX512_VP2INTERSECT, which `std::arch` does not offer yet), its two masks read
/// from the pair `k2`, `k3`.
///
/// # Safety
/// The CPU has AVX-512F and AVX512_VP2INTERSECT.
#[inline]
#[target_feature(enable = "avx512f,avx512vp2intersect")]
unsafe fn intersect(a: __m512i, b: __m512i) -> (__mmask16, __mmask16) {
    let (in_a, in_b): (u32, u32);
    // SAFETY: the instruction and the mask moves only read the two vector registers
    // and write the mask pair `k2`, `k3` (declared clobbered) and two general
    // registers; no memory, no stack.
    unsafe {
        std::arch::asm!(
            "vp2intersectd k2, {a}, {b}",
            "kmovw {x:e}, k2",
            "kmovw {y:e}, k3",
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            x = out(reg) in_a,
            y = out(reg) in_b,
            out("k2") _,
            out("k3") _,
            options(pure, nomem, nostack),
        );
    }
    (in_a as __mmask16, in_b as __mmask16)
}

/// What a kernel sums.
const DOT: u8 = 0;
const L2: u8 = 1;
const L1: u8 = 2;

/// What the lanes of `v` under `mask` add when the other vector has zeros there:
/// `x²` (L2) or `|x|` (L1).
#[inline]
#[target_feature(enable = "avx512f")]
fn alone<const KIND: u8>(acc: __m512, mask: __mmask16, v: __m512) -> __m512 {
    let x = _mm512_maskz_mov_ps(mask, v);
    if KIND == L2 {
        _mm512_fmadd_ps(x, x, acc)
    } else {
        _mm512_add_ps(acc, _mm512_abs_ps(x))
    }
}

/// The `k` (at most 16) values of `x` from `at` (zeros after them).
#[inline]
#[target_feature(enable = "avx512f")]
fn values(x: &[f32], at: usize, k: usize) -> __m512 {
    assert!(k <= 16 && at + k <= x.len());
    // SAFETY: the masked load reads the `k` elements from `at`, in bounds (checked).
    unsafe { _mm512_maskz_loadu_ps(first(k), x.as_ptr().add(at)) }
}

/// `Σ aᵢ·bᵢ` (DOT), `Σ (aᵢ - bᵢ)²` (L2) or `Σ |aᵢ - bᵢ|` (L1), each term summed as
/// it is (no cancellation between norms: the result is as precise as the distance).
///
/// # Safety
/// The CPU has AVX-512F and AVX512_VP2INTERSECT.
#[target_feature(enable = "avx512f,avx512vp2intersect")]
unsafe fn sum<const KIND: u8>(a: Sparse<'_>, b: Sparse<'_>) -> f32 {
    let ((ai, ax), (bi, bx)) = (a, b);
    assert!(ai.len() == ax.len() && bi.len() == bx.len());
    let (mut i, mut j) = (0, 0);
    // The lanes of the current blocks matched so far.
    let (mut seen_a, mut seen_b): (__mmask16, __mmask16) = (0, 0);
    let mut acc = _mm512_setzero_ps();
    while i < ai.len() && j < bi.len() {
        let (ka, kb) = ((ai.len() - i).min(16), (bi.len() - j).min(16));
        let (a_last, b_last) = (ai[i + ka - 1], bi[j + kb - 1]);
        let (va, vb) = (values(ax, i, ka), values(bx, j, kb));
        if ai[i] <= b_last && bi[j] <= a_last {
            // SAFETY: masked loads as above; the padding lanes' indices (-1 and -2)
            // match no stored index (indices are ≥ 0) nor each other.
            // AVX512_VP2INTERSECT as the caller guarantees.
            let (in_a, in_b) = unsafe {
                intersect(
                    _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), first(ka), ai.as_ptr().add(i)),
                    _mm512_mask_loadu_epi32(_mm512_set1_epi32(-2), first(kb), bi.as_ptr().add(j)),
                )
            };
            (seen_a, seen_b) = (seen_a | in_a, seen_b | in_b);
            // Both lists ascend, so the matched values, packed to the front, pair up
            // lane by lane (zeros after them add nothing).
            let (x, y) = (
                _mm512_maskz_compress_ps(in_a, va),
                _mm512_maskz_compress_ps(in_b, vb),
            );
            acc = match KIND {
                DOT => _mm512_fmadd_ps(x, y, acc),
                L2 => {
                    let d = _mm512_sub_ps(x, y);
                    _mm512_fmadd_ps(d, d, acc)
                }
                _ => _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(x, y))),
            };
        }
        // A block that moves on has met every index of the other list it can: its
        // unmatched lanes are alone.
        if a_last <= b_last {
            if KIND != DOT {
                acc = alone::<KIND>(acc, first(ka) & !seen_a, va);
            }
            (i, seen_a) = (i + ka, 0);
        }
        if b_last <= a_last {
            if KIND != DOT {
                acc = alone::<KIND>(acc, first(kb) & !seen_b, vb);
            }
            (j, seen_b) = (j + kb, 0);
        }
    }
    if KIND != DOT {
        // What is left of either list (the first block maybe partly matched) is alone.
        for (x, mut at, mut seen) in [(ax, i, seen_a), (bx, j, seen_b)] {
            while at < x.len() {
                let k = (x.len() - at).min(16);
                acc = alone::<KIND>(acc, first(k) & !seen, values(x, at, k));
                (at, seen) = (at + k, 0);
            }
        }
    }
    _mm512_reduce_add_ps(acc)
}

/// `true` when this CPU runs these kernels (AVX-512F and AVX512_VP2INTERSECT).
pub fn supported() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vp2intersect")
}

/// `true` where these kernels measured faster than the merge walk: AMD's CPUs with
/// VP2INTERSECT (Zen 5, where `vp2intersectd` is one fast instruction). Intel's only
/// CPUs with it (Tiger Lake) run it as a slow microcoded sequence, slower than
/// emulating it (Díez-Cañas, "Faster-Than-Native Alternatives for x86 VP2INTERSECT
/// Instructions", 2022): they keep the merge walk.
pub fn measured_fast() -> bool {
    // CPUID leaf 0: the vendor, on every x86-64 CPU.
    let id = __cpuid(0);
    let vendor = [id.ebx, id.edx, id.ecx].map(u32::to_le_bytes).concat();
    supported() && vendor == b"AuthenticAMD"
}

/// Inner product `Σ aᵢ·bᵢ`.
pub fn inner_product(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    f64::from(unsafe { sum::<DOT>(a, b) })
}

/// Squared Euclidean distance `Σ (aᵢ - bᵢ)²`.
pub fn l2_squared(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    f64::from(unsafe { sum::<L2>(a, b) })
}

/// Manhattan distance `Σ |aᵢ - bᵢ|`.
pub fn l1_distance(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    f64::from(unsafe { sum::<L1>(a, b) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::sparse;
    use rand::{Rng, SeedableRng};

    /// Each kernel of `p` and `q`, both ways round, against the merge walk: f32 sums
    /// of up to 2,000 terms, within 1e-4 of the result.
    fn close(p: Sparse<'_>, q: Sparse<'_>, case: &str) {
        for (x, y) in [(p, q), (q, p)] {
            for (what, got, want) in [
                ("l2", l2_squared(x, y), sparse::l2_squared(x, y)),
                ("l1", l1_distance(x, y), sparse::l1_distance(x, y)),
                ("ip", inner_product(x, y), sparse::inner_product(x, y)),
            ] {
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs() + 1e-30,
                    "{what} {case}: {got} vs {want}"
                );
            }
        }
    }

    /// Against the merge walk on vectors of large values that differ a little (the
    /// distance is small beside the norms, so it must be summed term by term), with
    /// shared and unshared indices, blocks that do and do not overlap, at lengths
    /// around the block size. Skipped, saying so, on a CPU without the kernels.
    #[test]
    fn blocks_match_the_merge_walk_near_and_far() {
        if !supported() {
            eprintln!("skipped: this CPU has no AVX-512 VP2INTERSECT");
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(45);
        for n in [1usize, 15, 16, 17, 33, 100, 1000] {
            for (scale, keep) in [
                (1.0f32, 0.9),
                (1000.0, 1.0),
                (1000.0, 0.9),
                (1e5, 1.0),
                (1e5, 0.9),
            ] {
                let idx: Vec<i32> = {
                    let mut v: Vec<i32> =
                        (0..n).map(|_| rng.random_range(0..4 * n as i32)).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                let a: Vec<f32> = idx
                    .iter()
                    .map(|_| scale * rng.random_range(0.5f32..1.0))
                    .collect();
                // b: a's values nudged (all of them kept, so the distance is tiny beside
                // the norms, or a tenth dropped and a few others added).
                let mut b: Vec<(i32, f32)> = Vec::new();
                for (&i, &x) in idx.iter().zip(&a) {
                    if rng.random_bool(keep) {
                        b.push((i, x + rng.random_range(-0.01f32..0.01)));
                    }
                }
                // Others of its own, among a's and after them, as large as a's.
                for _ in 0..if keep < 1.0 { n / 5 + 1 } else { 0 } {
                    let i = rng.random_range(0..5 * n as i32 + 1);
                    if !idx.contains(&i) && !b.iter().any(|&(j, _)| j == i) {
                        b.push((i, scale * rng.random_range(0.5f32..1.0)));
                    }
                }
                b.sort_by_key(|&(i, _)| i);
                let (bi, bx): (Vec<i32>, Vec<f32>) = b.into_iter().unzip();
                let (p, q) = ((&idx[..], &a[..]), (&bi[..], &bx[..]));
                close(p, q, &format!("n={n} scale={scale} keep={keep}"));
                assert_eq!((l2_squared(p, p), l1_distance(p, p)), (0.0, 0.0));
            }
        }
        // Blocks that overlap in turn and blocks skipped on either side: a's blocks
        // 0..16 and 200..216 against b's 100..116 and 300..316, a range before the
        // other's, and blocks sharing some indices with either neighbour.
        let range = |r: std::ops::Range<i32>| r.collect::<Vec<i32>>();
        let ones = |n: usize, x: f32| vec![x; n];
        let a_i: Vec<i32> = [range(0..16), range(200..216)].concat();
        let b_i: Vec<i32> = [range(100..116), range(300..316)].concat();
        let c_i: Vec<i32> = [range(8..24), range(190..206), range(210..230)].concat();
        let (a_x, b_x, c_x) = (ones(32, 1.5), ones(32, 0.5), ones(52, 2.0));
        for (p, q) in [
            ((&a_i[..], &a_x[..]), (&b_i[..], &b_x[..])),
            ((&a_i[..], &a_x[..]), (&c_i[..], &c_x[..])),
            ((&b_i[..], &b_x[..]), (&c_i[..], &c_x[..])),
        ] {
            close(p, q, "fixed blocks");
        }
        // Disjoint index ranges (every block pair skipped) and an empty vector.
        let p = (&[0, 1, 2][..], &[1.0f32, 2.0, 3.0][..]);
        let q = (&[100, 200][..], &[4.0f32, 5.0][..]);
        let e = (&[][..], &[][..]);
        assert_eq!(
            (l2_squared(p, q), l1_distance(p, q), inner_product(p, q)),
            (55.0, 15.0, 0.0)
        );
        assert_eq!((l2_squared(p, e), l1_distance(e, q)), (14.0, 9.0));
    }
}
