//! Checks and arithmetic on vector elements, without PostgreSQL.
//!
//! The SQL functions in `sql_*.rs` are thin wrappers over these, so plain `cargo test`
//! covers the logic; the wrappers only move datums and raise errors.

use super::error::VectorError;
use super::MAX_DIM;
use std::cmp::Ordering;

/// Checks the number of dimensions against `1..=16000`.
pub fn check_dims(n: usize) -> Result<(), VectorError> {
    match n {
        0 => Err(VectorError::NoDimensions),
        n if n > MAX_DIM => Err(VectorError::TooManyDimensions),
        _ => Ok(()),
    }
}

/// Checks one element: finite (no NaN, no ±Infinity).
pub fn check_element(x: f32) -> Result<(), VectorError> {
    if x.is_nan() {
        Err(VectorError::NaN)
    } else if x.is_infinite() {
        Err(VectorError::Infinite)
    } else {
        Ok(())
    }
}

/// Checks a value against a `vector(n)` typmod; `typmod = -1` means no constraint.
pub fn check_typmod(typmod: i32, n: usize) -> Result<(), VectorError> {
    if typmod != -1 && usize::try_from(typmod).ok() != Some(n) {
        return Err(VectorError::ExpectedDimensions {
            expected: typmod,
            actual: n,
        });
    }
    Ok(())
}

/// Validates a whole vector: dimension limits, every element finite, typmod.
pub fn check_vector(elements: &[f32], typmod: i32) -> Result<(), VectorError> {
    check_dims(elements.len())?;
    elements.iter().try_for_each(|&x| check_element(x))?;
    check_typmod(typmod, elements.len())
}

/// Parses a `vector(n)` type modifier list (`vector_typmod_in`): one `n` in `1..=max`.
pub fn parse_typmod(mods: &[i32], max: usize) -> Result<i32, VectorError> {
    match mods {
        [n] if *n < 1 => Err(VectorError::TypmodTooSmall),
        [n] if *n as usize > max => Err(VectorError::TypmodTooLarge),
        [n] => Ok(*n),
        _ => Err(VectorError::InvalidTypmod),
    }
}

/// Checks that two operands have the same dimensions.
pub fn check_same_dims(a: &[f32], b: &[f32]) -> Result<(), VectorError> {
    if a.len() != b.len() {
        return Err(VectorError::DifferentDimensions(a.len(), b.len()));
    }
    Ok(())
}

fn zip_checked(
    a: &[f32],
    b: &[f32],
    op: impl Fn(f32, f32) -> f32,
    check: impl Fn(f32, f32, f32) -> Result<(), VectorError>,
) -> Result<Vec<f32>, VectorError> {
    check_same_dims(a, b)?;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let r = op(x, y);
            check(x, y, r).map(|()| r)
        })
        .collect()
}

fn no_overflow(_: f32, _: f32, r: f32) -> Result<(), VectorError> {
    if r.is_infinite() {
        Err(VectorError::Overflow)
    } else {
        Ok(())
    }
}

/// Element-wise `a + b`; overflow to infinity is an error.
pub fn add(a: &[f32], b: &[f32]) -> Result<Vec<f32>, VectorError> {
    zip_checked(a, b, |x, y| x + y, no_overflow)
}

/// Element-wise `a - b`; overflow to infinity is an error.
pub fn sub(a: &[f32], b: &[f32]) -> Result<Vec<f32>, VectorError> {
    zip_checked(a, b, |x, y| x - y, no_overflow)
}

/// Element-wise `a * b`; overflow, and underflow of a non-zero product to 0, are errors.
pub fn mul(a: &[f32], b: &[f32]) -> Result<Vec<f32>, VectorError> {
    zip_checked(
        a,
        b,
        |x, y| x * y,
        |x, y, r| {
            no_overflow(x, y, r)?;
            if r == 0.0 && x != 0.0 && y != 0.0 {
                return Err(VectorError::Underflow);
            }
            Ok(())
        },
    )
}

/// `a || b`: the elements of `a` followed by those of `b`.
pub fn concat<T: Copy>(a: &[T], b: &[T]) -> Result<Vec<T>, VectorError> {
    check_dims(a.len() + b.len())?;
    Ok([a, b].concat())
}

/// `subvector(v, start, count)`: `count` elements from the 1-based `start`, clipped
/// to the vector as pgvector does (a start before 1 shortens the result).
pub fn subvector<T: Copy>(v: &[T], start: i32, count: i32) -> Result<Vec<T>, VectorError> {
    if count < 1 {
        return Err(VectorError::NoDimensions);
    }
    let end = i64::from(start) + i64::from(count); // exclusive, 1-based
    let first = i64::from(start).max(1);
    let last = end.min(v.len() as i64 + 1);
    if last <= first {
        return Err(VectorError::NoDimensions);
    }
    Ok(v[(first - 1) as usize..(last - 1) as usize].to_vec())
}

/// Euclidean norm `‖v‖`, accumulated in f64.
pub fn norm(v: &[f32]) -> f64 {
    norm_of(v.iter().copied())
}

/// The Euclidean norm of `values`, accumulated in `f64` (the elements of a `halfvec`,
/// the stored values of a `sparsevec`).
pub fn norm_of(values: impl Iterator<Item = f32>) -> f64 {
    values
        .map(|x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// `v / ‖v‖`; the zero vector stays zero.
pub fn l2_normalize(v: &[f32]) -> Result<Vec<f32>, VectorError> {
    let n = norm(v);
    if n == 0.0 {
        return Ok(v.to_vec());
    }
    let out: Vec<f32> = v.iter().map(|&x| (f64::from(x) / n) as f32).collect();
    out.iter().try_for_each(|&x| no_overflow(0.0, 0.0, x))?;
    Ok(out)
}

/// B-tree order: element-wise, then the shorter vector first.
pub fn compare(a: &[f32], b: &[f32]) -> Ordering {
    compare_by(a, b, |&x| x)
}

/// [`compare`] on elements of any type, by their `f32` values.
pub fn compare_by<T>(a: &[T], b: &[T], value: impl Fn(&T) -> f32) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (value(x), value(y));
        // Elements are finite, so partial_cmp never fails; -0 equals 0 as in float4.
        match x.partial_cmp(&y) {
            Some(Ordering::Equal) | None => continue,
            Some(o) => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// Binary form (`vector_send`): `int16 dim, int16 unused = 0, dim × float4`, all
/// big-endian (network byte order), as in pgvector.
pub fn to_binary(v: &[f32]) -> Vec<u8> {
    write_binary(v, |x| x.to_be_bytes().to_vec())
}

/// Reads the binary form (`vector_recv`) and validates it exactly as text input is
/// validated. Returns the elements and the number of bytes consumed.
pub fn from_binary(buf: &[u8], typmod: i32) -> Result<(Vec<f32>, usize), VectorError> {
    read_binary(buf, typmod, 4, |c| {
        let x = f32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        check_element(x).map(|()| x)
    })
}

/// The binary form of `vector` and `halfvec`: the header, then each element as
/// `encode` writes it.
pub fn write_binary<E: Copy>(v: &[E], encode: impl Fn(E) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + std::mem::size_of_val(v));
    out.extend_from_slice(&(v.len() as i16).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes());
    for &x in v {
        out.extend_from_slice(&encode(x));
    }
    out
}

/// Reads the binary form of `vector` and `halfvec`: the header (dimensions checked
/// against the limits and `typmod`, `unused` zero), then `dim` elements of `width`
/// bytes, each decoded and checked by `decode`. Returns the elements and the bytes
/// consumed.
pub fn read_binary<E>(
    buf: &[u8],
    typmod: i32,
    width: usize,
    decode: impl Fn(&[u8]) -> Result<E, VectorError>,
) -> Result<(Vec<E>, usize), VectorError> {
    let header = buf.get(..4).ok_or(VectorError::InsufficientData)?;
    let dim = i16::from_be_bytes([header[0], header[1]]);
    let unused = i16::from_be_bytes([header[2], header[3]]);
    let dim = usize::try_from(dim).map_err(|_| VectorError::NoDimensions)?;
    check_dims(dim)?;
    check_typmod(typmod, dim)?;
    if unused != 0 {
        return Err(VectorError::UnusedNotZero(unused.into()));
    }
    let body = buf
        .get(4..4 + width * dim)
        .ok_or(VectorError::InsufficientData)?;
    let v = body
        .chunks_exact(width)
        .map(decode)
        .collect::<Result<Vec<E>, _>>()?;
    Ok((v, 4 + width * dim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmods() {
        assert_eq!(parse_typmod(&[3], MAX_DIM), Ok(3));
        assert_eq!(
            parse_typmod(&[0], MAX_DIM),
            Err(VectorError::TypmodTooSmall)
        );
        assert_eq!(
            parse_typmod(&[16001], MAX_DIM),
            Err(VectorError::TypmodTooLarge)
        );
        assert_eq!(
            parse_typmod(&[1, 2], MAX_DIM),
            Err(VectorError::InvalidTypmod)
        );
        assert_eq!(
            check_typmod(3, 2),
            Err(VectorError::ExpectedDimensions {
                expected: 3,
                actual: 2
            })
        );
        assert_eq!(check_typmod(-1, 2), Ok(()));
    }

    #[test]
    fn arithmetic_and_errors() {
        assert_eq!(add(&[1.0, 2.0], &[3.0, 4.0]), Ok(vec![4.0, 6.0]));
        assert_eq!(sub(&[1.0, 2.0], &[3.0, 4.0]), Ok(vec![-2.0, -2.0]));
        assert_eq!(mul(&[1.0, 2.0], &[3.0, 4.0]), Ok(vec![3.0, 8.0]));
        assert_eq!(
            add(&[1.0], &[1.0, 2.0]),
            Err(VectorError::DifferentDimensions(1, 2))
        );
        assert_eq!(add(&[f32::MAX], &[f32::MAX]), Err(VectorError::Overflow));
        assert_eq!(sub(&[-f32::MAX], &[f32::MAX]), Err(VectorError::Overflow));
        assert_eq!(mul(&[1e-30], &[1e-30]), Err(VectorError::Underflow));
        assert_eq!(mul(&[0.0], &[1e-30]), Ok(vec![0.0]));
    }

    #[test]
    fn subvector_clips_like_pgvector() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(subvector(&v, 1, 3), Ok(vec![1.0, 2.0, 3.0]));
        assert_eq!(subvector(&v, 3, 2), Ok(vec![3.0, 4.0]));
        assert_eq!(subvector(&v, -1, 3), Ok(vec![1.0]));
        assert_eq!(subvector(&v, 3, 9), Ok(vec![3.0, 4.0, 5.0]));
        assert_eq!(subvector(&v, 6, 1), Err(VectorError::NoDimensions));
        assert_eq!(subvector(&v, 1, 0), Err(VectorError::NoDimensions));
        assert_eq!(
            subvector(&v, i32::MAX, i32::MAX),
            Err(VectorError::NoDimensions)
        );
    }

    #[test]
    fn concat_norm_normalize_compare() {
        assert_eq!(concat(&[1.0], &[2.0, 3.0]), Ok(vec![1.0, 2.0, 3.0]));
        assert_eq!(
            concat(&[0.0; 16000], &[1.0]),
            Err(VectorError::TooManyDimensions)
        );
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert_eq!(l2_normalize(&[3.0, 4.0]), Ok(vec![0.6, 0.8]));
        assert_eq!(l2_normalize(&[0.0, 0.0]), Ok(vec![0.0, 0.0]));
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 3.0]), Ordering::Less);
        assert_eq!(compare(&[1.0, 2.0], &[1.0]), Ordering::Greater);
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 2.0]), Ordering::Equal);
        assert_eq!(compare(&[2.0], &[1.0, 5.0]), Ordering::Greater);
    }

    #[test]
    fn binary_round_trip_and_validation() {
        let v = vec![1.0f32, -2.5, 3e-7];
        let bytes = to_binary(&v);
        assert_eq!(&bytes[..4], &[0, 3, 0, 0]);
        assert_eq!(from_binary(&bytes, -1), Ok((v.clone(), 16)));
        assert_eq!(
            from_binary(&bytes, 2),
            Err(VectorError::ExpectedDimensions {
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(
            from_binary(&bytes[..10], -1),
            Err(VectorError::InsufficientData)
        );
        let mut bad = bytes.clone();
        bad[3] = 1;
        assert_eq!(from_binary(&bad, -1), Err(VectorError::UnusedNotZero(1)));
        let mut nan = bytes.clone();
        nan[4..8].copy_from_slice(&f32::NAN.to_be_bytes());
        assert_eq!(from_binary(&nan, -1), Err(VectorError::NaN));
        assert_eq!(
            from_binary(&[0, 0, 0, 0], -1),
            Err(VectorError::NoDimensions)
        );
        assert_eq!(
            from_binary(&[0xff, 0xff, 0, 0], -1),
            Err(VectorError::NoDimensions)
        );
        assert_eq!(
            from_binary(&[0x3e, 0x81, 0, 0], -1),
            Err(VectorError::TooManyDimensions)
        );
    }
}
