//! Helpers shared by the `#[pg_test]` suites.

use pgrx::prelude::*;

/// What an error report adds to `SQLSTATE: message` (see [`error_report`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    None,
    Detail,
    Hint,
}

/// Runs `query` and returns `SQLSTATE: message`, with ` | detail` or ` | hint`
/// appended as `extra` asks and the error has one, or `ok` when it succeeds.
pub fn error_report_with(query: &str, extra: Extra) -> String {
    Spi::run(
        r#"CREATE OR REPLACE FUNCTION pg_temp.error_of(q text, extra text) RETURNS text
        LANGUAGE plpgsql AS $f$
        DECLARE detail text; hint text;
        BEGIN
            EXECUTE q;
            RETURN 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            RETURN SQLSTATE || ': ' || SQLERRM || CASE extra
                WHEN 'detail' THEN coalesce(' | ' || nullif(detail, ''), '')
                WHEN 'hint' THEN coalesce(' | ' || nullif(hint, ''), '')
                ELSE '' END;
        END $f$"#,
    )
    .unwrap();
    let extra = match extra {
        Extra::None => "none",
        Extra::Detail => "detail",
        Extra::Hint => "hint",
    };
    Spi::get_one_with_args::<String>(
        "SELECT pg_temp.error_of($1, $2)",
        &[query.into(), extra.into()],
    )
    .unwrap()
    .unwrap()
}

/// [`error_report_with`] the detail when `with_detail`, else nothing added.
pub fn error_report(query: &str, with_detail: bool) -> String {
    error_report_with(
        query,
        if with_detail {
            Extra::Detail
        } else {
            Extra::None
        },
    )
}

/// The one value `sql` returns, as `T` (not NULL).
pub fn one<T: pgrx::IntoDatum + pgrx::FromDatum>(sql: &str) -> T {
    Spi::get_one::<T>(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: NULL"))
}

/// The declared type of column `v` of `table` (`format_type`, e.g. `halfvec(3)`), and
/// its values as text, in the column type's B-tree order, after the table went through
/// `COPY … (FORMAT binary)` out and back into a new table (the type's send and recv).
pub fn column_type_and_binary_copy(table: &str) -> (String, String) {
    let declared = one::<String>(&format!(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
          WHERE attrelid = '{table}'::regclass AND attname = 'v'"
    ));
    let path = one::<String>(&format!(
        "SELECT current_setting('data_directory') || '/pgvec_hnsw_{table}.bin'"
    ));
    Spi::run(&format!(
        "CREATE TEMP TABLE {table}_copy AS SELECT v FROM {table} WHERE false; \
         COPY {table} (v) TO '{path}' WITH (FORMAT binary); \
         COPY {table}_copy FROM '{path}' WITH (FORMAT binary)"
    ))
    .unwrap();
    let copied = one::<String>(&format!(
        "SELECT string_agg(v::text, ';' ORDER BY v) FROM {table}_copy"
    ));
    (declared, copied)
}

/// The one text value `sql` returns.
pub fn text(sql: &str) -> String {
    one(sql)
}

/// The one `float8` value `sql` returns.
pub fn float(sql: &str) -> f64 {
    one(sql)
}

/// The first column of every row of `sql`, as `T` (no NULLs).
pub fn column<T: pgrx::IntoDatum + pgrx::FromDatum>(sql: &str) -> Vec<T> {
    Spi::connect(|client| {
        client
            .select(sql, None, &[])
            .unwrap()
            .map(|row| row.get::<T>(1).unwrap().unwrap())
            .collect()
    })
}

/// The value of setting `name` (`SHOW`).
pub fn show(name: &str) -> String {
    Spi::get_one::<String>(&format!("SHOW {name}"))
        .unwrap()
        .unwrap()
}

/// Asserts, for each `(query, expected)`, that [`error_report`] of the query is
/// `expected`.
pub fn assert_errors(cases: &[(&str, &str)], with_detail: bool) {
    for (query, expected) in cases {
        assert_eq!(error_report(query, with_detail), *expected, "{query}");
    }
}

/// The plan of `query` (`EXPLAIN (COSTS OFF)`), one line per row.
pub fn plan(query: &str) -> String {
    Spi::connect(|c| {
        c.select(&format!("EXPLAIN (COSTS OFF) {query}"), None, &[])
            .unwrap()
            .map(|r| r.get::<String>(1).unwrap().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The distance operator of a `vector_*_ops` operator class.
pub fn operator_of(opclass: &str) -> &'static str {
    match opclass {
        "vector_l2_ops" => "<->",
        "vector_ip_ops" => "<#>",
        "vector_cosine_ops" => "<=>",
        "vector_l1_ops" => "<+>",
        other => panic!("no operator class {other}"),
    }
}

/// Builds index `p_idx` on `p (id, v)` with `opclass` (`<->` its operator) by a
/// leader and one worker at `maintenance_work_mem` = `memory` (the table set up with
/// `parallel_workers = 1`), and checks it: a worker launched, `hnsw_verify` empty, and
/// the rows of `p` that `sample` selects (a condition on `q.id`) each their own nearest
/// at `ef_search` 100. Returns how many rows `sample` selects.
pub fn parallel_build_of_p(memory: &str, opclass: &str, sample: &str) -> i64 {
    Spi::run(&format!(
        "SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL max_parallel_maintenance_workers = 1; \
         SET LOCAL maintenance_work_mem = '{memory}'; SET LOCAL client_min_messages = warning; \
         DROP INDEX IF EXISTS p_idx; CREATE INDEX p_idx ON p USING hnsw (v {opclass})"
    ))
    .unwrap();
    assert_eq!(crate::am::parallel::last_workers_launched(), 1, "{memory}");
    assert_eq!(
        one::<i64>("SELECT count(*) FROM hnsw_verify('p_idx')"),
        0,
        "{memory}"
    );
    Spi::run("SET LOCAL enable_seqscan = off; SET LOCAL hnsw.ef_search = 100").unwrap();
    let (own, rows) = (
        one::<i64>(&format!(
            "SELECT count(*) FROM p q WHERE {sample} AND \
                 (SELECT id FROM p ORDER BY v <-> q.v LIMIT 1) = q.id"
        )),
        one::<i64>(&format!("SELECT count(*) FROM p q WHERE {sample}")),
    );
    assert_eq!(own, rows, "{memory}: rows their own nearest");
    Spi::run("RESET enable_seqscan").unwrap();
    rows
}
