//! Sparse distances for the index, 16 indices against 16 at a time (AVX-512F with
//! AVX512_VP2INTERSECT).
//!
//! A merge walk ([`super::sparse`]) takes a hard-to-predict branch per stored element.
//! Here both index lists are walked in blocks of 16: `vp2intersectd` finds, in one
//! instruction, which lanes of a block of `a` and of a block of `b` hold an index
//! the other holds; the matched values are packed to the front of each (`vcompressps`;
//! both lists ascend, so they pair up lane by lane) and combined; the block whose last
//! index is smaller moves on (both when they are equal), and blocks whose index ranges
//! do not overlap are skipped. Only the shared indices need pairing: `a·b` is the sum
//! over them, `‖a - b‖² = ‖a‖² + ‖b‖² - 2 a·b`, and
//! `Σ|aᵢ - bᵢ| = Σ|aᵢ| + Σ|bᵢ| + Σ_shared (|aᵢ - bᵢ| - |aᵢ| - |bᵢ|)`. Summed in `f32` in
//! another order than pgvector's (and `‖a - b‖²` by that identity), so the last bits
//! differ from the SQL operators' ([`super::sparse`], which keep pgvector's sums); the
//! index only orders by them. Chosen for the AVX-512 table by `Kernels` where the CPU
//! has VP2INTERSECT; without it, 16 rotations and compares per pair of blocks measured
//! slower than the merge walk (`cargo bench --bench kernels -- sparse`).

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

/// The sum over the indices both `a` and `b` store of `aᵢ·bᵢ`, or with `L1` of
/// `|aᵢ - bᵢ| - |aᵢ| - |bᵢ|`.
///
/// # Safety
/// The CPU has AVX-512F and AVX512_VP2INTERSECT.
#[target_feature(enable = "avx512f,avx512vp2intersect")]
unsafe fn shared_sum<const L1: bool>(a: Sparse<'_>, b: Sparse<'_>) -> f32 {
    let ((ai, ax), (bi, bx)) = (a, b);
    assert!(ai.len() == ax.len() && bi.len() == bx.len());
    let (mut i, mut j) = (0, 0);
    let mut acc = _mm512_setzero_ps();
    while i < ai.len() && j < bi.len() {
        let (ka, kb) = ((ai.len() - i).min(16), (bi.len() - j).min(16));
        let (a_last, b_last) = (ai[i + ka - 1], bi[j + kb - 1]);
        if ai[i] <= b_last && bi[j] <= a_last {
            let (ma, mb) = (first(ka), first(kb));
            // SAFETY: the masked loads read the first `ka` (`kb`) elements from `i`
            // (`j`), all in bounds; the padding lanes' indices (-1 and -2) match no
            // stored index (indices are ≥ 0) nor each other. AVX512_VP2INTERSECT as
            // the caller guarantees.
            let (in_a, in_b, va, vb) = unsafe {
                let (in_a, in_b) = intersect(
                    _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), ma, ai.as_ptr().add(i)),
                    _mm512_mask_loadu_epi32(_mm512_set1_epi32(-2), mb, bi.as_ptr().add(j)),
                );
                (
                    in_a,
                    in_b,
                    _mm512_maskz_loadu_ps(ma, ax.as_ptr().add(i)),
                    _mm512_maskz_loadu_ps(mb, bx.as_ptr().add(j)),
                )
            };
            // Both lists ascend, so the matched values, packed to the front, pair up
            // lane by lane (zeros after them add nothing).
            let (x, y) = (
                _mm512_maskz_compress_ps(in_a, va),
                _mm512_maskz_compress_ps(in_b, vb),
            );
            acc = if L1 {
                let d = _mm512_abs_ps(_mm512_sub_ps(x, y));
                _mm512_add_ps(
                    acc,
                    _mm512_sub_ps(_mm512_sub_ps(d, _mm512_abs_ps(x)), _mm512_abs_ps(y)),
                )
            } else {
                _mm512_fmadd_ps(x, y, acc)
            };
        }
        if a_last <= b_last {
            i += ka;
        }
        if b_last <= a_last {
            j += kb;
        }
    }
    _mm512_reduce_add_ps(acc)
}

/// `Σ xᵢ²` when `squares`, else `Σ |xᵢ|`.
///
/// # Safety
/// The CPU has AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn own_sum(x: &[f32], squares: bool) -> f32 {
    let mut acc = _mm512_setzero_ps();
    for start in (0..x.len()).step_by(16) {
        // SAFETY: the masked load reads the lanes from `start` that are in bounds.
        let v = unsafe { _mm512_maskz_loadu_ps(first(x.len() - start), x.as_ptr().add(start)) };
        acc = if squares {
            _mm512_fmadd_ps(v, v, acc)
        } else {
            _mm512_add_ps(acc, _mm512_abs_ps(v))
        };
    }
    _mm512_reduce_add_ps(acc)
}

/// `true` when this CPU runs these kernels (AVX-512F and AVX512_VP2INTERSECT).
pub fn supported() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vp2intersect")
}

/// Inner product `Σ aᵢ·bᵢ`.
pub fn inner_product(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    f64::from(unsafe { shared_sum::<false>(a, b) })
}

/// Squared Euclidean distance `‖a‖² + ‖b‖² - 2 a·b` (at least 0).
pub fn l2_squared(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    let d = unsafe { own_sum(a.1, true) + own_sum(b.1, true) - 2.0 * shared_sum::<false>(a, b) };
    f64::from(d.max(0.0))
}

/// Manhattan distance `Σ |aᵢ - bᵢ|`.
pub fn l1_distance(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    assert!(supported());
    // SAFETY: the instruction sets, checked above.
    let d = unsafe { own_sum(a.1, false) + own_sum(b.1, false) + shared_sum::<true>(a, b) };
    f64::from(d.max(0.0))
}
