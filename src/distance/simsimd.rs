//! simsimd's f32 kernels, an independent implementation our kernels are tested and
//! benchmarked against.
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
}

/// `simsimd_datatype_f32_k`.
const DATATYPE_F32: u32 = 1 << 11;

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

/// The f32 kernel of `metric` compiled for exactly `capability`, if this CPU supports
/// that capability and simsimd has such a kernel.
fn find_kernel(metric: Metric, capability: u32) -> Option<DenseKernel> {
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
            DATATYPE_F32,
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

/// simsimd's squared-L2 and inner-product kernels for one instruction set.
#[derive(Clone, Copy, Debug)]
pub struct Simsimd {
    l2_squared: DenseKernel,
    dot: DenseKernel,
}

impl Simsimd {
    /// The kernels compiled for `isa`, when this CPU supports it.
    pub fn for_isa(isa: super::Isa) -> Option<Simsimd> {
        let cap = match isa {
            super::Isa::Portable => CAP_SERIAL,
            super::Isa::Avx2 => CAP_HASWELL,
            super::Isa::Avx512 => CAP_SKYLAKE,
        };
        Some(Simsimd {
            l2_squared: find_kernel(Metric::L2Squared, cap)?,
            dot: find_kernel(Metric::Dot, cap)?,
        })
    }

    /// Squared Euclidean distance.
    pub fn l2_squared(&self, a: &[f32], b: &[f32]) -> f64 {
        call(self.l2_squared, a, b)
    }

    /// Inner product.
    pub fn inner_product(&self, a: &[f32], b: &[f32]) -> f64 {
        call(self.dot, a, b)
    }
}

/// Calls a dense kernel on two slices of equal length.
///
/// # Panics
/// If the slices differ in length (callers check dimensions first).
fn call(kernel: DenseKernel, a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "distance kernel on slices of different lengths"
    );
    let mut out = 0.0f64;
    // SAFETY: `kernel` came from `find_kernel`, so it is simsimd's f32 kernel for a
    // capability this CPU supports; it reads exactly `a.len()` elements of each slice
    // (equal lengths checked above) and writes one f64 to `out`.
    unsafe { kernel(a.as_ptr().cast(), b.as_ptr().cast(), a.len(), &mut out) };
    out
}
