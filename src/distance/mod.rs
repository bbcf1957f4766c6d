//! Distance kernels, chosen once per process.
//!
//! [`Kernels`] is a dispatch table of kernels — squared L2, inner product and L1, on
//! `f32` elements and on IEEE binary16 ones ([`Half`]) — for one instruction set
//! ([`Isa`]): ours ([`native`]), which measured about twice
//! as fast as simsimd's at 384 dimensions (`cargo bench --bench kernels`). Cosine
//! distance is derived from three inner products with an exact `sqrt` (simsimd's
//! cosine kernels use an approximate reciprocal square root: off by up to 6e-4 in the
//! portable kernel, and never exactly 0 for identical vectors). simsimd stays as an
//! independent implementation the kernels are checked against ([`simsimd`]). Halves
//! are widened to `f32` (F16C, AVX-512F) and summed in `f32`, as pgvector sums them;
//! AVX-512 FP16's arithmetic would sum in binary16. Sparse vectors: the merge walk of
//! [`sparse`], or with AVX512_VP2INTERSECT the block kernels of `sparse_blocks`.
//!
//! `_PG_init` calls [`init`], which picks the best instruction set this CPU has
//! (AVX-512, AVX2 or portable), unless the environment variable `PGVEC_HNSW_SIMD`
//! (`portable`, `avx2`, `avx512`) asks for a lower one; every caller then goes through
//! [`kernels`]. Nothing is compiled for a CPU we do not run on: the binary loads on any
//! x86-64. [`scalar`] keeps the f64 reference implementations.

pub mod bits;
pub mod lanes;
mod native;
pub mod scalar;
pub mod simsimd;
pub mod sparse;
#[cfg(target_arch = "x86_64")]
pub mod sparse_blocks;

use crate::types::half::Half;
use std::sync::OnceLock;

/// A safe distance kernel on two slices of equal length.
pub type SliceKernel = fn(&[f32], &[f32]) -> f64;

/// A safe distance kernel on two slices of halves of equal length (summed in `f32`).
pub type HalfKernel = fn(&[Half], &[Half]) -> f64;

/// A safe distance kernel on two sparse vectors (of any numbers of stored elements).
pub type SparseKernel = fn(sparse::Sparse<'_>, sparse::Sparse<'_>) -> f64;

/// The sparse kernels of a table: squared L2, inner product, L1.
type SparseKernels = (SparseKernel, SparseKernel, SparseKernel);

/// An instruction set a kernel table is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// No SIMD beyond the target baseline.
    Portable,
    /// AVX2 + FMA + F16C + POPCNT.
    Avx2,
    /// AVX-512F (+ the AVX2 level's AVX2, FMA, F16C, POPCNT).
    Avx512,
}

impl Isa {
    /// Every instruction set, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The name used by `PGVEC_HNSW_SIMD` and reported by `pgvec_hnsw_simd()`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a name as produced by [`Isa::name`].
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|isa| isa.name() == name.trim())
    }

    /// `true` when this CPU can run code compiled for the instruction set.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Isa::Avx2.supported() && std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// A dispatch table of distance kernels for one [`Isa`].
///
/// Every method takes two slices of the same length (the caller has checked the
/// dimensions; a mismatch panics) and returns an `f64`.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    isa: Isa,
    l2_squared: SliceKernel,
    dot: SliceKernel,
    l1: SliceKernel,
    l2_squared_half: HalfKernel,
    dot_half: HalfKernel,
    l1_half: HalfKernel,
    hamming: bits::HammingKernel,
    jaccard: bits::JaccardKernel,
    sparse: SparseKernels,
}

impl Kernels {
    /// The table for `isa`, or `None` when this CPU lacks it.
    pub fn for_isa(isa: Isa) -> Option<Kernels> {
        if !isa.supported() {
            return None;
        }
        // Each kernel is generic over the element; the table holds both instances.
        macro_rules! table {
            ($l2:path, $dot:path, $l1:path, $bits:expr, $sparse:expr) => {
                table!($l2, $dot, $l1, $bits, $sparse; $l2, $dot, $l1)
            };
            ($l2:path, $dot:path, $l1:path, $bits:expr, $sparse:expr; $hl2:path, $hdot:path, $hl1:path) => {
                Kernels {
                    isa,
                    l2_squared: $l2,
                    dot: $dot,
                    l1: $l1,
                    l2_squared_half: $hl2,
                    dot_half: $hdot,
                    l1_half: $hl1,
                    hamming: $bits.0,
                    jaccard: $bits.1,
                    sparse: $sparse,
                }
            };
        }
        // Sparse vectors: the merge walk, and at the AVX-512 level, where the CPU has
        // a fast VP2INTERSECT (AMD's), the block kernels, which measured faster
        // (`cargo bench --bench kernels -- sparse`).
        let merge: SparseKernels = (
            sparse::l2_squared,
            sparse::inner_product,
            sparse::l1_distance,
        );
        #[cfg(target_arch = "x86_64")]
        let blocks: SparseKernels = if sparse_blocks::measured_fast() {
            (
                sparse_blocks::l2_squared,
                sparse_blocks::inner_product,
                sparse_blocks::l1_distance,
            )
        } else {
            merge
        };
        type BitKernels = (bits::HammingKernel, bits::JaccardKernel);
        let portable: BitKernels = (bits::hamming_portable, bits::jaccard_portable);
        // Jaccard at the AVX2 level: simsimd's `haswell` kernel, which measured faster
        // than our POPCNT one (8.7 against 10.2 ns at 384 bits, 33 against 37 at 3072);
        // `cargo bench --bench kernels -- jaccard`.
        #[cfg(target_arch = "x86_64")]
        let popcnt: BitKernels = (
            bits::hamming_popcnt,
            if simsimd::has_haswell() {
                simsimd::jaccard_haswell
            } else {
                bits::jaccard_popcnt
            },
        );
        #[cfg(target_arch = "x86_64")]
        let vpopcntdq: BitKernels = (bits::hamming_avx512, bits::jaccard_avx512);
        Some(match isa {
            Isa::Portable => table!(
                native::l2_squared_portable,
                native::dot_portable,
                native::l1_portable,
                portable,
                merge
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => table!(
                native::l2_squared_avx2,
                native::dot_avx2,
                native::l1_avx2,
                popcnt,
                merge
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => table!(
                native::l2_squared_avx512,
                native::dot_avx512,
                native::l1_avx512,
                if bits::has_vpopcntdq() {
                    vpopcntdq
                } else {
                    popcnt
                },
                blocks;
                // Halves: the AVX2+F16C kernels, which measured faster than the
                // AVX-512F ones (26 against 32 ns at 384 dimensions, 89 against 120 at
                // 1536, AMD EPYC; `cargo bench --bench kernels -- half`).
                native::l2_squared_avx2,
                native::dot_avx2,
                native::l1_avx2
            ),
            #[cfg(not(target_arch = "x86_64"))]
            _ => return None,
        })
    }

    /// The table for the best instruction set this CPU has.
    pub fn best() -> Kernels {
        Isa::ALL
            .into_iter()
            .rev()
            .find_map(Kernels::for_isa)
            .expect("the portable table always exists")
    }

    /// The instruction set of this table.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Squared Euclidean distance `Σ (aᵢ - bᵢ)²`.
    #[inline]
    pub fn l2_squared(&self, a: &[f32], b: &[f32]) -> f64 {
        (self.l2_squared)(a, b)
    }

    /// Inner product `Σ aᵢ·bᵢ`.
    #[inline]
    pub fn inner_product(&self, a: &[f32], b: &[f32]) -> f64 {
        (self.dot)(a, b)
    }

    /// Cosine distance `1 - a·b / (‖a‖·‖b‖)` in `[0, 2]` (similarity clamped to
    /// `[-1, 1]`); NaN when either vector is zero, as in pgvector.
    #[inline]
    pub fn cosine_distance(&self, a: &[f32], b: &[f32]) -> f64 {
        let dot = |x, y| self.inner_product(x, y);
        cosine_from(dot(a, a), dot(b, b), || dot(a, b))
    }

    /// Manhattan distance `Σ |aᵢ - bᵢ|`.
    #[inline]
    pub fn l1_distance(&self, a: &[f32], b: &[f32]) -> f64 {
        (self.l1)(a, b)
    }

    /// [`Kernels::l2_squared`] on halves (`halfvec`), widened in registers.
    #[inline]
    pub fn l2_squared_half(&self, a: &[Half], b: &[Half]) -> f64 {
        (self.l2_squared_half)(a, b)
    }

    /// [`Kernels::inner_product`] on halves.
    #[inline]
    pub fn inner_product_half(&self, a: &[Half], b: &[Half]) -> f64 {
        (self.dot_half)(a, b)
    }

    /// [`Kernels::cosine_distance`] on halves.
    #[inline]
    pub fn cosine_distance_half(&self, a: &[Half], b: &[Half]) -> f64 {
        let dot = |x, y| self.inner_product_half(x, y);
        cosine_from(dot(a, a), dot(b, b), || dot(a, b))
    }

    /// [`Kernels::l1_distance`] on halves.
    #[inline]
    pub fn l1_distance_half(&self, a: &[Half], b: &[Half]) -> f64 {
        (self.l1_half)(a, b)
    }

    /// The number of differing bits of two bit strings of equal length (pad bits zero).
    #[inline]
    pub fn hamming(&self, a: &[u8], b: &[u8]) -> u64 {
        (self.hamming)(a, b)
    }

    /// Jaccard distance of two bit strings of equal length (pad bits zero): 1 when
    /// they share no set bit ([`bits::jaccard_distance`]).
    #[inline]
    pub fn jaccard(&self, a: &[u8], b: &[u8]) -> f64 {
        (self.jaccard)(a, b)
    }

    /// Squared Euclidean distance of two sparse vectors (the index's; the SQL
    /// operators keep pgvector's sums, [`sparse`]).
    #[inline]
    pub fn sparse_l2_squared(&self, a: sparse::Sparse<'_>, b: sparse::Sparse<'_>) -> f64 {
        (self.sparse.0)(a, b)
    }

    /// Inner product of two sparse vectors.
    #[inline]
    pub fn sparse_inner_product(&self, a: sparse::Sparse<'_>, b: sparse::Sparse<'_>) -> f64 {
        (self.sparse.1)(a, b)
    }

    /// Manhattan distance of two sparse vectors.
    #[inline]
    pub fn sparse_l1_distance(&self, a: sparse::Sparse<'_>, b: sparse::Sparse<'_>) -> f64 {
        (self.sparse.2)(a, b)
    }
}

/// Cosine distance from the squared norms `aa`, `bb` and the inner product `ab`, as
/// pgvector computes it: `ab / sqrt(aa·bb)`, NaN stays NaN (a zero vector: `0/0`), else
/// `1 - cos` with the similarity clamped to `[-1, 1]` (so a norm that underflowed to 0
/// beside a non-zero product gives `±inf`, clamped).
#[inline]
pub fn cosine_from(aa: f64, bb: f64, ab: impl FnOnce() -> f64) -> f64 {
    let similarity = ab() / (aa * bb).sqrt();
    if similarity.is_nan() {
        return f64::NAN;
    }
    1.0 - similarity.clamp(-1.0, 1.0)
}

static ACTIVE: OnceLock<Kernels> = OnceLock::new();

/// Chooses the process-wide kernel table; called once from `_PG_init`.
///
/// Uses `PGVEC_HNSW_SIMD` when it names an instruction set this CPU has, else the
/// best one. Later calls return the table already chosen.
pub fn init() -> &'static Kernels {
    ACTIVE.get_or_init(|| {
        std::env::var("PGVEC_HNSW_SIMD")
            .ok()
            .and_then(|name| Isa::from_name(&name))
            .and_then(Kernels::for_isa)
            .unwrap_or_else(Kernels::best)
    })
}

/// Asks the CPU to start loading the first `lines` 64-byte cache lines of `v` (x86-64;
/// elsewhere a no-op), so that a distance computed a little later does not wait for
/// memory. Used when the next vector to be measured is known in advance.
#[inline]
pub fn prefetch(v: &[f32], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..std::mem::size_of_val(v)).step_by(64).take(lines) {
        // SAFETY: the address lies within `v`; a prefetch cannot fault.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                v.as_ptr().cast::<i8>().add(line),
            )
        }
    }
}

/// The process-wide kernel table (chosen by [`init`] on first use).
#[inline]
pub fn kernels() -> &'static Kernels {
    match ACTIVE.get() {
        Some(k) => k,
        None => init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const LENGTHS: [usize; 13] = [1, 2, 3, 7, 8, 15, 16, 17, 31, 383, 384, 1536, 16000];

    fn random_pair(rng: &mut impl Rng, n: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let b = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        (a, b)
    }

    /// Error bound for f32 accumulation: 1e-5 of the sum of the magnitudes of the
    /// terms (so cancellation does not make it vacuous), plus 1e-6 absolute.
    fn bound(scale: f64) -> f64 {
        1e-5 * scale + 1e-6
    }

    fn available() -> Vec<Kernels> {
        let all: Vec<_> = Isa::ALL.into_iter().filter_map(Kernels::for_isa).collect();
        assert_eq!(
            all[0].isa(),
            Isa::Portable,
            "the portable table always exists"
        );
        all
    }

    #[test]
    fn every_kernel_matches_the_scalar_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for k in available() {
            for n in LENGTHS {
                for _ in 0..4 {
                    let (a, b) = random_pair(&mut rng, n);
                    let abs_dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
                    let l2 = scalar::l2_squared(&a, &b);
                    let got = k.l2_squared(&a, &b);
                    assert!(
                        (got - l2).abs() <= bound(l2),
                        "{:?} l2 n={n}: {got} vs {l2}",
                        k.isa()
                    );
                    let ip = scalar::inner_product(&a, &b);
                    let got = k.inner_product(&a, &b);
                    assert!(
                        (got - ip).abs() <= bound(abs_dot),
                        "{:?} ip n={n}: {got} vs {ip}",
                        k.isa()
                    );
                    let cos = scalar::cosine_distance(&a, &b);
                    let got = k.cosine_distance(&a, &b);
                    let norms =
                        (scalar::inner_product(&a, &a) * scalar::inner_product(&b, &b)).sqrt();
                    assert!(
                        (got - cos).abs() <= bound(abs_dot / norms),
                        "{:?} cos n={n}: {got} vs {cos}",
                        k.isa()
                    );
                    let l1 = scalar::l1_distance(&a, &b);
                    let got = k.l1_distance(&a, &b);
                    assert!(
                        (got - l1).abs() <= bound(l1),
                        "{:?} l1 n={n}: {got} vs {l1}",
                        k.isa()
                    );
                }
            }
        }
    }

    /// The half kernels on every instruction set against the f64 reference on the
    /// widened values (exact), at every length.
    #[test]
    fn every_half_kernel_matches_the_scalar_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(43);
        for k in available() {
            for n in LENGTHS {
                let (a, b) = random_pair(&mut rng, n);
                let (ha, hb) = (
                    a.iter().map(|&x| Half::from_f32(x)).collect::<Vec<_>>(),
                    b.iter().map(|&x| Half::from_f32(x)).collect::<Vec<_>>(),
                );
                let (a, b): (Vec<f32>, Vec<f32>) = (
                    ha.iter().map(|h| h.to_f32()).collect(),
                    hb.iter().map(|h| h.to_f32()).collect(),
                );
                let abs_dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
                let norms = (scalar::inner_product(&a, &a) * scalar::inner_product(&b, &b)).sqrt();
                for (what, got, want, scale) in [
                    (
                        "l2",
                        k.l2_squared_half(&ha, &hb),
                        scalar::l2_squared(&a, &b),
                        scalar::l2_squared(&a, &b),
                    ),
                    (
                        "ip",
                        k.inner_product_half(&ha, &hb),
                        scalar::inner_product(&a, &b),
                        abs_dot,
                    ),
                    (
                        "cos",
                        k.cosine_distance_half(&ha, &hb),
                        scalar::cosine_distance(&a, &b),
                        abs_dot / norms,
                    ),
                    (
                        "l1",
                        k.l1_distance_half(&ha, &hb),
                        scalar::l1_distance(&a, &b),
                        scalar::l1_distance(&a, &b),
                    ),
                ] {
                    assert!(
                        (got - want).abs() <= bound(scale),
                        "{:?} half {what} n={n}: {got} vs {want}",
                        k.isa()
                    );
                }
            }
        }
    }

    /// The sparse kernels on every instruction set against the f64 reference on the
    /// dense vectors, for numbers of stored elements around the block size and
    /// overlaps from none to all.
    #[test]
    fn every_sparse_kernel_matches_the_scalar_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(44);
        for k in available() {
            for n in [0usize, 1, 2, 3, 7, 15, 16, 17, 31, 33, 383, 384, 1000] {
                for spread in [1usize, 2, 10] {
                    let dim = (n * spread).max(1);
                    let pick = |rng: &mut rand::rngs::StdRng| {
                        let mut dense = vec![0.0f32; dim];
                        let mut idx: Vec<i32> =
                            (0..n).map(|_| rng.random_range(0..dim) as i32).collect();
                        idx.sort_unstable();
                        idx.dedup();
                        let val: Vec<f32> =
                            idx.iter().map(|_| rng.random_range(-1.0f32..1.0)).collect();
                        for (&i, &x) in idx.iter().zip(&val) {
                            dense[i as usize] = x;
                        }
                        (idx, val, dense)
                    };
                    let (ai, ax, ad) = pick(&mut rng);
                    let (bi, bx, bd) = pick(&mut rng);
                    let (a, b) = ((&ai[..], &ax[..]), (&bi[..], &bx[..]));
                    let abs_dot: f64 = ad
                        .iter()
                        .zip(&bd)
                        .map(|(x, y)| f64::from(x * y).abs())
                        .sum();
                    let squares: f64 = ad.iter().chain(&bd).map(|&x| f64::from(x * x)).sum();
                    for (what, got, want, scale) in [
                        (
                            "l2",
                            k.sparse_l2_squared(a, b),
                            scalar::l2_squared(&ad, &bd),
                            squares,
                        ),
                        (
                            "ip",
                            k.sparse_inner_product(a, b),
                            scalar::inner_product(&ad, &bd),
                            abs_dot,
                        ),
                        (
                            "l1",
                            k.sparse_l1_distance(a, b),
                            scalar::l1_distance(&ad, &bd),
                            scalar::l1_distance(&ad, &bd) + squares,
                        ),
                    ] {
                        assert!(
                            (got - want).abs() <= bound(scale),
                            "{:?} sparse {what} n={n} spread={spread}: {got} vs {want}",
                            k.isa()
                        );
                    }
                    // Every kernel finds a vector at distance 0 from itself.
                    assert_eq!(k.sparse_l1_distance(a, a), 0.0, "{:?} n={n}", k.isa());
                    assert_eq!(k.sparse_l2_squared(a, a), 0.0, "{:?} n={n}", k.isa());
                }
            }
            let a = (&[0, 2][..], &[3.0f32, 4.0][..]);
            let b = (&[1, 2][..], &[1.0f32, 4.0][..]);
            assert_eq!(k.sparse_l2_squared(a, b), 10.0);
            assert_eq!(k.sparse_inner_product(a, b), 16.0);
            assert_eq!(k.sparse_l1_distance(a, b), 4.0);
        }
    }

    #[test]
    fn cosine_of_a_zero_vector_is_nan_and_orthogonal_is_one() {
        for k in available() {
            let zero = [0.0f32; 5];
            let x = [1.0f32, 0.0, 0.0, 0.0, 0.0];
            let y = [0.0f32, 2.0, 0.0, 0.0, 0.0];
            assert!(k.cosine_distance(&zero, &x).is_nan());
            assert!(k.cosine_distance(&x, &zero).is_nan());
            assert!(k.cosine_distance(&zero, &zero).is_nan());
            assert_eq!(k.cosine_distance(&x, &y), 1.0);
            assert_eq!(k.cosine_distance(&x, &x), 0.0);
            assert!(scalar::cosine_distance(&zero, &x).is_nan());
        }
    }

    #[test]
    fn exact_small_cases() {
        for k in available() {
            let a = [1.0f32, 2.0, 3.0];
            let b = [4.0f32, 6.0, 3.0];
            assert_eq!(k.l2_squared(&a, &b), 25.0);
            assert_eq!(k.inner_product(&a, &b), 25.0);
            assert_eq!(k.l1_distance(&a, &b), 7.0);
        }
    }

    #[test]
    fn best_is_at_least_every_available_isa() {
        let best = Kernels::best().isa();
        for k in available() {
            assert!(k.isa() <= best);
        }
        assert_eq!(Isa::from_name(" avx2 "), Some(Isa::Avx2));
        assert_eq!(Isa::from_name("sse"), None);
    }
}
