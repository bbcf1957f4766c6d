//! The distance an index orders by, one per operator class.

use crate::distance::kernels;

/// How an index measures distance between stored vectors.
///
/// Index distances only need to order like the SQL operator: `L2` stores the squared
/// distance, `Cosine` works on vectors normalised at insert (so `1 - a·b` orders like
/// `<=>`), `InnerProduct` is `-a·b` (`<#>`), `L1` is `<+>`.
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
}

impl Metric {
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

    /// The index distance between two vectors of equal length.
    #[inline]
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        let k = kernels();
        (match self {
            Metric::L2 => k.l2_squared(a, b),
            Metric::InnerProduct => -k.inner_product(a, b),
            Metric::Cosine => 1.0 - k.inner_product(a, b),
            Metric::L1 => k.l1_distance(a, b),
        }) as f32
    }

    /// `true` when only a copy of a vector is at index distance 0 from it (not for
    /// inner product, where the distance of a vector to itself is `-‖v‖²`).
    pub fn self_distance_is_zero(self) -> bool {
        self != Metric::InnerProduct
    }

    /// Prepares a vector for storage or search: unit length for `Cosine`. Returns
    /// `None` for a vector the index cannot hold (a zero vector under `Cosine`).
    pub fn prepare(self, v: &[f32]) -> Option<Vec<f32>> {
        if self != Metric::Cosine {
            return Some(v.to_vec());
        }
        let norm = kernels().inner_product(v, v).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return None;
        }
        Some(v.iter().map(|&x| (f64::from(x) / norm) as f32).collect())
    }
}
