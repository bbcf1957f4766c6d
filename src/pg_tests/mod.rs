//! `#[pg_test]` tests: they run inside a PostgreSQL backend started by
//! `cargo pgrx test`.

mod vector_sql;
