//! Text form of `vector` and `halfvec`: `[1,2.5,-0.03]`.
//!
//! Postgres-free, so plain `cargo test` covers it. Parsing follows pgvector's
//! `vector_in`: whitespace is allowed around elements and brackets, each element is a
//! `real` literal, NaN and infinities are rejected, and a finite literal that
//! overflows `real` is out of range. Output follows PostgreSQL's `float4out` with
//! `extra_float_digits = 1` (the default): the shortest decimal that reads back to the
//! same `f32`, fixed-point for decimal exponents −4…5 and scientific (`1e+06`)
//! otherwise (PostgreSQL `src/common/f2s.c`).

use super::error::VectorError;
use super::half::Half;
use super::MAX_DIM;
use std::fmt::Write;

/// Whitespace as PostgreSQL's `scanner_isspace` and pgvector's `vector_isspace` see it.
pub fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Parses the text form of a vector into its elements.
///
/// Checks syntax, element values and the dimension limits `1..=16000`; the caller
/// checks a typmod.
///
/// # Errors
/// [`VectorError::Syntax`], [`VectorError::ElementOutOfRange`], [`VectorError::NaN`],
/// [`VectorError::Infinite`], [`VectorError::NoDimensions`],
/// [`VectorError::TooManyDimensions`].
pub fn parse(input: &str) -> Result<Vec<f32>, VectorError> {
    parse_elements(input, |_, x| Ok(x))
}

/// Parses the text form of a `halfvec` (pgvector's `halfvec_in`): each element is read
/// as a `real`, then rounded to the nearest half; one that overflows the half range
/// (65520 and up) is out of range. Errors as [`parse`].
pub fn parse_half(input: &str) -> Result<Vec<Half>, VectorError> {
    parse_elements(input, |token, x| {
        let h = Half::from_f32(x);
        if h.is_infinite() {
            Err(VectorError::ElementOutOfRange(token.to_owned()))
        } else {
            Ok(h)
        }
    })
}

/// The parser of [`parse`] and [`parse_half`]: `convert` turns each element's token
/// and its checked `real` value into an element.
fn parse_elements<E>(
    input: &str,
    convert: impl Fn(&str, f32) -> Result<E, VectorError>,
) -> Result<Vec<E>, VectorError> {
    let syntax = |detail| VectorError::Syntax {
        input: input.to_owned(),
        detail,
    };
    let bytes = input.as_bytes();
    let mut pos = 0;
    let skip_spaces = |pos: &mut usize| {
        while *pos < bytes.len() && is_space(bytes[*pos]) {
            *pos += 1;
        }
    };

    skip_spaces(&mut pos);
    if bytes.get(pos) != Some(&b'[') {
        return Err(syntax(Some("Vector contents must start with \"[\".")));
    }
    pos += 1;
    skip_spaces(&mut pos);
    if bytes.get(pos) == Some(&b']') {
        return Err(VectorError::NoDimensions);
    }

    let mut elements = Vec::new();
    loop {
        if elements.len() == MAX_DIM {
            return Err(VectorError::TooManyDimensions);
        }
        skip_spaces(&mut pos);
        let start = pos;
        while pos < bytes.len() && !is_space(bytes[pos]) && bytes[pos] != b',' && bytes[pos] != b']'
        {
            pos += 1;
        }
        if start == pos {
            let detail = if pos == bytes.len() {
                "Unexpected end of input."
            } else {
                "Missing element."
            };
            return Err(syntax(Some(detail)));
        }
        // The token ends at an ASCII byte or the end, so it is valid UTF-8.
        let token = &input[start..pos];
        let value = parse_element(token).ok_or_else(|| syntax(None))??;
        elements.push(convert(token, value)?);
        skip_spaces(&mut pos);
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b']') => {
                pos += 1;
                break;
            }
            Some(_) => return Err(syntax(None)),
            None => return Err(syntax(Some("Unexpected end of input."))),
        }
    }
    skip_spaces(&mut pos);
    if pos != bytes.len() {
        return Err(syntax(Some("Junk after closing right brace.")));
    }
    Ok(elements)
}

/// One element (`real` literal): `None` when the token is not a number at all, else
/// the value, checked: NaN and infinities are errors, and so is a finite literal that
/// overflows `real` (`1e39`: out of range). One that underflows reads as 0, as in
/// pgvector's `vector_in`.
pub fn parse_element(token: &str) -> Option<Result<f32, VectorError>> {
    let value: f32 = token.parse().ok()?;
    Some(if value.is_nan() {
        Err(VectorError::NaN)
    } else if value.is_infinite() {
        let unsigned = token.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if unsigned == "inf" || unsigned == "infinity" {
            Err(VectorError::Infinite)
        } else {
            Err(VectorError::ElementOutOfRange(token.to_owned()))
        }
    } else {
        Ok(value)
    })
}

/// Appends one `f32` as PostgreSQL's `float4out` prints it.
pub fn write_element(out: &mut String, x: f32) {
    if x == 0.0 || !x.is_finite() {
        // "0", "-0"; NaN and infinities never occur in a valid vector.
        let _ = write!(out, "{x}");
        return;
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "-1.234567e6".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp output has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    if (-4..6).contains(&exp) {
        // Display also gives the shortest round-trip digits, in fixed notation.
        let _ = write!(out, "{x}");
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
    }
}

/// Formats elements as `[x,y,…]` without spaces.
pub fn format(elements: &[f32]) -> String {
    let mut out = String::with_capacity(2 + elements.len() * 12);
    out.push('[');
    for (i, &x) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_element(&mut out, x);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(input: &str, detail: Option<&'static str>) -> Result<Vec<f32>, VectorError> {
        Err(VectorError::Syntax {
            input: input.to_owned(),
            detail,
        })
    }

    #[test]
    fn parses_with_whitespace() {
        assert_eq!(parse("[1,2,3]"), Ok(vec![1.0, 2.0, 3.0]));
        assert_eq!(parse(" [ 1 , 2.5,\t-3e-2 ]\n"), Ok(vec![1.0, 2.5, -0.03]));
        assert_eq!(parse("[+1.,.5]"), Ok(vec![1.0, 0.5]));
    }

    #[test]
    fn rejects_bad_syntax_with_pgvector_wording() {
        assert_eq!(
            parse("[1,2"),
            syntax("[1,2", Some("Unexpected end of input."))
        );
        assert_eq!(
            parse("1,2]"),
            syntax("1,2]", Some("Vector contents must start with \"[\"."))
        );
        assert_eq!(
            parse(""),
            syntax("", Some("Vector contents must start with \"[\"."))
        );
        assert_eq!(
            parse("[1,2]x"),
            syntax("[1,2]x", Some("Junk after closing right brace."))
        );
        assert_eq!(parse("[1,,2]"), syntax("[1,,2]", Some("Missing element.")));
        assert_eq!(parse("[1,a]"), syntax("[1,a]", None));
        assert_eq!(parse("[1 2]"), syntax("[1 2]", None));
        assert_eq!(parse("[1,]"), syntax("[1,]", Some("Missing element.")));
        assert_eq!(parse("["), syntax("[", Some("Unexpected end of input.")));
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(parse("[]"), Err(VectorError::NoDimensions));
        assert_eq!(parse("[ ]"), Err(VectorError::NoDimensions));
        assert_eq!(parse("[NaN]"), Err(VectorError::NaN));
        assert_eq!(parse("[1,-Infinity]"), Err(VectorError::Infinite));
        assert_eq!(parse("[inf]"), Err(VectorError::Infinite));
        assert_eq!(
            parse("[1e39]"),
            Err(VectorError::ElementOutOfRange("1e39".into()))
        );
        assert_eq!(parse("[1e-50]"), Ok(vec![0.0]));
        let max = format!("[{}]", vec!["1"; MAX_DIM].join(","));
        assert_eq!(parse(&max).map(|v| v.len()), Ok(MAX_DIM));
        let over = format!("[{}]", vec!["1"; MAX_DIM + 1].join(","));
        assert_eq!(parse(&over), Err(VectorError::TooManyDimensions));
    }

    #[test]
    fn parses_halves() {
        let h = |x: f32| Half::from_f32(x);
        assert_eq!(parse_half("[1, 2.5,-3]"), Ok(vec![h(1.0), h(2.5), h(-3.0)]));
        assert_eq!(parse_half("[0.1]"), Ok(vec![Half(0x2e66)]));
        assert_eq!(parse_half("[65504,65519]"), Ok(vec![Half(0x7bff); 2]));
        assert_eq!(
            parse_half("[1,65520]"),
            Err(VectorError::ElementOutOfRange("65520".into()))
        );
        assert_eq!(
            parse_half("[-1e39]"),
            Err(VectorError::ElementOutOfRange("-1e39".into()))
        );
        assert_eq!(parse_half("[Infinity]"), Err(VectorError::Infinite));
        assert_eq!(parse_half("[NaN]"), Err(VectorError::NaN));
        assert_eq!(parse_half("[1e-8]"), Ok(vec![Half(0)]));
        assert_eq!(parse_half("[]"), Err(VectorError::NoDimensions));
        assert_eq!(
            parse_half("[1,x]"),
            Err(VectorError::Syntax {
                input: "[1,x]".into(),
                detail: None
            })
        );
        let half_tenth = Half(0x2e66).to_f32();
        assert_eq!(format(&[half_tenth]), "[0.099975586]");
    }

    #[test]
    fn formats_like_float4out() {
        assert_eq!(format(&[1.0, 2.5, -0.03]), "[1,2.5,-0.03]");
        assert_eq!(format(&[0.0, -0.0]), "[0,-0]");
        assert_eq!(
            format(&[100000.0, 1000000.0, 1234567.0]),
            "[100000,1e+06,1.234567e+06]"
        );
        assert_eq!(format(&[0.0001, 0.00001, 1.5e-7]), "[0.0001,1e-05,1.5e-07]");
        assert_eq!(
            format(&[f32::MAX, f32::MIN_POSITIVE]),
            "[3.4028235e+38,1.1754944e-38]"
        );
        assert_eq!(format(&[0.1, 1.0 / 3.0]), "[0.1,0.33333334]");
    }

    #[test]
    fn text_round_trips_exactly() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let v: Vec<f32> = (0..2000)
            .map(|i| {
                let bits =
                    rng.random::<u32>() & !(0xff << 23) | ((rng.random_range(1..254) as u32) << 23);
                if i % 2 == 0 {
                    f32::from_bits(bits)
                } else {
                    rng.random_range(-1.0..1.0)
                }
            })
            .collect();
        let text = format(&v);
        let back = parse(&text).unwrap();
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
