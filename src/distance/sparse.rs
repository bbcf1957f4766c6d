//! Distances between sparse vectors (`sparsevec`): each vector is its sorted 0-based
//! `indices` and their non-zero `values`, the two of equal length.
//!
//! One merge walk over both index lists serves all four distances. Terms are summed in
//! `f32`, in index order, as pgvector's `sparsevec.c` sums them (pgvector's build may
//! let the compiler fuse or reorder those sums, so the last bits can differ). The
//! callers check that the dimensions agree.

/// A sparse vector's stored elements: ascending indices and their values.
pub type Sparse<'a> = (&'a [i32], &'a [f32]);

/// `Σ term(aᵢ, bᵢ)` over the union of both index sets (an absent element is 0) when
/// `union`, else over the indices both store; in index order, in `f32`.
#[inline]
fn merge_sum(a: Sparse<'_>, b: Sparse<'_>, union: bool, term: impl Fn(f32, f32) -> f32) -> f32 {
    let ((ai, ax), (bi, bx)) = (a, b);
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < ai.len() && j < bi.len() {
        match ai[i].cmp(&bi[j]) {
            std::cmp::Ordering::Less => {
                if union {
                    sum += term(ax[i], 0.0);
                }
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                if union {
                    sum += term(0.0, bx[j]);
                }
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                sum += term(ax[i], bx[j]);
                i += 1;
                j += 1;
            }
        }
    }
    if union {
        ax[i..].iter().for_each(|&x| sum += term(x, 0.0));
        bx[j..].iter().for_each(|&y| sum += term(0.0, y));
    }
    sum
}

/// Squared Euclidean distance `Σ (aᵢ - bᵢ)²`.
pub fn l2_squared(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    f64::from(merge_sum(a, b, true, |x, y| (x - y) * (x - y)))
}

/// Inner product `Σ aᵢ·bᵢ` (only indices both store contribute).
pub fn inner_product(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    f64::from(merge_sum(a, b, false, |x, y| x * y))
}

/// Cosine distance `1 - a·b / (‖a‖·‖b‖)`, the similarity clamped to `[-1, 1]`; NaN when
/// either vector is zero, as in pgvector.
pub fn cosine_distance(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    let squares = |v: &[f32]| f64::from(v.iter().fold(0.0f32, |s, &x| s + x * x));
    super::cosine_from(squares(a.1), squares(b.1), || inner_product(a, b))
}

/// Manhattan distance `Σ |aᵢ - bᵢ|`.
pub fn l1_distance(a: Sparse<'_>, b: Sparse<'_>) -> f64 {
    f64::from(merge_sum(a, b, true, |x, y| (x - y).abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::scalar;
    use rand::{Rng, SeedableRng};

    /// A random sparse vector of `dim` dimensions with about `density` of them stored.
    fn random(rng: &mut impl Rng, dim: usize, density: f64) -> (Vec<i32>, Vec<f32>, Vec<f32>) {
        let mut dense = vec![0.0f32; dim];
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for (i, slot) in dense.iter_mut().enumerate() {
            if rng.random_bool(density) {
                let x = rng.random_range(-2.0f32..2.0);
                *slot = x;
                idx.push(i as i32);
                val.push(x);
            }
        }
        (idx, val, dense)
    }

    #[test]
    fn every_distance_matches_the_dense_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for dim in [1, 2, 3, 7, 16, 100, 1000] {
            for density in [0.0, 0.05, 0.5, 1.0] {
                let (ai, ax, ad) = random(&mut rng, dim, density);
                let (bi, bx, bd) = random(&mut rng, dim, density);
                let (a, b) = ((&ai[..], &ax[..]), (&bi[..], &bx[..]));
                let tol = |x: f64| 1e-4 * (1.0 + x.abs());
                let close = |got: f64, want: f64, what: &str| {
                    assert!(
                        (got - want).abs() <= tol(want) || (got.is_nan() && want.is_nan()),
                        "{what} dim {dim} density {density}: {got} vs {want}"
                    )
                };
                close(l2_squared(a, b), scalar::l2_squared(&ad, &bd), "l2");
                close(inner_product(a, b), scalar::inner_product(&ad, &bd), "ip");
                close(l1_distance(a, b), scalar::l1_distance(&ad, &bd), "l1");
                close(
                    cosine_distance(a, b),
                    scalar::cosine_distance(&ad, &bd),
                    "cosine",
                );
            }
        }
    }

    #[test]
    fn exact_small_cases() {
        let a = (&[0, 2][..], &[3.0f32, 4.0][..]);
        let b = (&[1, 2][..], &[1.0f32, 4.0][..]);
        assert_eq!(l2_squared(a, b), 9.0 + 1.0);
        assert_eq!(inner_product(a, b), 16.0);
        assert_eq!(l1_distance(a, b), 4.0);
        assert_eq!(cosine_distance(a, a), 0.0);
        let empty = (&[][..], &[][..]);
        assert!(cosine_distance(a, empty).is_nan());
        assert_eq!(l2_squared(a, empty), 25.0);
        assert_eq!(inner_product(empty, empty), 0.0);
    }
}
