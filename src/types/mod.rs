//! The SQL surface of the `vector`, `halfvec` and `sparsevec` types and the `bit`
//! distances (pgvector-compatible).
//!
//! - [`text`], [`vector`]: Postgres-free parsing, formatting, checks and arithmetic.
//! - [`datum`]: the FFI layer that reads and writes `vector` and `halfvec` datums.
//! - [`half`]: binary16 conversions; [`halfvec`]: the `halfvec` type on top of them.
//! - [`bit`]: Hamming and Jaccard distances on `bit(n)`, `binary_quantize`.
//! - [`sparsevec`]: the `sparsevec` type (sorted indices and their non-zero values).
//! - `sql_*`: the `#[pg_extern]` functions, thin wrappers over the above.
//! - `sql/bootstrap.sql` and `sql/finalize.sql` create the type, its operators,
//!   operator classes, aggregates and casts around these functions.

pub mod bit;
pub mod datum;
pub mod error;
pub mod half;
pub mod halfvec;
pub mod sparsevec;
pub mod text;
pub mod vector;

#[cfg(test)]
mod fuzz;

mod sql_aggregates;
mod sql_compare;
mod sql_io;
mod sql_ops;

/// The largest number of dimensions a `vector` or `halfvec` can have (pgvector's
/// `VECTOR_MAX_DIM`, `HALFVEC_MAX_DIM`).
pub const MAX_DIM: usize = 16000;

/// The largest number of dimensions of a `sparsevec` (pgvector's `SPARSEVEC_MAX_DIM`).
pub const SPARSEVEC_MAX_DIM: usize = 1_000_000_000;

/// The largest number of non-zero elements a `sparsevec` stores from text or binary
/// input (pgvector's `SPARSEVEC_MAX_NNZ`).
pub const SPARSEVEC_MAX_NNZ: usize = 16000;

pgrx::extension_sql_file!("../../sql/bootstrap.sql", name = "bootstrap", bootstrap);
pgrx::extension_sql_file!("../../sql/finalize.sql", name = "finalize", finalize);
