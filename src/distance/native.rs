//! Our distance kernels: squared L2, inner product and L1, on `f32` elements
//! (`vector`) and on IEEE binary16 elements ([`Half`], `halfvec`), both summed in
//! `f32`.
//!
//! One portable version (a 16-lane loop the compiler vectorises with the target
//! baseline; halves are widened one by one) and two written with `std::arch`
//! intrinsics: AVX2+FMA (four 8-lane accumulators; halves widened 8 at a time by
//! F16C's `vcvtph2ps`) and AVX-512F (two 16-lane accumulators; halves widened 16 at a
//! time by AVX-512F's `vcvtph2ps`). Each kernel is written once for both element types:
//! only the load differs. Several independent
//! accumulators keep the loop bound by throughput rather than by the latency of one
//! accumulator chain, which is what makes these faster than simsimd's kernels at 384
//! dimensions (`cargo bench --bench kernels`). Chosen at load time by `Kernels`.

use crate::types::half::Half;

const LANES: usize = 16;

/// An element type the kernels read: its value as `f32` (exact for both).
pub(in crate::distance) trait Element: Copy {
    fn widen(self) -> f32;
}

impl Element for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
}

impl Element for Half {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
}

#[inline(always)]
fn portable_sum<T: Element>(a: &[T], b: &[T], term: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += term(x[i].widen(), y[i].widen());
        }
    }
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0]
        + ra.iter()
            .zip(rb)
            .map(|(&x, &y)| term(x.widen(), y.widen()))
            .sum::<f32>()
}

/// Portable squared L2.
pub fn l2_squared_portable<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len());
    f64::from(portable_sum(a, b, |x, y| (x - y) * (x - y)))
}

/// Portable inner product.
pub fn dot_portable<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len());
    f64::from(portable_sum(a, b, |x, y| x * y))
}

/// Portable L1.
pub fn l1_portable<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len());
    f64::from(portable_sum(a, b, |x, y| (x - y).abs()))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Element;
    use crate::types::half::Half;
    use std::arch::x86_64::*;

    /// Loads 8 and 16 lanes of an element type as `f32`s.
    pub(in crate::distance) trait Load: Element {
        /// # Safety
        /// AVX2, FMA and F16C; `p` points to 8 readable elements.
        unsafe fn load8(p: *const Self) -> __m256;
        /// # Safety
        /// AVX-512F; `p` points to 16 readable elements.
        unsafe fn load16(p: *const Self) -> __m512;
    }

    impl Load for f32 {
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load8(p: *const f32) -> __m256 {
            // SAFETY: the caller guarantees 8 readable floats.
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn load16(p: *const f32) -> __m512 {
            // SAFETY: the caller guarantees 16 readable floats.
            unsafe { _mm512_loadu_ps(p) }
        }
    }

    impl Load for Half {
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load8(p: *const Half) -> __m256 {
            // SAFETY: the caller guarantees 8 readable halves (16 bytes); F16C widens
            // them exactly.
            unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
        }
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma,f16c")]
        unsafe fn load16(p: *const Half) -> __m512 {
            // SAFETY: the caller guarantees 16 readable halves (32 bytes).
            unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
        }
    }

    /// Horizontal sum of 8 lanes.
    #[inline(always)]
    unsafe fn hsum256(v: __m256) -> f32 {
        // SAFETY: register-only intrinsics, called from AVX2 functions.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            _mm_cvtss_f32(s)
        }
    }

    macro_rules! avx2_kernel {
        ($name:ident, |$x:ident, $y:ident, $acc:ident| $step:expr, |$sx:ident, $sy:ident| $scalar:expr) => {
            /// # Safety
            /// The CPU must support AVX2, FMA and F16C; `a` and `b` must have equal
            /// lengths.
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn $name<T: Load>(a: &[T], b: &[T]) -> f32 {
                let n = a.len();
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let mut i = 0;
                // SAFETY: every load reads 8 elements at `i < n - 7` of both slices.
                unsafe {
                    let mut acc = [_mm256_setzero_ps(); 4];
                    while i + 32 <= n {
                        for (k, $acc) in acc.iter_mut().enumerate() {
                            let $x = T::load8(pa.add(i + 8 * k));
                            let $y = T::load8(pb.add(i + 8 * k));
                            *$acc = $step;
                        }
                        i += 32;
                    }
                    while i + 8 <= n {
                        let $x = T::load8(pa.add(i));
                        let $y = T::load8(pb.add(i));
                        let $acc = &mut acc[0];
                        *$acc = $step;
                        i += 8;
                    }
                    let sum =
                        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
                    let mut total = hsum256(sum);
                    while i < n {
                        let ($sx, $sy) = ((*pa.add(i)).widen(), (*pb.add(i)).widen());
                        total += $scalar;
                        i += 1;
                    }
                    total
                }
            }
        };
    }

    macro_rules! avx512_kernel {
        ($name:ident, |$x:ident, $y:ident, $acc:ident| $step:expr, |$sx:ident, $sy:ident| $scalar:expr) => {
            /// # Safety
            /// The CPU must support AVX-512F, AVX2, FMA and F16C; `a` and `b` must have
            /// equal lengths.
            #[target_feature(enable = "avx512f,avx2,fma,f16c")]
            pub unsafe fn $name<T: Load>(a: &[T], b: &[T]) -> f32 {
                let n = a.len();
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let mut i = 0;
                // SAFETY: every load reads 16 elements at `i < n - 15` of both slices.
                unsafe {
                    let mut acc = [_mm512_setzero_ps(); 2];
                    while i + 32 <= n {
                        for (k, $acc) in acc.iter_mut().enumerate() {
                            let $x = T::load16(pa.add(i + 16 * k));
                            let $y = T::load16(pb.add(i + 16 * k));
                            *$acc = $step;
                        }
                        i += 32;
                    }
                    while i + 16 <= n {
                        let $x = T::load16(pa.add(i));
                        let $y = T::load16(pb.add(i));
                        let $acc = &mut acc[0];
                        *$acc = $step;
                        i += 16;
                    }
                    let mut total = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
                    while i < n {
                        let ($sx, $sy) = ((*pa.add(i)).widen(), (*pb.add(i)).widen());
                        total += $scalar;
                        i += 1;
                    }
                    total
                }
            }
        };
    }

    avx2_kernel!(
        l2_avx2,
        |x, y, acc| {
            let d = _mm256_sub_ps(x, y);
            _mm256_fmadd_ps(d, d, *acc)
        },
        |x, y| (x - y) * (x - y)
    );
    avx2_kernel!(dot_avx2, |x, y, acc| _mm256_fmadd_ps(x, y, *acc), |x, y| x
        * y);
    avx2_kernel!(
        l1_avx2,
        |x, y, acc| {
            _mm256_add_ps(
                *acc,
                _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(x, y)),
            )
        },
        |x, y| (x - y).abs()
    );
    avx512_kernel!(
        l2_avx512,
        |x, y, acc| {
            let d = _mm512_sub_ps(x, y);
            _mm512_fmadd_ps(d, d, *acc)
        },
        |x, y| (x - y) * (x - y)
    );
    avx512_kernel!(
        dot_avx512,
        |x, y, acc| _mm512_fmadd_ps(x, y, *acc),
        |x, y| x * y
    );
    avx512_kernel!(
        l1_avx512,
        |x, y, acc| _mm512_add_ps(*acc, _mm512_abs_ps(_mm512_sub_ps(x, y))),
        |x, y| (x - y).abs()
    );
}

macro_rules! dispatch {
    ($name:ident, $inner:ident, $isa:expr) => {
        /// Kernel for the instruction set in its name, on `f32` or [`Half`] elements.
        /// Only reachable through [`super::Kernels::for_isa`], which hands it out after
        /// checking the CPU.
        #[cfg(target_arch = "x86_64")]
        pub(super) fn $name<T: x86::Load>(a: &[T], b: &[T]) -> f64 {
            assert_eq!(a.len(), b.len());
            debug_assert!($isa.supported());
            // SAFETY: installed in a kernel table only after `Isa::supported` returned
            // true for this instruction set; lengths are equal (asserted).
            f64::from(unsafe { x86::$inner(a, b) })
        }
    };
}
dispatch!(l2_squared_avx2, l2_avx2, super::Isa::Avx2);
dispatch!(dot_avx2, dot_avx2, super::Isa::Avx2);
dispatch!(l1_avx2, l1_avx2, super::Isa::Avx2);
dispatch!(l2_squared_avx512, l2_avx512, super::Isa::Avx512);
dispatch!(dot_avx512, dot_avx512, super::Isa::Avx512);
dispatch!(l1_avx512, l1_avx512, super::Isa::Avx512);
