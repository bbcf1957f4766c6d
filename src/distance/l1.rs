//! L1 (Manhattan) distance kernels.
//!
//! simsimd has no f32 L1 kernel, so this one is ours: one loop written for 32
//! independent lanes, which the compiler vectorises, compiled three times — without
//! target features (portable; SSE2 on x86-64), with AVX2 and with AVX-512F — and
//! chosen at load time like the simsimd kernels.

const LANES: usize = 32;

#[inline(always)]
fn l1_body(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += (x[i] - y[i]).abs();
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += (x - y).abs();
    }
    // Pairwise reduction of the lanes keeps the rounding error low.
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// Portable L1 kernel.
pub fn l1_portable(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    f64::from(l1_body(a, b))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn l1_avx2_inner(a: &[f32], b: &[f32]) -> f32 {
    l1_body(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn l1_avx512_inner(a: &[f32], b: &[f32]) -> f32 {
    l1_body(a, b)
}

/// AVX2 L1 kernel. Only reachable through [`super::Kernels::for_isa`], which checks
/// that the CPU has AVX2 before it hands this function out.
#[cfg(target_arch = "x86_64")]
pub(super) fn l1_avx2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    debug_assert!(std::arch::is_x86_feature_detected!("avx2"));
    // SAFETY: this function is only put in a kernel table after
    // `is_x86_feature_detected!("avx2")` returned true.
    f64::from(unsafe { l1_avx2_inner(a, b) })
}

/// AVX-512 L1 kernel; see [`l1_avx2`] for the precondition.
#[cfg(target_arch = "x86_64")]
pub(super) fn l1_avx512(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    debug_assert!(std::arch::is_x86_feature_detected!("avx512f"));
    // SAFETY: this function is only put in a kernel table after
    // `is_x86_feature_detected!("avx512f")` returned true.
    f64::from(unsafe { l1_avx512_inner(a, b) })
}
