//! `#[pg_test]` tests: they run inside a PostgreSQL backend started by
//! `cargo pgrx test`. Each file holds a `#[pg_schema] mod tests` (pgrx calls test
//! functions in the schema `tests`).

mod bit_sql;
mod chains;
mod errors;
mod filter_in_scan;
mod halfvec_sql;
mod hnsw_index;
mod hnsw_recall;
mod iterative_scan;
mod planner;
mod sparse_index;
mod sparsevec_sql;
mod support;
mod vacuum_relink;
mod vector_sql;
