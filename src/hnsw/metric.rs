//! The distance an index orders by, one per operator class, and the element type it
//! is measured on.

use crate::distance::{kernels, lanes};
use crate::types::half::Half;

/// How an index measures distance between stored elements, which are lanes
/// ([`crate::distance::lanes`]) of the operator class's type.
///
/// Index distances only need to order like the SQL operator: `L2` stores the squared
/// distance, `Cosine` works on vectors normalised at insert (so `1 - a·b` orders like
/// `<=>`), `InnerProduct` is `-a·b` (`<#>`), `L1` is `<+>`; the `Half` ones do the same
/// on `halfvec` elements (kept as binary16, summed in `f32`), `Hamming` (`<~>`) and
/// `Jaccard` (`<%>`) count the bits of `bit` elements, and the `Sparse` ones measure
/// `sparsevec` elements (the kernel table's sparse kernels, which order like the SQL
/// operators; cosine on vectors normalised at insert).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `vector_l2_ops`, operator `<->`.
    L2,
    /// `vector_ip_ops`, operator `<#>`.
    InnerProduct,
    /// `vector_cosine_ops`, operator `<=>`.
    Cosine,
    /// `vector_l1_ops`, operator `<+>`.
    L1,
    /// `halfvec_l2_ops`, operator `<->`.
    HalfL2,
    /// `halfvec_ip_ops`, operator `<#>`.
    HalfInnerProduct,
    /// `halfvec_cosine_ops`, operator `<=>`.
    HalfCosine,
    /// `halfvec_l1_ops`, operator `<+>`.
    HalfL1,
    /// `bit_hamming_ops`, operator `<~>`.
    Hamming,
    /// `bit_jaccard_ops`, operator `<%>`.
    Jaccard,
    /// `sparsevec_l2_ops`, operator `<->`.
    SparseL2,
    /// `sparsevec_ip_ops`, operator `<#>`.
    SparseInnerProduct,
    /// `sparsevec_cosine_ops`, operator `<=>`.
    SparseCosine,
    /// `sparsevec_l1_ops`, operator `<+>`.
    SparseL1,
}

/// The most non-zero elements of a `sparsevec` an index holds (pgvector's limit,
/// `HNSW_MAX_NNZ`): its element then has 2,000 lanes, held in the element tuple.
pub const MAX_SPARSE_NNZ: usize = 1000;

/// The type of the elements of an index, which says how they are packed into lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    /// `vector`: one `f32` per lane.
    Vector,
    /// `halfvec`: two binary16 values per lane.
    Halfvec,
    /// `bit`: 32 bits per lane.
    Bit,
    /// `sparsevec`: two lanes per non-zero element (its index and its value), so
    /// elements differ in length ([`crate::distance::lanes`]).
    Sparsevec,
}

impl ElementType {
    /// Lanes of an element of `dim` dimensions; for `sparsevec`, whose elements
    /// differ in length, the most an element has (`2 ·` [`MAX_SPARSE_NNZ`]).
    pub fn lanes(self, dim: usize) -> usize {
        match self {
            ElementType::Vector => dim,
            ElementType::Halfvec => dim.div_ceil(2),
            ElementType::Bit => dim.div_ceil(32),
            ElementType::Sparsevec => 2 * MAX_SPARSE_NNZ,
        }
    }

    /// `true` when every element of an index of this type has the same length (all
    /// but `sparsevec`).
    pub fn fixed_length(self) -> bool {
        self != ElementType::Sparsevec
    }
}

impl Metric {
    /// The type of the elements this metric measures.
    pub fn element_type(self) -> ElementType {
        match self {
            Metric::L2 | Metric::InnerProduct | Metric::Cosine | Metric::L1 => ElementType::Vector,
            Metric::HalfL2 | Metric::HalfInnerProduct | Metric::HalfCosine | Metric::HalfL1 => {
                ElementType::Halfvec
            }
            Metric::Hamming | Metric::Jaccard => ElementType::Bit,
            Metric::SparseL2
            | Metric::SparseInnerProduct
            | Metric::SparseCosine
            | Metric::SparseL1 => ElementType::Sparsevec,
        }
    }

    /// Lanes of an element of `dim` dimensions under this metric (the most, for
    /// `sparsevec`: [`ElementType::lanes`]).
    pub fn lanes(self, dim: usize) -> usize {
        self.element_type().lanes(dim)
    }

    /// Replaces `out` with the distances from `query` to the vectors of `ids`
    /// (`vector` finds one in memory), prefetching the vector after next while
    /// measuring one, so a neighbour list's vectors arrive while the kernel runs.
    #[inline]
    pub fn distances_prefetched<'a, Id: Copy>(
        self,
        query: &[f32],
        ids: &[Id],
        vector: impl Fn(Id) -> &'a [f32],
        out: &mut Vec<f32>,
    ) {
        /// Cache lines prefetched per vector (all of a 512-d one; longer ones get the
        /// rest from the hardware prefetcher).
        const LINES: usize = 32;
        out.clear();
        for &id in ids.iter().take(2) {
            crate::distance::prefetch(vector(id), LINES);
        }
        for (i, &id) in ids.iter().enumerate() {
            if let Some(&next) = ids.get(i + 2) {
                crate::distance::prefetch(vector(next), LINES);
            }
            out.push(self.distance(query, vector(id)));
        }
    }

    /// The index distance between two elements of equal length (in lanes; `sparsevec`
    /// elements of any length).
    #[inline]
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        let k = kernels();
        let h = lanes::halves;
        let b8 = lanes::bytes;
        let s = lanes::sparse;
        (match self {
            Metric::L2 => k.l2_squared(a, b),
            Metric::InnerProduct => -k.inner_product(a, b),
            Metric::Cosine => 1.0 - k.inner_product(a, b),
            Metric::L1 => k.l1_distance(a, b),
            Metric::HalfL2 => k.l2_squared_half(h(a), h(b)),
            Metric::HalfInnerProduct => -k.inner_product_half(h(a), h(b)),
            Metric::HalfCosine => 1.0 - k.inner_product_half(h(a), h(b)),
            Metric::HalfL1 => k.l1_distance_half(h(a), h(b)),
            Metric::Hamming => k.hamming(b8(a), b8(b)) as f64,
            Metric::Jaccard => k.jaccard(b8(a), b8(b)),
            Metric::SparseL2 => k.sparse_l2_squared(s(a), s(b)),
            Metric::SparseInnerProduct => -k.sparse_inner_product(s(a), s(b)),
            Metric::SparseCosine => 1.0 - k.sparse_inner_product(s(a), s(b)),
            Metric::SparseL1 => k.sparse_l1_distance(s(a), s(b)),
        }) as f32
    }

    /// `true` when, as far as neighbour selection goes, an element at index distance 0
    /// from another is its copy (not for inner product, where the distance of a vector
    /// to itself is `-‖v‖²`). Under cosine two unit vectors whose product rounds to 1
    /// count as copies too, and a copy's own distance may be a rounding error above 0;
    /// an insert finds its copies by their exact self-distance and equal lanes
    /// instead.
    pub fn self_distance_is_zero(self) -> bool {
        !matches!(
            self,
            Metric::InnerProduct | Metric::HalfInnerProduct | Metric::SparseInnerProduct
        )
    }

    /// Prepares an element (its lanes, in place) for storage or search: unit length
    /// for the cosine metrics, as pgvector's `l2_normalize` makes it (squares summed
    /// in `f64`, each value divided in `f64` and rounded to `f32`, then to binary16 for
    /// a `halfvec`; the zero half after an odd last one stays zero; of a `sparsevec`
    /// a value that rounds to zero is dropped, as pgvector's `sparsevec_l2_normalize`
    /// drops it). Returns `false`, leaving `v` as it was, for an element the index
    /// cannot hold (a zero vector under cosine).
    pub fn prepare(self, v: &mut Vec<f32>) -> bool {
        match self {
            Metric::Cosine => {
                let Some(norm) = unit_scale(v.iter().copied()) else {
                    return false;
                };
                for x in v.iter_mut() {
                    *x = (f64::from(*x) / norm) as f32;
                }
            }
            Metric::HalfCosine => {
                let Some(norm) = unit_scale(lanes::halves(v).iter().map(|x| x.to_f32())) else {
                    return false;
                };
                let unit: Vec<Half> = lanes::halves(v)
                    .iter()
                    .map(|x| Half::from_f32((f64::from(x.to_f32()) / norm) as f32))
                    .collect();
                v.copy_from_slice(&lanes::from_halves(&unit));
            }
            Metric::SparseCosine => {
                let (indices, values) = lanes::sparse(v);
                let Some(norm) = unit_scale(values.iter().copied()) else {
                    return false;
                };
                let (kept, unit): (Vec<i32>, Vec<f32>) = indices
                    .iter()
                    .zip(values)
                    .map(|(&i, &x)| (i, (f64::from(x) / norm) as f32))
                    .filter(|&(_, y)| y != 0.0)
                    .unzip();
                *v = lanes::from_sparse(&kept, &unit);
            }
            _ => {}
        }
        true
    }
}

/// The norm of `values` (squares summed in `f64`); `None` for a zero or non-finite
/// norm.
fn unit_scale(values: impl Iterator<Item = f32>) -> Option<f64> {
    let norm = values
        .map(|x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    (norm != 0.0 && norm.is_finite()).then_some(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::scalar;
    use rand::{Rng, SeedableRng};

    /// The halfvec metrics on lanes give the f64 reference distances of the halves'
    /// values (odd lengths put a zero half in the last lane), and the bit metrics the
    /// counts of the bits.
    #[test]
    fn packed_metrics_against_the_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for n in [1usize, 3, 7, 16, 17, 383, 384, 1536, 4000] {
            let h = |rng: &mut rand::rngs::StdRng| -> Vec<Half> {
                (0..n)
                    .map(|_| Half::from_f32(rng.random_range(-1.0f32..1.0)))
                    .collect()
            };
            let (a, b) = (h(&mut rng), h(&mut rng));
            let (fa, fb): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|x| x.to_f32()).collect(),
                b.iter().map(|x| x.to_f32()).collect(),
            );
            let (la, lb) = (lanes::from_halves(&a), lanes::from_halves(&b));
            assert_eq!(Metric::HalfL2.lanes(n), la.len());
            let within = |got: f32, want: f64, tolerance: f64| {
                assert!(
                    (f64::from(got) - want).abs() <= tolerance * want.abs().max(1.0),
                    "{n}: {got} vs {want}"
                )
            };
            let close = |got: f32, want: f64| within(got, want, 1e-4);
            close(
                Metric::HalfL2.distance(&la, &lb),
                scalar::l2_squared(&fa, &fb),
            );
            close(
                Metric::HalfInnerProduct.distance(&la, &lb),
                -scalar::inner_product(&fa, &fb),
            );
            close(
                Metric::HalfL1.distance(&la, &lb),
                scalar::l1_distance(&fa, &fb),
            );
            let (mut ua, mut ub) = (la.clone(), lb.clone());
            assert!(Metric::HalfCosine.prepare(&mut ua) && Metric::HalfCosine.prepare(&mut ub));
            let unit = lanes::halves(&ua);
            let norm: f64 = unit.iter().map(|x| f64::from(x.to_f32()).powi(2)).sum();
            assert!((norm - 1.0).abs() < 2e-3, "{n}: norm² {norm}");
            assert!(unit[n..].iter().all(|x| x.0 == 0), "{n}: padding");
            // The unit vectors are rounded to binary16 (relative error 2⁻¹¹ each).
            within(
                Metric::HalfCosine.distance(&ua, &ub),
                scalar::cosine_distance(&fa, &fb),
                2e-3,
            );
            let bits = |rng: &mut rand::rngs::StdRng| -> Vec<u8> {
                (0..n.div_ceil(8)).map(|_| rng.random()).collect()
            };
            let (x, y) = (bits(&mut rng), bits(&mut rng));
            let (lx, ly) = (lanes::from_bytes(&x), lanes::from_bytes(&y));
            let differ: u32 = x.iter().zip(&y).map(|(p, q)| (p ^ q).count_ones()).sum();
            assert_eq!(Metric::Hamming.distance(&lx, &ly), differ as f32);
            let both: u32 = x.iter().zip(&y).map(|(p, q)| (p & q).count_ones()).sum();
            let either: u32 = x.iter().zip(&y).map(|(p, q)| (p | q).count_ones()).sum();
            close(
                Metric::Jaccard.distance(&lx, &ly),
                1.0 - f64::from(both) / f64::from(either),
            );
        }
    }

    /// The sparsevec metrics on lanes give the dense reference distances, whatever
    /// the two elements' lengths; cosine's prepare makes unit vectors.
    #[test]
    fn sparse_metrics_against_the_dense_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let dim = 300;
        for (da, db) in [(0.02, 0.3), (0.5, 0.5), (1.0, 0.01), (0.0, 0.2)] {
            let mut dense = |density: f64| -> (Vec<f32>, Vec<f32>) {
                let d: Vec<f32> = (0..dim)
                    .map(|_| {
                        if rng.random_bool(density) {
                            rng.random_range(-1.0f32..1.0)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let (i, x): (Vec<i32>, Vec<f32>) = d
                    .iter()
                    .enumerate()
                    .filter(|(_, &x)| x != 0.0)
                    .map(|(i, &x)| (i as i32, x))
                    .unzip();
                (d, lanes::from_sparse(&i, &x))
            };
            let ((fa, la), (fb, lb)) = (dense(da), dense(db));
            let close = |got: f32, want: f64| {
                assert!(
                    (f64::from(got) - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{da}/{db}: {got} vs {want}"
                )
            };
            close(
                Metric::SparseL2.distance(&la, &lb),
                scalar::l2_squared(&fa, &fb),
            );
            close(
                Metric::SparseInnerProduct.distance(&la, &lb),
                -scalar::inner_product(&fa, &fb),
            );
            close(
                Metric::SparseL1.distance(&la, &lb),
                scalar::l1_distance(&fa, &fb),
            );
            let (mut ua, mut ub) = (la.clone(), lb.clone());
            if Metric::SparseCosine.prepare(&mut ua) && Metric::SparseCosine.prepare(&mut ub) {
                let norm: f64 = lanes::sparse(&ua)
                    .1
                    .iter()
                    .map(|&x| f64::from(x).powi(2))
                    .sum();
                assert!((norm - 1.0).abs() < 1e-5, "norm² {norm}");
                close(
                    Metric::SparseCosine.distance(&ua, &ub),
                    scalar::cosine_distance(&fa, &fb),
                );
            } else {
                assert!(fa.iter().all(|&x| x == 0.0) || fb.iter().all(|&x| x == 0.0));
            }
        }
        // A value that rounds to zero once divided by the norm is dropped.
        let mut v = lanes::from_sparse(&[1, 5], &[1e30, 1e-30]);
        assert!(Metric::SparseCosine.prepare(&mut v));
        assert_eq!(lanes::sparse(&v), (&[1][..], &[1.0f32][..]));
    }

    #[test]
    fn zero_vectors_are_refused_under_cosine_only() {
        let zero = lanes::from_halves(&[Half(0); 3]);
        let mut v = zero.clone();
        assert!(!Metric::HalfCosine.prepare(&mut v) && v == zero);
        assert!(Metric::HalfL2.prepare(&mut v) && v == zero);
        assert!(!Metric::Cosine.prepare(&mut vec![0.0, 0.0]));
        let mut empty = Vec::new();
        assert!(!Metric::SparseCosine.prepare(&mut empty) && empty.is_empty());
        assert!(Metric::SparseL2.prepare(&mut empty));
        assert!(!Metric::SparseInnerProduct.self_distance_is_zero());
        assert!(!Metric::HalfInnerProduct.self_distance_is_zero());
        assert!(Metric::Hamming.self_distance_is_zero());
    }
}
