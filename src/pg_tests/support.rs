//! Helpers shared by the `#[pg_test]` suites.

use pgrx::prelude::*;

/// Runs `query` and returns `SQLSTATE: message`, with ` | detail` appended when
/// `with_detail` and the error has one, or `ok` when it succeeds.
pub fn error_report(query: &str, with_detail: bool) -> String {
    Spi::run(
        r#"CREATE OR REPLACE FUNCTION pg_temp.error_of(q text, with_detail bool) RETURNS text
        LANGUAGE plpgsql AS $f$
        DECLARE detail text;
        BEGIN
            EXECUTE q;
            RETURN 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            RETURN SQLSTATE || ': ' || SQLERRM
                || CASE WHEN with_detail THEN coalesce(' | ' || nullif(detail, ''), '') ELSE '' END;
        END $f$"#,
    )
    .unwrap();
    Spi::get_one_with_args::<String>(
        "SELECT pg_temp.error_of($1, $2)",
        &[query.into(), with_detail.into()],
    )
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
