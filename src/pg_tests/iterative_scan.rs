//! Iterative index scans (`hnsw.iterative_scan`): pgvector's settings and errors,
//! filtered queries that return their LIMIT, strict order, and the limits
//! `hnsw.max_scan_tuples` and `hnsw.scan_mem_multiplier`.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::pg_tests::support::{column, error_report_with, show, Extra};

    fn ids(sql: &str) -> Vec<i32> {
        column(sql)
    }

    /// The exact answer: a sequential scan and sort.
    const EXACT: [(&str, &str); 3] = [
        ("enable_indexscan", "off"),
        ("enable_seqscan", "on"),
        ("hnsw.iterative_scan", "off"),
    ];
    /// An index scan.
    const INDEX: [(&str, &str); 2] = [("enable_indexscan", "on"), ("enable_seqscan", "off")];

    /// `SET LOCAL` each of `settings`.
    fn set_local(settings: &[(&str, &str)]) {
        for (name, value) in settings {
            Spi::run(&format!("SET LOCAL {name} = {value}")).unwrap();
        }
    }

    /// [`ids`] of `sql` under `settings` (`SET LOCAL`).
    fn ids_with(sql: &str, settings: &[(&str, &str)]) -> Vec<i32> {
        set_local(settings);
        ids(sql)
    }

    /// Whether the executor removed rows itself in `sql`'s index scan (EXPLAIN
    /// ANALYZE's "Rows Removed by Filter"): it does unless the filter was pushed into
    /// the scan (`hnsw.filter_in_scan`), which a relaxed-order result cannot tell.
    fn executor_filtered(sql: &str) -> bool {
        let plan: Vec<String> = column(&format!(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"
        ));
        let plan = plan.join("\n");
        assert!(plan.contains("Index Scan using"), "{plan}");
        plan.contains("Rows Removed by Filter")
    }

    /// `n` rows of `dim` random dimensions in table `name` (ids 1..=n), seeded.
    fn random_table(name: &str, n: usize, dim: usize) {
        Spi::run("SELECT setseed(0.5)").unwrap();
        Spi::run(&format!("CREATE TABLE {name} (id int, v vector({dim}))")).unwrap();
        Spi::run(&format!(
            "INSERT INTO {name} SELECT r, array_agg(random() ORDER BY d)::real[]::vector
                 FROM generate_series(1, {n}) r, generate_series(1, {dim}) d GROUP BY r"
        ))
        .unwrap();
    }

    #[pg_test]
    fn settings_have_pgvectors_names_defaults_ranges_and_errors() {
        assert_eq!(show("hnsw.iterative_scan"), "off");
        assert_eq!(show("hnsw.max_scan_tuples"), "20000");
        assert_eq!(show("hnsw.scan_mem_multiplier"), "1");
        for value in ["relaxed_order", "strict_order", "off"] {
            Spi::run(&format!("SET LOCAL hnsw.iterative_scan = {value}")).unwrap();
            assert_eq!(show("hnsw.iterative_scan"), value);
        }
        Spi::run("SET LOCAL hnsw.max_scan_tuples = 2147483647").unwrap();
        Spi::run("SET LOCAL hnsw.scan_mem_multiplier = 1000").unwrap();
        assert_eq!(show("hnsw.scan_mem_multiplier"), "1000");
        let cases = [
            (
                "SET hnsw.iterative_scan = on",
                "22023: invalid value for parameter \"hnsw.iterative_scan\": \"on\" | Available values: off, relaxed_order, strict_order.",
            ),
            (
                "SET hnsw.max_scan_tuples = 0",
                "22023: 0 is outside the valid range for parameter \"hnsw.max_scan_tuples\" (1 .. 2147483647)",
            ),
            (
                "SET hnsw.scan_mem_multiplier = 0.5",
                "22023: 0.5 is outside the valid range for parameter \"hnsw.scan_mem_multiplier\" (1 .. 1000)",
            ),
            (
                "SET hnsw.scan_mem_multiplier = 1001",
                "22023: 1001 is outside the valid range for parameter \"hnsw.scan_mem_multiplier\" (1 .. 1000)",
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(error_report_with(query, Extra::Hint), expected, "{query}");
        }
    }

    /// A filter that 10 rows of 100,000 pass: `off` returns at most the few that
    /// the first `ef_search` results hold; iterative scans return all 10 for
    /// LIMIT 11 once they may visit every element; the rows found grow with
    /// `hnsw.max_scan_tuples`. Each with the filter left to the executor (`id %
    /// 10000 = 0`) and in the scan (`r10000 = 0`, the same value in a column).
    #[pg_test]
    fn a_rare_filter_returns_its_rows_and_max_scan_tuples_bounds_the_work() {
        random_table("f0", 100_000, 3);
        Spi::run("CREATE TABLE f AS SELECT id, v, id % 10000 AS r10000, id % 100 AS r100 FROM f0")
            .unwrap();
        Spi::run("CREATE INDEX ON f USING hnsw (v vector_l2_ops)").unwrap();
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        for (rare, common, pushed) in [
            ("id % 10000 = 0", "id % 100 = 0", false),
            ("r10000 = 0", "r100 = 0", true),
        ] {
            Spi::run("SET LOCAL hnsw.iterative_scan = off").unwrap();
            Spi::run("SET LOCAL hnsw.max_scan_tuples = 20000").unwrap();
            let rare_sql =
                format!("SELECT id FROM f WHERE {rare} ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 11");
            assert!(
                ids(&rare_sql).len() < 10,
                "{rare}: off stops after ef_search results"
            );
            for order in ["relaxed_order", "strict_order"] {
                Spi::run(&format!("SET LOCAL hnsw.iterative_scan = {order}")).unwrap();
                Spi::run("SET LOCAL hnsw.max_scan_tuples = 100000").unwrap();
                Spi::run("SET LOCAL hnsw.scan_mem_multiplier = 10").unwrap();
                assert_eq!(executor_filtered(&rare_sql), !pushed, "{rare}");
                let mut got = ids(&rare_sql);
                got.sort_unstable();
                let all: Vec<i32> = (1..=10).map(|i| i * 10000).collect();
                if order == "relaxed_order" {
                    assert_eq!(got, all, "{rare} {order}");
                } else {
                    // The walk returns rows nearly in order, so strict order leaves
                    // out almost none (all 10 in every run so far; the graph's levels
                    // are random, so one is allowed).
                    assert!(
                        got.len() >= 9 && got.iter().all(|id| all.contains(id)),
                        "{rare} {order}: {got:?}"
                    );
                }
            }
            Spi::run("SET LOCAL hnsw.iterative_scan = relaxed_order").unwrap();
            let found = |tuples: i32| {
                Spi::run(&format!("SET LOCAL hnsw.max_scan_tuples = {tuples}")).unwrap();
                ids(&format!(
                    "SELECT id FROM f WHERE {common} ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 1000"
                ))
                .len()
            };
            // 1 % pass: about 20 rows of 2,000 elements visited, 80 of 8,000.
            let (small, large) = (found(2000), found(8000));
            assert!(
                (5..=50).contains(&small),
                "{common}: 2,000 elements visited: {small}"
            );
            assert!(
                (2 * small..=8 * small).contains(&large),
                "{common}: four times the elements, about four times the rows: {small} -> {large}"
            );
        }
    }

    /// Filters of 2 % and 0.2 % with LIMIT 20 at ef_search 40: recall@20 against the
    /// exact filtered answer at least 0.99 in both orders, for L2 and cosine, with the
    /// filter in the scan (`r50 = 0`: equality is leakproof, so it is pushed) and
    /// left to the executor (`id % 50 = 0`: `%` can fail, so it is not); strict
    /// order never returns a row nearer than one before it.
    #[pg_test]
    fn filtered_recall_in_both_orders() {
        random_table("g0", 50_000, 8);
        Spi::run("CREATE TABLE g AS SELECT id, v, id % 50 AS r50, id % 500 AS r500 FROM g0")
            .unwrap();
        Spi::run("CREATE INDEX ON g USING hnsw (v vector_l2_ops)").unwrap();
        Spi::run("CREATE INDEX ON g USING hnsw (v vector_cosine_ops)").unwrap();
        Spi::run("CREATE TABLE q AS SELECT id, v FROM g WHERE id <= 10").unwrap();
        Spi::run("SET LOCAL hnsw.ef_search = 40").unwrap();
        let queries: Vec<String> = Spi::connect(|c| {
            c.select("SELECT v::text FROM q ORDER BY id", None, &[])
                .unwrap()
                .map(|r| r.get::<String>(1).unwrap().unwrap())
                .collect()
        });
        for op in ["<->", "<=>"] {
            for (filter, pushed) in [
                ("id % 50 = 0", false),
                ("r50 = 0", true),
                ("id % 500 = 0", false),
                ("r500 = 0", true),
            ] {
                for order in ["relaxed_order", "strict_order"] {
                    let (mut hits, mut total) = (0, 0);
                    for v in &queries {
                        let sql = format!(
                            "SELECT id FROM g WHERE {filter} ORDER BY v {op} '{v}' LIMIT 20"
                        );
                        let exact = ids_with(&sql, &EXACT);
                        let got = ids_with(
                            &sql,
                            &[&INDEX[..], &[("hnsw.iterative_scan", order)]].concat(),
                        );
                        if v == &queries[0] {
                            assert_eq!(executor_filtered(&sql), !pushed, "{op} {filter} {order}");
                        }
                        hits += got.iter().filter(|id| exact.contains(id)).count();
                        total += exact.len();
                        if order == "strict_order" {
                            set_local(&[&INDEX[..], &[("hnsw.iterative_scan", order)]].concat());
                            let d: Vec<f64> = column(&format!(
                                "SELECT (v {op} '{v}')::float8 FROM g WHERE {filter} ORDER BY v {op} '{v}' LIMIT 20"
                            ));
                            // The index ranks by its own f32 kernels; the operator's f64
                            // value of a near-tie may differ in the last bits.
                            assert!(
                                d.windows(2)
                                    .all(|w| w[0] <= w[1] + 1e-6 * (1.0 + w[1].abs())),
                                "strict order: {d:?}"
                            );
                        }
                    }
                    let recall = hits as f64 / total as f64;
                    assert!(recall >= 0.99, "{op} {filter} {order}: recall@20 {recall}");
                }
            }
        }
    }

    /// A scan whose memory budget is the smallest (work_mem 64 kB) stops searching
    /// early and returns what it holds: fewer rows than with a large budget, with the
    /// filter left to the executor and in the scan.
    #[pg_test]
    fn the_memory_budget_ends_the_search() {
        random_table("h0", 30_000, 3);
        Spi::run("CREATE TABLE h AS SELECT id, v, id % 100 AS r100 FROM h0").unwrap();
        Spi::run("CREATE INDEX ON h USING hnsw (v vector_l2_ops)").unwrap();
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        Spi::run("SET LOCAL hnsw.iterative_scan = relaxed_order").unwrap();
        Spi::run("SET LOCAL hnsw.max_scan_tuples = 30000").unwrap();
        for filter in ["id % 100 = 0", "r100 = 0"] {
            let count = || {
                ids(&format!(
                    "SELECT id FROM h WHERE {filter} ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 1000"
                ))
                .len()
            };
            Spi::run("SET LOCAL work_mem = '64kB'").unwrap();
            let small = count();
            Spi::run("SET LOCAL work_mem = '64MB'").unwrap();
            let large = count();
            assert!(large >= 250, "{filter}: all elements visited: {large}");
            assert!(
                small * 2 <= large,
                "{filter}: 64 kB stops the search early: {small} vs {large}"
            );
        }
    }
}
