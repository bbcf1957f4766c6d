//! Text form of `sparsevec`: `{1:1.5,3:2}/5`, pgvector's `sparsevec_in` and
//! `sparsevec_out`. Indices are 1-based in text (0-based everywhere else); input may
//! list them in any order and may hold zeros (dropped); output lists the stored
//! elements in index order, each value as `float4out` prints it.

use super::{check_dim, check_index, SparseVec};
use crate::types::error::VectorError;
use crate::types::text::{is_space, parse_element, write_element};
use crate::types::{vector, SPARSEVEC_MAX_NNZ};
use std::fmt::Write;

/// A cursor over the input's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_spaces(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|&c| is_space(c)) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An integer as `strtol` reads it (spaces, a sign, decimal digits), saturated to
    /// `min..=i32::MAX` so that out-of-range numbers keep their error words; `None`
    /// without digits.
    fn integer(&mut self, min: i64) -> Option<i64> {
        self.skip_spaces();
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            value = (value * 10 + i64::from(c - b'0')).min(1 << 40);
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        let value = if negative { -value } else { value };
        Some(value.clamp(min, i64::from(i32::MAX)))
    }
}

/// Whether a literal that reads as 0 has a non-zero mantissa (`1e-46`): a finite value
/// too small for `real`.
fn underflows(token: &str) -> bool {
    let mantissa = token.split(['e', 'E']).next().unwrap_or("");
    mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c))
}

/// Parses `{index:value,…}/dim` (pgvector's `sparsevec_in`) and checks it against
/// `typmod` (`-1`: none).
///
/// # Errors
/// [`VectorError::TooManyNonZero`] for more than 16,000 elements (counted by commas,
/// before anything else), [`VectorError::Syntax`] (with pgvector's details),
/// out-of-range, NaN and infinite values, the dimension limits, the typmod,
/// [`VectorError::IndexOutOfBounds`] and [`VectorError::DuplicateIndices`].
pub fn parse(input: &str, typmod: i32) -> Result<SparseVec, VectorError> {
    let syntax = |detail| VectorError::Syntax {
        input: input.to_owned(),
        detail,
    };
    if input.bytes().filter(|&c| c == b',').count() + 1 > SPARSEVEC_MAX_NNZ {
        return Err(VectorError::TooManyNonZero);
    }
    let mut cur = Cursor {
        bytes: input.as_bytes(),
        pos: 0,
    };
    cur.skip_spaces();
    if cur.peek() != Some(b'{') {
        return Err(syntax(Some("Vector contents must start with \"{\".")));
    }
    cur.pos += 1;
    cur.skip_spaces();
    let mut elements: Vec<(i32, f32)> = Vec::new();
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            // 1-based in text; the lower clamp keeps `index - 1` in i32.
            let index = cur
                .integer(i64::from(i32::MIN) + 1)
                .ok_or_else(|| syntax(None))?;
            cur.skip_spaces();
            if cur.peek() != Some(b':') {
                return Err(syntax(None));
            }
            cur.pos += 1;
            cur.skip_spaces();
            let start = cur.pos;
            while cur
                .peek()
                .is_some_and(|c| !is_space(c) && c != b',' && c != b'}')
            {
                cur.pos += 1;
            }
            // The token ends at an ASCII byte or the end, so it is valid UTF-8.
            let token = &input[start..cur.pos];
            let value = parse_element(token).ok_or_else(|| syntax(None))??;
            // `strtof`'s ERANGE on underflow is an error here (not in `vector_in`).
            if value == 0.0 && underflows(token) {
                return Err(VectorError::ElementOutOfRange(token.to_owned()));
            }
            if value != 0.0 {
                elements.push(((index - 1) as i32, value));
            }
            cur.skip_spaces();
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b'}') => {
                    cur.pos += 1;
                    break;
                }
                _ => return Err(syntax(None)),
            }
        }
    }
    cur.skip_spaces();
    if cur.peek() != Some(b'/') {
        return Err(syntax(Some("Unexpected end of input.")));
    }
    cur.pos += 1;
    let dim = cur
        .integer(i64::from(i32::MIN))
        .ok_or_else(|| syntax(None))?;
    cur.skip_spaces();
    if cur.pos != cur.bytes.len() {
        return Err(syntax(Some("Junk after closing.")));
    }
    let dim = check_dim(dim)?;
    vector::check_typmod(typmod, dim as usize)?;
    elements.sort_by_key(|e| e.0);
    let indices: Vec<i32> = elements.iter().map(|e| e.0).collect();
    (0..indices.len()).try_for_each(|k| check_index(&indices, k, dim))?;
    Ok(SparseVec {
        dim,
        indices,
        values: elements.iter().map(|e| e.1).collect(),
    })
}

/// Formats `{index:value,…}/dim` with 1-based indices, no spaces.
pub fn format(v: super::SparseRef<'_>) -> String {
    let mut out = String::with_capacity(16 + v.nnz() * 20);
    out.push('{');
    for (k, (&i, &x)) in v.indices.iter().zip(v.values).enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:", i64::from(i) + 1);
        write_element(&mut out, x);
    }
    let _ = write!(out, "}}/{}", v.dim);
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::sv;
    use super::*;

    fn syntax(input: &str, detail: Option<&'static str>) -> Result<SparseVec, VectorError> {
        Err(VectorError::Syntax {
            input: input.to_owned(),
            detail,
        })
    }

    #[test]
    fn parses_sorts_and_drops_zeros() {
        assert_eq!(
            parse("{1:1.5,3:3.5}/5", -1),
            Ok(sv(5, &[(0, 1.5), (2, 3.5)]))
        );
        assert_eq!(
            parse(" { 3 : 3.5 ,\t1:1.5, 2:0 } / 5 ", -1),
            Ok(sv(5, &[(0, 1.5), (2, 3.5)]))
        );
        assert_eq!(parse("{}/1", -1), Ok(sv(1, &[])));
        assert_eq!(parse("{+2:-0.5}/2", 2), Ok(sv(2, &[(1, -0.5)])));
        let s = parse("{2:1.5e38,9:-1e-45}/9", -1).unwrap();
        assert_eq!(format(s.as_ref()), "{2:1.5e+38,9:-1e-45}/9");
        assert_eq!(
            format(sv(5, &[(0, 1.5), (2, 3.5)]).as_ref()),
            "{1:1.5,3:3.5}/5"
        );
        assert_eq!(format(sv(3, &[]).as_ref()), "{}/3");
    }

    #[test]
    fn rejects_what_pgvector_rejects_in_its_words() {
        for bad in [
            "",
            "{",
            "{ ",
            "{:",
            "{,",
            "{}",
            "{}/",
            "{}/1a",
            "{:}/1",
            "{,}/1",
            "{1,}/1",
            "{:1}/1",
            "{1:}/1",
            "{1a:1}/1",
            "{1:1a}/1",
            "{1:1,}/1",
            "{1:hello}/1",
        ] {
            let got = parse(bad, -1);
            assert!(
                matches!(&got, Err(VectorError::Syntax { input, .. }) if input == bad),
                "{bad:?}: {got:?}"
            );
        }
        assert_eq!(
            parse("[1]", -1),
            syntax("[1]", Some("Vector contents must start with \"{\"."))
        );
        assert_eq!(
            parse("{}", -1),
            syntax("{}", Some("Unexpected end of input."))
        );
        assert_eq!(
            parse("{}/1 2", -1),
            syntax("{}/1 2", Some("Junk after closing."))
        );
        assert_eq!(parse("{1:NaN}/1", -1), Err(VectorError::NaN));
        assert_eq!(parse("{1:-inf}/1", -1), Err(VectorError::Infinite));
        assert_eq!(
            parse("{1:4e38}/1", -1),
            Err(VectorError::ElementOutOfRange("4e38".into()))
        );
        assert_eq!(
            parse("{1:-1e-46}/1", -1),
            Err(VectorError::ElementOutOfRange("-1e-46".into()))
        );
        assert_eq!(parse("{1:1,1:1}/2", -1), Err(VectorError::DuplicateIndices));
        assert_eq!(
            parse("{1:1,2:1,1:1}/2", -1),
            Err(VectorError::DuplicateIndices)
        );
        for index in [
            "0",
            "2",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
        ] {
            assert_eq!(
                parse(&format!("{{{index}:1}}/1"), -1),
                Err(VectorError::IndexOutOfBounds),
                "{index}"
            );
        }
        for (dim, err) in [
            ("-1", VectorError::NoDimensions),
            ("0", VectorError::NoDimensions),
            ("-9223372036854775809", VectorError::NoDimensions),
            ("1000000001", VectorError::TooManyDimensions),
            ("2147483648", VectorError::TooManyDimensions),
            ("9223372036854775808", VectorError::TooManyDimensions),
        ] {
            assert_eq!(parse(&format!("{{}}/{dim}"), -1), Err(err), "{dim}");
        }
        assert_eq!(
            parse("{}/3", 2),
            Err(VectorError::ExpectedDimensions {
                expected: 2,
                actual: 3
            })
        );
    }

    #[test]
    fn the_element_limit_counts_commas_first() {
        let at_limit: Vec<String> = (1..=16000).map(|i| format!("{i}:1")).collect();
        let s = parse(&format!("{{{}}}/16000", at_limit.join(",")), -1).unwrap();
        assert_eq!(s.indices.len(), 16000);
        let over: Vec<String> = (1..=16001).map(|i| format!("{i}:1")).collect();
        assert_eq!(
            parse(&format!("{{{}}}/16001", over.join(",")), -1),
            Err(VectorError::TooManyNonZero)
        );
        // Even when the list is malformed.
        assert_eq!(
            parse(&",".repeat(16000), -1),
            Err(VectorError::TooManyNonZero)
        );
    }
}
