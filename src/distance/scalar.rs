//! Scalar reference implementations of the distance functions.
//!
//! These are the definitions every SIMD kernel is tested against (see `tests` in
//! `mod.rs`). They accumulate in `f64`, so they are more exact than any `f32` kernel;
//! they are not used on hot paths.
//!
//! All functions take two slices of equal length; the caller checks dimensions.

/// Squared Euclidean distance `Σ (aᵢ - bᵢ)²`.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// Inner product `Σ aᵢ·bᵢ`.
pub fn inner_product(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// Cosine distance `1 - a·b / (‖a‖·‖b‖)`, with the similarity clamped to `[-1, 1]`.
///
/// NaN when either vector has norm zero, as in pgvector.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let ab = inner_product(a, b);
    let norms = inner_product(a, a) * inner_product(b, b);
    if norms == 0.0 {
        return f64::NAN;
    }
    1.0 - (ab / norms.sqrt()).clamp(-1.0, 1.0)
}

/// Manhattan (taxicab) distance `Σ |aᵢ - bᵢ|`.
pub fn l1_distance(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
        .sum()
}
