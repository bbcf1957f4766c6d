//! IEEE 754 binary16 (`half`), the element of `halfvec`: conversions to and from
//! `f32`, bit-exact with the hardware's (x86 F16C `VCVTPS2PH` with round-to-nearest-even,
//! `VCVTPH2PS`), so values written by pgvector, by us with or without F16C, and by
//! clients all agree.
//!
//! A half has 1 sign bit, 5 exponent bits (bias 15) and 10 fraction bits: normal values
//! `±1.f × 2^(e-15)` for `e` in 1–30, subnormals `±0.f × 2^-14`, `e = 31` for
//! infinities and NaNs. The largest finite value is 65504; anything from 65520 up
//! rounds to infinity (IEEE 754-2019 §4.3.1, round to nearest, ties to even).

/// A binary16 value, as stored in a `halfvec` (its bits, in the machine's byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Half(pub u16);

const EXPONENT: u16 = 0x7c00;
const FRACTION: u16 = 0x03ff;

impl Half {
    /// The half nearest to `x` (ties to even); ±infinity when `|x| ≥ 65520`, a quiet
    /// NaN for a NaN (its top fraction bits kept).
    pub fn from_f32(x: f32) -> Half {
        let bits = x.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exponent = ((bits >> 23) & 0xff) as i32;
        let fraction = bits & 0x007f_ffff;
        if exponent == 0xff {
            let nan = if fraction != 0 {
                0x0200 | (fraction >> 13) as u16
            } else {
                0
            };
            return Half(sign | EXPONENT | nan);
        }
        // The exponent as a half's (bias 15 instead of 127).
        let half_exponent = exponent - 127 + 15;
        if half_exponent >= 31 {
            return Half(sign | EXPONENT);
        }
        if half_exponent >= 1 {
            // Normal: keep 10 of the 23 fraction bits, round the other 13. A carry out
            // of the fraction goes into the exponent, up to infinity, as it should.
            let kept = ((half_exponent as u32) << 10) | (fraction >> 13);
            return Half(sign | round_shifted(kept, fraction & 0x1fff, 13) as u16);
        }
        // Subnormal or zero: the significand with its leading 1, shifted so that one
        // unit is 2^-24. At a shift of 25 or more the value is below half the
        // smallest subnormal and rounds to zero (an f32 subnormal included).
        let shift = (14 - half_exponent) as u32;
        if exponent == 0 || shift > 24 {
            return Half(sign);
        }
        let significand = fraction | 0x0080_0000;
        let kept = significand >> shift;
        let dropped = significand & ((1 << shift) - 1);
        Half(sign | round_shifted(kept, dropped, shift) as u16)
    }

    /// The exact `f32` value of this half (a NaN comes out as a quiet NaN).
    pub fn to_f32(self) -> f32 {
        let h = self.0;
        let sign = u32::from(h & 0x8000) << 16;
        let exponent = u32::from((h & EXPONENT) >> 10);
        let fraction = u32::from(h & FRACTION);
        let bits = match exponent {
            0 if fraction == 0 => sign,
            0 => {
                // Subnormal: fraction × 2^-24, exact in f32.
                let magnitude = fraction as f32 * (1.0 / 16_777_216.0);
                sign | magnitude.to_bits()
            }
            // Infinity; a NaN keeps its payload and comes out quiet, as from F16C.
            31 if fraction == 0 => sign | 0x7f80_0000,
            31 => sign | 0x7fc0_0000 | (fraction << 13),
            _ => sign | ((exponent + 127 - 15) << 23) | (fraction << 13),
        };
        f32::from_bits(bits)
    }

    /// Whether this is an infinity.
    pub fn is_infinite(self) -> bool {
        self.0 & !0x8000 == EXPONENT
    }

    /// Whether this is a NaN.
    pub fn is_nan(self) -> bool {
        self.0 & EXPONENT == EXPONENT && self.0 & FRACTION != 0
    }
}

/// `kept` rounded by the `shift` low bits `dropped` that were cut off it: up when they
/// are more than half a unit, or exactly half and `kept` is odd.
fn round_shifted(kept: u32, dropped: u32, shift: u32) -> u32 {
    let half = 1 << (shift - 1);
    if dropped > half || (dropped == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// Converts `f32`s to halves; `None` when a finite value overflows to infinity
/// (pgvector's `Float4ToHalf`, which raises "value out of range: overflow").
pub fn halves_from_f32(values: &[f32]) -> Option<Vec<Half>> {
    values
        .iter()
        .map(|&x| {
            let h = Half::from_f32(x);
            (!h.is_infinite() || x.is_infinite()).then_some(h)
        })
        .collect()
}

/// The `f32` values of halves.
pub fn halves_to_f32(halves: &[Half]) -> Vec<f32> {
    halves.iter().map(|h| h.to_f32()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of the positive halves 0…65504 in f64, in bit-pattern order, and
    /// 65536 for infinity (the next step after 65504: 65520 is a tie, to even 0x7c00).
    fn positive_halves() -> Vec<f64> {
        (0..EXPONENT)
            .map(|h| f64::from(Half(h).to_f32()))
            .chain([65536.0])
            .collect()
    }

    /// The nearest half by search in `table` ([`positive_halves`]): of the first
    /// half ≥ |x| and the one before it, the nearer, ties to the even bit pattern.
    fn nearest(x: f32, table: &[f64]) -> u16 {
        let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
        let a = f64::from(x).abs();
        if a >= 65536.0 {
            return sign | EXPONENT;
        }
        let i = table.partition_point(|&v| v < a);
        let mut best = (f64::INFINITY, 0u16);
        for h in [i.checked_sub(1), Some(i)].into_iter().flatten() {
            let err = (table[h] - a).abs();
            if err < best.0 || (err == best.0 && h & 1 == 0) {
                best = (err, h as u16);
            }
        }
        sign | best.1
    }

    #[test]
    fn every_half_round_trips() {
        for h in 0..=u16::MAX {
            let half = Half(h);
            let back = Half::from_f32(half.to_f32());
            if half.is_nan() {
                assert!(back.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(back, half, "{h:#06x}");
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(Half::from_f32(1.0), Half(0x3c00));
        assert_eq!(Half::from_f32(-2.5), Half(0xc100));
        assert_eq!(Half::from_f32(65504.0), Half(0x7bff));
        assert_eq!(Half::from_f32(65519.99), Half(0x7bff));
        assert!(Half::from_f32(65520.0).is_infinite());
        assert_eq!(Half::from_f32(-0.0), Half(0x8000));
        assert_eq!(Half(0x0001).to_f32(), 2f32.powi(-24));
        assert_eq!(Half::from_f32(2f32.powi(-25)), Half(0)); // a tie: to even, 0
        assert_eq!(Half::from_f32(2f32.powi(-25) * 1.5), Half(1));
        assert_eq!(Half::from_f32(1e-10), Half(0));
        assert!(Half::from_f32(f32::NAN).is_nan());
        assert!(Half::from_f32(f32::NEG_INFINITY).is_infinite());
        assert_eq!(Half::from_f32(0.1).to_f32(), 0.099975586);
        assert_eq!(Half::from_f32(-1e-40), Half(0x8000)); // an f32 subnormal
        assert_eq!(Half::from_f32(f32::from_bits(0xffc0_0001)), Half(0xfe00)); // NaN, sign kept
        assert_eq!(Half::from_f32(65519.996), Half(0x7bff));
        assert_eq!(Half(0x7bff).to_f32(), 65504.0);
        assert_eq!(Half(0x0400).to_f32(), 2f32.powi(-14)); // the smallest normal
        assert_eq!(Half(0x03ff).to_f32(), 1023.0 * 2f32.powi(-24)); // the largest subnormal
    }

    #[test]
    fn rounding_matches_the_nearest_half() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        // Midpoints and their neighbours, where rounding decides.
        let mut cases: Vec<f32> = (0..EXPONENT - 1)
            .flat_map(|h| {
                let mid = (Half(h).to_f32() + Half(h + 1).to_f32()) / 2.0;
                [
                    mid,
                    f32::from_bits(mid.to_bits() + 1),
                    f32::from_bits(mid.to_bits() - 1),
                ]
            })
            .filter(|x| *x > 0.0)
            .step_by(7)
            .collect();
        cases.extend((0..2000).map(|_| rng.random_range(-70000.0f32..70000.0)));
        cases.extend((0..2000).map(|_| rng.random_range(-1e-4f32..1e-4)));
        let table = positive_halves();
        for x in cases {
            assert_eq!(Half::from_f32(x).0, nearest(x, &table), "{x:e}");
        }
    }

    #[test]
    fn overflow_is_reported() {
        assert_eq!(
            halves_from_f32(&[1.0, 65504.0]),
            Some(vec![Half(0x3c00), Half(0x7bff)])
        );
        assert_eq!(halves_from_f32(&[1.0, 70000.0]), None);
        assert_eq!(halves_from_f32(&[f32::INFINITY]), Some(vec![Half(0x7c00)]));
        assert_eq!(
            halves_to_f32(&[Half(0x3c00), Half(0xc100)]),
            vec![1.0, -2.5]
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn agrees_with_f16c() {
        if !std::arch::is_x86_feature_detected!("f16c") {
            return;
        }
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..100_000 {
            let x = f32::from_bits(rng.random::<u32>());
            // SAFETY: F16C is present (checked above).
            let hw = unsafe { f16c_from_f32(x) };
            let ours = Half::from_f32(x);
            if x.is_nan() {
                assert!(ours.is_nan() && Half(hw).is_nan());
            } else {
                assert_eq!(ours.0, hw, "{x:e}");
            }
        }
    }

    /// `to_f32` of every half against the hardware's conversion (where the CPU has F16C,
    /// which every x86-64 machine this project runs on has: AVX2 implies it).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_half_widens_as_f16c_does() {
        if !std::arch::is_x86_feature_detected!("f16c") {
            return;
        }
        for h in 0..=u16::MAX {
            // SAFETY: F16C is present (checked above).
            let hw = unsafe { f16c_to_f32(h) };
            assert_eq!(Half(h).to_f32().to_bits(), hw.to_bits(), "{h:#06x}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "f16c")]
    unsafe fn f16c_to_f32(h: u16) -> f32 {
        use std::arch::x86_64::*;
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h))))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "f16c")]
    unsafe fn f16c_from_f32(x: f32) -> u16 {
        use std::arch::x86_64::*;
        let v = _mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm_set_ss(x));
        _mm_extract_epi16::<0>(v) as u16
    }
}
