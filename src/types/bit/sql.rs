//! `hamming_distance(bit, bit)` (`<~>`), `jaccard_distance(bit, bit)` (`<%>`) and
//! `binary_quantize(vector | halfvec)`, as pgvector defines them.

use super::datum::{Bit, BitArg};
use super::{hamming, jaccard, quantize};
use crate::types::datum::{HalfvecArg, VectorArg};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// Both operands' bytes, after checking that their lengths agree.
fn same_length<'a>(a: &BitArg<'a>, b: &BitArg<'a>) -> (&'a [u8], &'a [u8]) {
    if a.len() != b.len() {
        crate::error::raise(
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("different bit lengths {} and {}", a.len(), b.len()),
            None,
        );
    }
    (a.bytes(), b.bytes())
}

/// `hamming_distance(bit, bit)`, operator `<~>`: the number of differing bits.
#[pg_extern(immutable, strict, parallel_safe)]
fn hamming_distance(a: BitArg<'_>, b: BitArg<'_>) -> f64 {
    let (a, b) = same_length(&a, &b);
    hamming(a, b) as f64
}

/// `jaccard_distance(bit, bit)`, operator `<%>`: `1 - |a ∩ b| / |a ∪ b|`.
#[pg_extern(immutable, strict, parallel_safe)]
fn jaccard_distance(a: BitArg<'_>, b: BitArg<'_>) -> f64 {
    let (a, b) = same_length(&a, &b);
    jaccard(a, b)
}

/// `binary_quantize(vector)`: a bit per dimension, set where the element is > 0.
#[pg_extern(immutable, strict, parallel_safe, name = "binary_quantize")]
fn vector_binary_quantize(v: VectorArg<'_>) -> Bit {
    Bit {
        len: v.len(),
        bytes: quantize(v.iter().map(|&x| x > 0.0)),
    }
}

/// `binary_quantize(halfvec)`: a bit per dimension, set where the element is > 0.
#[pg_extern(immutable, strict, parallel_safe, name = "binary_quantize")]
fn halfvec_binary_quantize(v: HalfvecArg<'_>) -> Bit {
    Bit {
        len: v.len(),
        bytes: quantize(v.iter().map(|h| h.to_f32() > 0.0)),
    }
}
