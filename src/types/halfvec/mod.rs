//! The `halfvec(n)` type (pgvector's, same layout and SQL surface): vectors of IEEE
//! binary16 elements ([`Half`]), up to 16,000 dimensions, half the bytes of a `vector`.
//!
//! Every operation converts the halves to `f32` exactly, runs the `vector` code on them
//! ([`super::vector`], [`super::text`], the `f32` distance kernels) and rounds results
//! back to the nearest half, raising pgvector's errors where a result leaves the half
//! range. This file holds those Postgres-free conversions; `sql_*` the functions.

use super::error::VectorError;
use super::half::{halves_from_f32, halves_to_f32, Half};
use super::{text, vector};

mod sql_aggregates;
mod sql_io;
mod sql_ops;

/// Rounds computed `f32` values to halves; a finite value beyond the half range is
/// [`VectorError::Overflow`] (pgvector's `Float4ToHalf`).
pub fn to_halves(values: &[f32]) -> Result<Vec<Half>, VectorError> {
    halves_from_f32(values).ok_or(VectorError::Overflow)
}

/// Rounds values cast from another type (`vector`, `real[]`, `sparsevec`) to halves,
/// as pgvector's `Float4ToHalf` does: a finite value beyond the half range is
/// [`VectorError::ElementOutOfRange`], naming the value (`"65520" is out of range for
/// type halfvec`). NaN and infinities pass through, for [`check_half`] to refuse.
pub fn cast_to_halves(values: &[f32]) -> Result<Vec<Half>, VectorError> {
    values
        .iter()
        .map(|&x| {
            let h = Half::from_f32(x);
            if h.is_infinite() && x.is_finite() {
                let mut token = String::new();
                text::write_element(&mut token, x);
                Err(VectorError::ElementOutOfRange(token))
            } else {
                Ok(h)
            }
        })
        .collect()
}

/// A cast to `halfvec(typmod)` as pgvector checks it: dimensions and typmod first,
/// then each value rounded ([`cast_to_halves`]) and finite.
pub fn cast_checked(values: &[f32], typmod: i32) -> Result<Vec<Half>, VectorError> {
    vector::check_dims(values.len())?;
    vector::check_typmod(typmod, values.len())?;
    let halves = cast_to_halves(values)?;
    halves.iter().try_for_each(|&h| check_half(h))?;
    Ok(halves)
}

/// Checks one stored half as input: finite.
pub fn check_half(h: Half) -> Result<(), VectorError> {
    vector::check_element(h.to_f32())
}

/// An element-wise operation of [`vector`], e.g. [`vector::add`].
pub type F32Op = fn(&[f32], &[f32]) -> Result<Vec<f32>, VectorError>;

/// Applies an `f32` vector operation to halves and rounds its result back.
pub fn via_f32(a: &[Half], b: &[Half], op: F32Op) -> Result<Vec<Half>, VectorError> {
    to_halves(&op(&halves_to_f32(a), &halves_to_f32(b))?)
}

/// Element-wise product; a product of non-zero halves that rounds to zero is
/// [`VectorError::Underflow`] (as in pgvector's `halfvec_mul`).
pub fn mul(a: &[Half], b: &[Half]) -> Result<Vec<Half>, VectorError> {
    let product = vector::mul(&halves_to_f32(a), &halves_to_f32(b))?;
    let halves = to_halves(&product)?;
    // An f32 product of two halves is exact enough never to be 0 for non-zero factors.
    if halves
        .iter()
        .zip(&product)
        .any(|(h, &p)| h.to_f32() == 0.0 && p != 0.0)
    {
        return Err(VectorError::Underflow);
    }
    Ok(halves)
}

/// Binary form (`halfvec_send`): `int16 dim, int16 unused = 0, dim × binary16`, all
/// big-endian.
pub fn to_binary(v: &[Half]) -> Vec<u8> {
    vector::write_binary(v, |h| h.0.to_be_bytes().to_vec())
}

/// Reads the binary form (`halfvec_recv`), validated as text input is. Returns the
/// elements and the number of bytes consumed.
pub fn from_binary(buf: &[u8], typmod: i32) -> Result<(Vec<Half>, usize), VectorError> {
    vector::read_binary(buf, typmod, 2, |c| {
        let h = Half(u16::from_be_bytes([c[0], c[1]]));
        check_half(h).map(|()| h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(values: &[f32]) -> Vec<Half> {
        values.iter().map(|&x| Half::from_f32(x)).collect()
    }

    #[test]
    fn arithmetic_rounds_and_checks_the_half_range() {
        assert_eq!(
            via_f32(&h(&[1.0, 2.5]), &h(&[3.0, -4.0]), vector::add),
            Ok(h(&[4.0, -1.5]))
        );
        assert_eq!(
            via_f32(&h(&[60000.0]), &h(&[60000.0]), vector::add),
            Err(VectorError::Overflow)
        );
        assert_eq!(
            via_f32(&h(&[1.0]), &h(&[1.0, 2.0]), vector::sub),
            Err(VectorError::DifferentDimensions(1, 2))
        );
        assert_eq!(mul(&h(&[2.0, 0.0]), &h(&[3.0, 5.0])), Ok(h(&[6.0, 0.0])));
        assert_eq!(mul(&h(&[1e-4]), &h(&[1e-4])), Err(VectorError::Underflow));
        assert_eq!(mul(&h(&[300.0]), &h(&[300.0])), Err(VectorError::Overflow));
    }

    #[test]
    fn casts_name_the_value_out_of_half_range() {
        assert_eq!(cast_to_halves(&[1.5, -65504.0]), Ok(h(&[1.5, -65504.0])));
        assert_eq!(
            cast_to_halves(&[1.0, 65520.0]),
            Err(VectorError::ElementOutOfRange("65520".into()))
        );
        assert_eq!(
            cast_to_halves(&[-1e6]),
            Err(VectorError::ElementOutOfRange("-1e+06".into()))
        );
        assert!(cast_to_halves(&[f32::NAN]).unwrap()[0].is_nan());
    }

    #[test]
    fn binary_round_trips_and_is_checked() {
        let v = h(&[1.0, -2.5, 65504.0, 0.0001]);
        let bytes = to_binary(&v);
        assert_eq!(bytes.len(), 4 + 2 * 4);
        assert_eq!(&bytes[..6], &[0, 4, 0, 0, 0x3c, 0x00]);
        assert_eq!(from_binary(&bytes, -1), Ok((v.clone(), bytes.len())));
        assert_eq!(
            from_binary(&bytes, 3),
            Err(VectorError::ExpectedDimensions {
                expected: 3,
                actual: 4
            })
        );
        let infinite = [0, 1, 0, 0, 0x7c, 0x00];
        assert_eq!(from_binary(&infinite, -1), Err(VectorError::Infinite));
        let nan = [0, 1, 0, 0, 0x7e, 0x00];
        assert_eq!(from_binary(&nan, -1), Err(VectorError::NaN));
        assert_eq!(
            from_binary(&bytes[..7], -1),
            Err(VectorError::InsufficientData)
        );
    }
}
