//! simsimd's kernels (f32, f16 and bit strings), an independent implementation our
//! kernels are tested and benchmarked against.
//!
//! The `simsimd` crate compiles its C library with dynamic dispatch, which contains
//! every x86 variant of each kernel (`serial`, `haswell` = AVX2+FMA, `skylake` =
//! AVX-512F). Its Rust API only exposes the automatically dispatched entry points, so
//! to choose a kernel ourselves (and to test the portable and AVX2 variants on a CPU
//! that has AVX-512) we ask the C registry, `simsimd_find_kernel_punned`, for the
//! kernel of one capability and keep the returned function pointer.
//!
//! Source: simsimd `include/simsimd/simsimd.h` (`simsimd_find_kernel_punned`,
//! `simsimd_metric_kind_t`, `simsimd_datatype_t`, `simsimd_capability_t`).

use crate::types::half::Half;
use std::ffi::c_void;

// Link simsimd's static C library, whose symbols the declarations below refer to; we
// use no Rust item of the crate.
extern crate simsimd;

/// `simsimd_metric_dense_punned_t`: `(a, b, n, *distance)`, distance is `f64`.
type DenseKernel = unsafe extern "C" fn(*const c_void, *const c_void, usize, *mut f64);

/// The simsimd metrics we use (`simsimd_metric_kind_t`, a C enum of ASCII codes).
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
enum Metric {
    /// `simsimd_metric_l2sq_k`: squared Euclidean distance.
    L2Squared = b'e' as u32,
    /// `simsimd_metric_dot_k`: inner product.
    Dot = b'i' as u32,
    /// `simsimd_metric_hamming_k`: differing bits.
    Hamming = b'h' as u32,
    /// `simsimd_metric_jaccard_k`: Jaccard distance of bit sets.
    Jaccard = b'j' as u32,
}

/// `simsimd_datatype_f32_k`.
const DATATYPE_F32: u32 = 1 << 11;
/// `simsimd_datatype_f16_k`.
const DATATYPE_F16: u32 = 1 << 12;
/// `simsimd_datatype_b8_k`: bits packed 8 to a byte.
const DATATYPE_B8: u32 = 1 << 1;
/// `simsimd_cap_ice_k`: AVX-512 with VPOPCNTDQ, VNNI, BITALG (its bit-string kernels).
const CAP_ICE: u32 = 1 << 12;

/// `simsimd_cap_serial_k`: portable C, no SIMD.
const CAP_SERIAL: u32 = 1;
/// `simsimd_cap_haswell_k`: AVX2 with FMA and F16C.
const CAP_HASWELL: u32 = 1 << 10;
/// `simsimd_cap_skylake_k`: AVX-512 F/CD/VL/DQ/BW.
const CAP_SKYLAKE: u32 = 1 << 11;

extern "C" {
    fn simsimd_capabilities() -> u32;
    fn simsimd_find_kernel_punned(
        kind: u32,
        datatype: u32,
        supported: u32,
        allowed: u32,
        kernel_output: *mut Option<DenseKernel>,
        capability_output: *mut u32,
    );
}

/// The capability bits simsimd detected on this CPU (CPUID, cached by simsimd).
fn capabilities() -> u32 {
    // SAFETY: a pure C function without arguments; it reads CPUID and a static cache.
    unsafe { simsimd_capabilities() }
}

/// The kernel of `metric` on `datatype` compiled for exactly `capability`, if this CPU
/// supports that capability and simsimd has such a kernel.
fn find_kernel(metric: Metric, datatype: u32, capability: u32) -> Option<DenseKernel> {
    let supported = capabilities();
    if supported & capability == 0 {
        return None;
    }
    let mut kernel: Option<DenseKernel> = None;
    let mut chosen: u32 = 0;
    // SAFETY: both out-pointers point to live locals of the right types; the C function
    // only writes them. `Option<extern fn>` has the layout of a nullable C function pointer.
    unsafe {
        simsimd_find_kernel_punned(
            metric as u32,
            datatype,
            supported,
            capability,
            &mut kernel,
            &mut chosen,
        );
    }
    if chosen == capability {
        kernel
    } else {
        None
    }
}

/// An element type simsimd has dense kernels for (sealed to `f32` and [`Half`]).
pub trait DenseElement: sealed::Sealed + Copy {
    /// simsimd's `simsimd_datatype_t` of the element.
    const DATATYPE: u32;
    /// The capability whose kernels stand for `isa`, if simsimd has them for this type.
    fn capability(isa: super::Isa) -> Option<u32>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for super::Half {}
}

impl DenseElement for f32 {
    const DATATYPE: u32 = DATATYPE_F32;
    fn capability(isa: super::Isa) -> Option<u32> {
        Some(match isa {
            super::Isa::Portable => CAP_SERIAL,
            super::Isa::Avx2 => CAP_HASWELL,
            super::Isa::Avx512 => CAP_SKYLAKE,
        })
    }
}

impl DenseElement for Half {
    const DATATYPE: u32 = DATATYPE_F16;
    /// Its `haswell` kernels use F16C; it has no AVX-512F f16 kernel, only AVX-512 FP16
    /// (`sapphire`) ones.
    fn capability(isa: super::Isa) -> Option<u32> {
        match isa {
            super::Isa::Portable => Some(CAP_SERIAL),
            super::Isa::Avx2 => Some(CAP_HASWELL),
            super::Isa::Avx512 => None,
        }
    }
}

/// simsimd's squared-L2 and inner-product kernels on elements `T` for one instruction
/// set.
#[derive(Clone, Copy, Debug)]
pub struct SimsimdDense<T> {
    l2_squared: DenseKernel,
    dot: DenseKernel,
    _element: std::marker::PhantomData<T>,
}

/// simsimd's f32 kernels.
pub type Simsimd = SimsimdDense<f32>;
/// simsimd's f16 kernels (`halfvec` elements).
pub type SimsimdHalf = SimsimdDense<Half>;

impl<T: DenseElement> SimsimdDense<T> {
    /// The kernels compiled for `isa`, when this CPU supports it and simsimd has them.
    pub fn for_isa(isa: super::Isa) -> Option<SimsimdDense<T>> {
        let cap = T::capability(isa)?;
        Some(SimsimdDense {
            l2_squared: find_kernel(Metric::L2Squared, T::DATATYPE, cap)?,
            dot: find_kernel(Metric::Dot, T::DATATYPE, cap)?,
            _element: std::marker::PhantomData,
        })
    }

    /// Squared Euclidean distance.
    pub fn l2_squared(&self, a: &[T], b: &[T]) -> f64 {
        call_raw(self.l2_squared, a, b)
    }

    /// Inner product.
    pub fn inner_product(&self, a: &[T], b: &[T]) -> f64 {
        call_raw(self.dot, a, b)
    }
}

/// simsimd's bit-string Hamming and Jaccard kernels for one instruction set (`ice` for
/// AVX-512, with VPOPCNTDQ).
#[derive(Clone, Copy, Debug)]
pub struct SimsimdBits {
    hamming: DenseKernel,
    jaccard: DenseKernel,
}

impl SimsimdBits {
    /// The kernels compiled for `isa`, when this CPU supports it.
    pub fn for_isa(isa: super::Isa) -> Option<SimsimdBits> {
        let cap = match isa {
            super::Isa::Portable => CAP_SERIAL,
            super::Isa::Avx2 => CAP_HASWELL,
            super::Isa::Avx512 => CAP_ICE,
        };
        Some(SimsimdBits {
            hamming: find_kernel(Metric::Hamming, DATATYPE_B8, cap)?,
            jaccard: find_kernel(Metric::Jaccard, DATATYPE_B8, cap)?,
        })
    }

    /// Differing bits of two byte strings.
    pub fn hamming(&self, a: &[u8], b: &[u8]) -> f64 {
        call_raw(self.hamming, a, b)
    }

    /// Jaccard distance of two byte strings' bit sets.
    pub fn jaccard(&self, a: &[u8], b: &[u8]) -> f64 {
        call_raw(self.jaccard, a, b)
    }
}

/// Calls a kernel on two slices of equal length of the element type it was found for
/// (`n` counts elements: floats, halves or bytes).
///
/// # Panics
/// If the slices differ in length.
fn call_raw<T>(kernel: DenseKernel, a: &[T], b: &[T]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "simsimd kernel on slices of different lengths"
    );
    let mut out = 0.0f64;
    // SAFETY: `kernel` came from `find_kernel` for the datatype whose elements `T` are
    // (f32, f16 as `Half`, or bytes), for a capability this CPU supports; it reads
    // exactly `a.len()` elements of each slice and writes one f64 to `out`.
    unsafe { kernel(a.as_ptr().cast(), b.as_ptr().cast(), a.len(), &mut out) };
    out
}

/// simsimd's `jaccard_b8_haswell` kernel (AVX2, POPCNT), found once; `None` when this
/// CPU lacks the capability.
fn jaccard_haswell_kernel() -> Option<DenseKernel> {
    static KERNEL: std::sync::OnceLock<Option<DenseKernel>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| find_kernel(Metric::Jaccard, DATATYPE_B8, CAP_HASWELL))
}

/// Whether simsimd's `haswell` Jaccard kernel runs on this CPU.
pub fn has_haswell() -> bool {
    jaccard_haswell_kernel().is_some()
}

/// simsimd's Jaccard distance of two bit strings of equal length (`jaccard_b8_haswell`:
/// `1 - |a ∩ b| / |a ∪ b|`, 1 for an empty union), which measured faster than ours at
/// the AVX2 level. Installed in a kernel table only when [`has_haswell`].
///
/// # Panics
/// If the slices differ in length, or the CPU lacks the kernel's capability.
pub fn jaccard_haswell(a: &[u8], b: &[u8]) -> f64 {
    let kernel = jaccard_haswell_kernel().expect("installed only when has_haswell()");
    call_raw(kernel, a, b)
}
