//! The filter evaluated inside an iterative scan (`hnsw.filter_in_scan`): the rows
//! are exactly the executor's (a sequential scan's, when the scan may visit every
//! element), and the executor removes none of them itself when the filter was pushed
//! (EXPLAIN ANALYZE's "Rows Removed by Filter"); a volatile filter, or one with a
//! function that is not leakproof, is left to the executor. The walk is checked on
//! every metric (inner product on vectors of unequal lengths), on 1 to 2,000
//! dimensions and on `m` up to 100.

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::{column, operator_of};
    use pgrx::prelude::*;

    /// 3,000 rows: `category` 0–9, `tag` NULL in one row of four, a 3-d vector.
    fn setup() {
        Spi::run(
            "CREATE TABLE fs (id int, category int, tag text, v vector(3)); \
             INSERT INTO fs SELECT i, i % 10, CASE WHEN i % 4 = 0 THEN NULL ELSE 't' || i % 3 END, \
                 ARRAY[(i * 7) % 101, (i * 13) % 103, (i * 17) % 107]::real[]::vector \
                 FROM generate_series(1, 3000) i; \
             CREATE INDEX fs_idx ON fs USING hnsw (v vector_l2_ops) WITH (m = 8); \
             ANALYZE fs",
        )
        .unwrap();
    }

    fn query(filter: &str) -> String {
        format!("SELECT id FROM fs WHERE {filter} ORDER BY v <-> '[50,50,50]' LIMIT 3000")
    }

    /// The ids `filter` gives through the index (sorted), and whether the executor
    /// removed rows itself.
    fn by_index(filter: &str) -> (Vec<i32>, bool) {
        Spi::run(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; \
             SET LOCAL hnsw.iterative_scan = relaxed_order; \
             SET LOCAL hnsw.max_scan_tuples = 100000",
        )
        .unwrap();
        let plan: Vec<String> = column(&format!(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {}",
            query(filter)
        ));
        let plan = plan.join("\n");
        assert!(plan.contains("Index Scan using fs_idx"), "{plan}");
        let mut ids: Vec<i32> = column(&query(filter));
        ids.sort_unstable();
        (ids, plan.contains("Rows Removed by Filter"))
    }

    fn exact(filter: &str) -> Vec<i32> {
        Spi::run("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off").unwrap();
        let mut ids: Vec<i32> = column(&query(filter));
        ids.sort_unstable();
        ids
    }

    #[pg_test]
    fn pushed_filters_return_the_executors_rows() {
        setup();
        for filter in [
            "category = 3",
            "id BETWEEN 100 AND 400",
            "category IN (1, 4, 7)",
            "tag IS NULL",
            "tag IS NOT NULL AND category <> 2",
            "tag = 't1'",
        ] {
            let want = exact(filter);
            assert!(!want.is_empty() && want.len() < 3000, "{filter}");
            let (got, removed) = by_index(filter);
            assert_eq!(got, want, "{filter}");
            assert!(
                !removed,
                "{filter}: pushed, so the executor removes nothing"
            );
        }
    }

    #[pg_test]
    fn volatile_and_leaky_filters_stay_with_the_executor() {
        setup();
        // random() is volatile; int4div (/) is not leakproof (it raises on zero).
        for filter in [
            "random() < 2 AND category = 5",
            "category / (id % 5 + 1) = 1",
        ] {
            let want = exact(filter);
            let (got, removed) = by_index(filter);
            assert_eq!(got, want, "{filter}");
            assert!(removed, "{filter}: not pushed, the executor filters");
        }
        // With the setting off, nothing is pushed.
        Spi::run("SET LOCAL hnsw.filter_in_scan = off").unwrap();
        let (got, removed) = by_index("category = 3");
        assert_eq!(got, exact("category = 3"));
        assert!(removed, "off: the executor filters");
    }

    /// One walk case: `n` random rows of `dim` dimensions, each vector scaled by a
    /// random factor of 0.1–10 (so inner products are not cosines), `category`
    /// 0–19, an index of `opclass` with `m` (and `ef_construction` at least `2·m`).
    fn random_case(opclass: &str, dim: usize, m: usize, n: usize) {
        let ef = (2 * m).max(64);
        Spi::run("DROP TABLE IF EXISTS walk; SELECT setseed(0.25)").unwrap();
        Spi::run(&format!(
            "CREATE TABLE walk AS SELECT r AS id, r % 20 AS category, \
                 (SELECT array_agg((random() - 0.5) * f ORDER BY d) \
                  FROM generate_series(1, {dim}) d WHERE r > 0)::real[]::vector({dim}) AS v \
             FROM (SELECT r, 0.1 + random() * 9.9 AS f FROM generate_series(1, {n}) r) s; \
             CREATE INDEX walk_idx ON walk USING hnsw (v {opclass}) WITH (m = {m}, ef_construction = {ef}); \
             ANALYZE walk"
        ))
        .unwrap();
    }

    /// Ids of `SELECT … WHERE category = 7 ORDER BY v op (row q's vector) LIMIT k`,
    /// in the order returned, by the index with the filter pushed (checked by
    /// EXPLAIN) or by a sequential scan.
    fn walk_ids(op: &str, q: i32, k: usize, index: bool) -> Vec<i32> {
        let sql = format!(
            "SELECT id FROM walk WHERE category = 7 \
             ORDER BY v {op} (SELECT v FROM walk WHERE id = {q}) LIMIT {k}"
        );
        if index {
            Spi::run(
                "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; \
                 SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = 100; \
                 SET LOCAL hnsw.max_scan_tuples = 100000",
            )
            .unwrap();
            let plan: Vec<String> = column(&format!(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"
            ));
            let plan = plan.join("\n");
            // The scan's own lines (the InitPlan's sequential scan comes first and
            // filters rows itself).
            let scan = plan.split_once("Index Scan using walk_idx").map(|(_, s)| s);
            assert!(scan.is_some(), "{plan}");
            assert!(
                !scan.is_some_and(|s| s.contains("Rows Removed by Filter")),
                "pushed: {plan}"
            );
        } else {
            Spi::run("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off").unwrap();
        }
        column(&sql)
    }

    /// The filtered walk on each metric, on 1, 8, 384, 1,536 and 2,000 dimensions and
    /// with `m` from 4 to 100: every accepted row comes back when the LIMIT asks for
    /// all of them (exactly the sequential scan's set), and the first 10 have recall
    /// ≥ 0.9 against the exact filtered answer over 10 queries.
    #[pg_test]
    fn the_walk_holds_on_every_metric_dimension_and_m() {
        for (opclass, dim, m, n) in [
            ("vector_ip_ops", 384, 16, 1000),
            ("vector_l1_ops", 8, 16, 1000),
            ("vector_l2_ops", 1, 4, 1000),
            ("vector_cosine_ops", 1536, 32, 500),
            ("vector_ip_ops", 2000, 100, 500),
        ] {
            random_case(opclass, dim, m, n);
            let op = operator_of(opclass);
            let case = format!("{opclass}, {dim} dimensions, m = {m}");
            let mut all = walk_ids(op, 3, n, true);
            all.sort_unstable();
            let want: Vec<i32> = (1..=n as i32).filter(|i| i % 20 == 7).collect();
            assert_eq!(all, want, "{case}: every accepted row");
            let (mut found, mut total) = (0, 0);
            for q in (1..=n as i32).step_by(n / 10) {
                let exact = walk_ids(op, q, 10, false);
                let got = walk_ids(op, q, 10, true);
                assert_eq!(got.len(), 10, "{case}: query {q} returns its LIMIT");
                found += got.iter().filter(|id| exact.contains(id)).count();
                total += exact.len();
            }
            let recall = found as f64 / total as f64;
            assert!(recall >= 0.9, "{case}: recall {recall}");
        }
    }
}
