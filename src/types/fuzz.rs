//! Property-based fuzzing of the `vector` and `halfvec` input functions (text
//! `vector_in`/`halfvec_in` and binary `vector_recv`/`halfvec_recv`), which take
//! untrusted bytes: whatever the input, they return a value or a [`VectorError`]
//! (reported as an ERROR), never panic, and what they accept is a valid value that
//! survives a round trip.
//!
//! CI runs proptest's default 256 cases per property; the fuzzing run (2 million
//! cases per property, about a minute and a half here) is
//! `PROPTEST_CASES=2000000 cargo test --release --lib types::fuzz` (README, "Fuzzing").

use super::half::{halves_to_f32, Half};
use super::halfvec;
use super::text::{format, parse, parse_half};
use super::vector::{from_binary, to_binary};
use super::MAX_DIM;
use proptest::prelude::*;

/// A finite f32, as stored in a vector.
fn finite() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |x| x.is_finite())
}

/// Checks what an input function accepted.
fn valid(v: &[f32]) -> Result<(), TestCaseError> {
    prop_assert!((1..=MAX_DIM).contains(&v.len()));
    prop_assert!(v.iter().all(|x| x.is_finite()));
    Ok(())
}

proptest! {
    #[test]
    fn text_input_never_panics(s in any::<String>()) {
        if let Ok(v) = parse(&s) {
            valid(&v)?;
        }
    }

    #[test]
    fn text_input_of_vector_like_strings(
        s in r"[ \t\n]{0,2}\[[-+0-9eE.,naNifIty \t]{0,80}\][ \t\n]{0,2}[x,\]]{0,1}"
    ) {
        if let Ok(v) = parse(&s) {
            valid(&v)?;
            let again = parse(&format(&v)).expect("output reads back");
            prop_assert_eq!(again, v);
        }
    }

    #[test]
    fn text_round_trip(v in prop::collection::vec(finite(), 1..40)) {
        let back = parse(&format(&v)).expect("output reads back");
        prop_assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn binary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        typmod in -1i32..60,
    ) {
        if let Ok((v, used)) = from_binary(&bytes, typmod) {
            valid(&v)?;
            prop_assert_eq!(used, 4 + 4 * v.len());
            prop_assert!(used <= bytes.len());
            prop_assert!(typmod == -1 || typmod as usize == v.len());
        }
    }

    #[test]
    fn binary_input_of_well_framed_messages(
        v in prop::collection::vec(any::<f32>(), 1..40),
        unused in prop_oneof![Just(0i16), any::<i16>()],
        cut in 0usize..8,
    ) {
        let mut bytes = to_binary(&v);
        bytes[2..4].copy_from_slice(&unused.to_be_bytes());
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        match from_binary(&bytes, -1) {
            Ok((back, _)) => {
                valid(&back)?;
                prop_assert_eq!(unused, 0);
                prop_assert_eq!(cut, 0);
                prop_assert_eq!(back.len(), v.len());
            }
            Err(_) => prop_assert!(unused != 0 || cut != 0 || v.iter().any(|x| !x.is_finite())),
        }
    }

    #[test]
    fn halfvec_text_input_never_panics(
        s in r"[ \t\n]{0,2}\[[-+0-9eE.,naNifIty \t]{0,80}\][ \t\n]{0,2}[x,\]]{0,1}"
    ) {
        if let Ok(v) = parse_half(&s) {
            let values = halves_to_f32(&v);
            valid(&values)?;
            let again = parse_half(&format(&values)).expect("output reads back");
            prop_assert_eq!(again, v);
        }
    }

    #[test]
    fn halfvec_text_round_trip(bits in prop::collection::vec(any::<u16>(), 1..40)) {
        // Every finite half prints as text that reads back to the same half.
        let v: Vec<Half> = bits.into_iter().map(Half).filter(|h| h.to_f32().is_finite()).collect();
        if !v.is_empty() {
            prop_assert_eq!(parse_half(&format(&halves_to_f32(&v))).expect("reads back"), v);
        }
    }

    #[test]
    fn halfvec_binary_input_of_well_framed_messages(
        bits in prop::collection::vec(any::<u16>(), 1..40),
        unused in prop_oneof![Just(0i16), any::<i16>()],
        cut in 0usize..4,
    ) {
        let v: Vec<Half> = bits.into_iter().map(Half).collect();
        let mut bytes = halfvec::to_binary(&v);
        bytes[2..4].copy_from_slice(&unused.to_be_bytes());
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        match halfvec::from_binary(&bytes, -1) {
            Ok((back, used)) => {
                valid(&halves_to_f32(&back))?;
                prop_assert_eq!(unused, 0);
                prop_assert_eq!(cut, 0);
                prop_assert_eq!(used, bytes.len());
                prop_assert_eq!(back, v);
            }
            Err(_) => prop_assert!(
                unused != 0 || cut != 0 || v.iter().any(|h| !h.to_f32().is_finite())
            ),
        }
    }

    #[test]
    fn halfvec_binary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..120),
        typmod in -1i32..60,
    ) {
        if let Ok((v, used)) = halfvec::from_binary(&bytes, typmod) {
            valid(&halves_to_f32(&v))?;
            prop_assert_eq!(used, 4 + 2 * v.len());
            prop_assert!(used <= bytes.len());
            prop_assert!(typmod == -1 || typmod as usize == v.len());
        }
    }
}
