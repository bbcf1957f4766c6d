//! The filter evaluated inside an iterative scan (`hnsw.filter_in_scan`): the rows
//! are exactly the executor's (a sequential scan's, when the scan may visit every
//! element), and the executor removes none of them itself when the filter was pushed
//! (EXPLAIN ANALYZE's "Rows Removed by Filter"); a volatile filter, or one with a
//! function that is not leakproof, is left to the executor.

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::column;
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
}
