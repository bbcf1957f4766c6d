//! pgvec_hnsw: a pgvector-compatible `vector` type, distance operators and an `hnsw`
//! index access method for PostgreSQL.
//!
//! Layers (see `ARCHITECTURE.md` in the shared docs), each calling only the one below:
//! - [`types`]: the SQL surface of `vector` (I/O, operators, casts, aggregates);
//! - [`am`]: the `hnsw` index access method (thin glue over the two below);
//! - [`hnsw`]: the HNSW algorithms, Postgres-free;
//! - [`storage`]: index pages, buffer guards, GenericXLog, the metapage;
//! - [`distance`]: the distance kernels, one dispatch table chosen in `_PG_init`;
//! - [`pg`]: the places where PostgreSQL versions differ.

use pgrx::prelude::*;

pub mod am;
pub mod distance;
pub mod error;
pub mod hnsw;
pub mod pg;
pub mod storage;
pub mod types;

::pgrx::pg_module_magic!(name, version);

/// Library load: choose the distance kernels once for this backend; register the
/// `hnsw.ef_search` setting and the index reloptions.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    distance::init();
    am::options::init();
    pg::scan_node::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// One-off set-up when the test framework starts.
    pub fn setup(_options: Vec<&str>) {}

    /// postgresql.conf settings for the test cluster.
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
