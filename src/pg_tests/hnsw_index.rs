//! The `hnsw` access method on small tables: exact results for each operator class,
//! NULL and zero vectors, inserts after the build, TRUNCATE, EXPLAIN, `SET LOCAL
//! hnsw.ef_search`, and the errors of options, settings and columns.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn ids(sql: &str) -> Vec<i32> {
        crate::pg_tests::support::column(sql)
    }

    fn error_of(query: &str) -> String {
        crate::pg_tests::support::error_report(query, false)
    }

    fn setup(opclass: &str) {
        Spi::run("SET enable_seqscan = off").unwrap();
        Spi::run("CREATE TABLE t (id int, v vector(3))").unwrap();
        Spi::run("INSERT INTO t VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL), (5, '[0,0,0]')")
            .unwrap();
        Spi::run(&format!("CREATE INDEX t_idx ON t USING hnsw (v {opclass})")).unwrap();
    }

    #[pg_test]
    fn l2_exact_order_and_inserts_after_build() {
        setup("vector_l2_ops");
        let q = "SELECT id FROM t ORDER BY v <-> '[3,3,3]' LIMIT 10";
        assert_eq!(ids(q), vec![2, 3, 1, 5]);
        Spi::run("INSERT INTO t VALUES (6, '[3,3,3]'), (7, NULL)").unwrap();
        assert_eq!(ids(q), vec![6, 2, 3, 1, 5]);
        Spi::run("TRUNCATE t").unwrap();
        assert_eq!(ids(q), Vec::<i32>::new());
        Spi::run("INSERT INTO t VALUES (8, '[1,2,3]'), (9, '[3,2,1]')").unwrap();
        assert_eq!(
            ids("SELECT id FROM t ORDER BY v <-> '[3,2,2]' LIMIT 10"),
            vec![9, 8]
        );
    }

    #[pg_test]
    fn inner_product_cosine_l1() {
        setup("vector_ip_ops");
        assert_eq!(
            ids("SELECT id FROM t ORDER BY v <#> '[1,2,3]' LIMIT 10"),
            vec![2, 3, 1, 5]
        );
        Spi::run("DROP INDEX t_idx; CREATE INDEX ON t USING hnsw (v vector_cosine_ops)").unwrap();
        // the zero vector has no cosine distance and is not indexed
        assert_eq!(
            ids("SELECT id FROM t ORDER BY v <=> '[1,1,2]' LIMIT 10")[0],
            3
        );
        assert_eq!(
            ids("SELECT id FROM t ORDER BY v <=> '[1,1,2]' LIMIT 10").len(),
            3
        );
        // a zero query has no direction: every indexed row comes back (as pgvector)
        let mut any = ids("SELECT id FROM t ORDER BY v <=> '[0,0,0]' LIMIT 10");
        any.sort_unstable();
        assert_eq!(any, vec![1, 2, 3]);
        Spi::run("DROP INDEX t_v_idx; CREATE INDEX ON t USING hnsw (v vector_l1_ops)").unwrap();
        assert_eq!(
            ids("SELECT id FROM t ORDER BY v <+> '[1,1,2.2]' LIMIT 10"),
            vec![3, 1, 2, 5]
        );
    }

    #[pg_test]
    fn duplicates_nulls_and_null_query() {
        setup("vector_l2_ops");
        Spi::run("INSERT INTO t SELECT 100 + i, '[5,5,5]' FROM generate_series(1, 25) i").unwrap();
        let dups = ids("SELECT id FROM t ORDER BY v <-> '[5,5,5]' LIMIT 25");
        assert_eq!(dups.len(), 25);
        assert!(dups.iter().all(|&id| id > 100));
        // a NULL query returns rows without error
        assert_eq!(ids("SELECT id FROM t ORDER BY v <-> NULL LIMIT 3").len(), 3);
        assert_eq!(
            error_of("SELECT id FROM t ORDER BY v <-> '[1,2]' LIMIT 3"),
            // The query's dimensions first: pgvector's scan calls the distance
            // function with the query first.
            "22000: different vector dimensions 2 and 3"
        );
    }

    /// Rows with one vector share an element of up to 10 heap TIDs, whether they come
    /// in the build or by inserts, and a scan returns every TID of each element it
    /// finds: at ef_search 1 (one element), 10 rows (pgvector does the same).
    #[pg_test]
    fn an_element_returns_all_its_rows_at_ef_search_1() {
        Spi::run("SET enable_seqscan = off").unwrap();
        let copies = "SELECT count(*)::int FROM \
                      (SELECT id FROM c ORDER BY v <-> '[1,1,1]' LIMIT 30) n WHERE id <= 40";
        let stats = "SELECT (live_elements, heap_tids)::text FROM hnsw_index_stats('c_idx')";
        for opclass in [
            "vector_l2_ops",
            "vector_ip_ops",
            "vector_cosine_ops",
            "vector_l1_ops",
        ] {
            Spi::run("DROP TABLE IF EXISTS c; CREATE TABLE c (id int, v vector(3))").unwrap();
            Spi::run("INSERT INTO c SELECT i, '[1,1,1]' FROM generate_series(1, 20) i").unwrap();
            Spi::run(
                "INSERT INTO c SELECT 100 + i, ARRAY[-i, -2, -3] FROM generate_series(1, 30) i",
            )
            .unwrap();
            Spi::run(&format!("CREATE INDEX c_idx ON c USING hnsw (v {opclass})")).unwrap();
            Spi::run("SET LOCAL hnsw.ef_search = 1").unwrap();
            let q = copies.replace("<->", crate::pg_tests::support::operator_of(opclass));
            assert_eq!(ids(&q), vec![10], "{opclass}: after the build");
            // (cosine: rows of one direction are copies; the others have none)
            assert_eq!(
                Spi::get_one::<String>(stats).unwrap().unwrap(),
                "(32,50)",
                "{opclass}: 20 copies in 2 elements"
            );
            Spi::run("INSERT INTO c SELECT 20 + i, '[1,1,1]' FROM generate_series(1, 20) i")
                .unwrap();
            assert_eq!(ids(&q), vec![10], "{opclass}: after inserts");
            assert_eq!(
                Spi::get_one::<String>(stats).unwrap().unwrap(),
                "(34,70)",
                "{opclass}: 40 copies in 4 elements"
            );
            Spi::run("RESET hnsw.ef_search").unwrap();
        }
    }

    /// Each index scan counts in the statistics (`pg_stat_user_indexes.idx_scan`,
    /// `idx_tup_read`), so monitoring does not report the index unused.
    #[pg_test]
    fn index_scans_are_counted() {
        Spi::run("SET enable_seqscan = off").unwrap();
        Spi::run("CREATE TABLE st (id int, v vector(3))").unwrap();
        Spi::run("INSERT INTO st SELECT i, ARRAY[i, 1, 1] FROM generate_series(1, 50) i").unwrap();
        Spi::run("CREATE INDEX st_idx ON st USING hnsw (v vector_l2_ops)").unwrap();
        for q in ["[1,1,1]", "[9,1,1]", "[20,1,1]"] {
            assert_eq!(
                ids(&format!("SELECT id FROM st ORDER BY v <-> '{q}' LIMIT 4")).len(),
                4
            );
        }
        let counted = Spi::get_one::<String>(
            "SELECT (pg_stat_get_xact_numscans('st_idx'::regclass), \
                     pg_stat_get_xact_tuples_returned('st_idx'::regclass))::text",
        )
        .unwrap()
        .unwrap();
        // a LIMIT 4 scan returns 4 or 5 TIDs before the executor stops it
        let (scans, tuples) = counted
            .trim_matches(|c| c == '(' || c == ')')
            .split_once(',')
            .map(|(a, b)| (a.parse::<i64>().unwrap(), b.parse::<i64>().unwrap()))
            .unwrap();
        assert_eq!(scans, 3, "{counted}");
        assert!((12..=15).contains(&tuples), "{counted}");
    }

    /// With sequential scans disabled, the planner can use the index for ORDER BY on
    /// its operator and never for anything else. (That it prefers the index on its own
    /// for a real table is checked in `hnsw_recall.rs`.)
    #[pg_test]
    fn explain_uses_the_index_only_with_order_by() {
        Spi::run("SET enable_seqscan = off").unwrap();
        Spi::run("CREATE TABLE e (id int, v vector(3))").unwrap();
        Spi::run("INSERT INTO e SELECT i, ARRAY[i, i % 7, i % 13] FROM generate_series(1, 5000) i")
            .unwrap();
        Spi::run("CREATE INDEX e_idx ON e USING hnsw (v vector_l2_ops)").unwrap();
        Spi::run("ANALYZE e").unwrap();
        let plan = crate::pg_tests::support::plan;
        assert!(plan("SELECT id FROM e ORDER BY v <-> '[1,2,3]' LIMIT 5")
            .contains("Index Scan using e_idx"));
        assert!(!plan("SELECT id FROM e WHERE v = '[1,2,3]'").contains("e_idx"));
        assert!(!plan("SELECT count(*) FROM e").contains("e_idx"));
        assert!(!plan("SELECT id FROM e ORDER BY v <#> '[1,2,3]' LIMIT 5").contains("e_idx"));
    }

    #[pg_test]
    fn ef_search_is_a_user_setting_that_set_local_reverts() {
        let get = || {
            Spi::get_one::<String>("SHOW hnsw.ef_search")
                .unwrap()
                .unwrap()
        };
        assert_eq!(get(), "40");
        Spi::run("SET LOCAL hnsw.ef_search = 100").unwrap();
        assert_eq!(get(), "100");
        assert_eq!(
            error_of("SET hnsw.ef_search = 0"),
            "22023: 0 is outside the valid range for parameter \"hnsw.ef_search\" (1 .. 1000)"
        );
        assert_eq!(
            error_of("SET hnsw.ef_search = 1001"),
            "22023: 1001 is outside the valid range for parameter \"hnsw.ef_search\" (1 .. 1000)"
        );
        if crate::pg::GUC_PREFIX_RESERVED {
            assert_eq!(
                error_of("SET hnsw.nonexistent = 1"),
                "42602: invalid configuration parameter name \"hnsw.nonexistent\""
            );
        } else {
            // 13 and 14 cannot reserve a prefix: an unknown setting is a placeholder.
            Spi::run("SET hnsw.nonexistent = 1").unwrap();
        }
    }

    #[pg_test]
    fn option_and_column_errors() {
        Spi::run("CREATE TABLE o (v vector(3), w vector, x bit(64001))").unwrap();
        let cases = [
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (m = 1)",
                "22023: value 1 out of bounds for option \"m\"",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (m = 101)",
                "22023: value 101 out of bounds for option \"m\"",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (ef_construction = 3)",
                "22023: value 3 out of bounds for option \"ef_construction\"",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (ef_construction = 1001)",
                "22023: value 1001 out of bounds for option \"ef_construction\"",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (m = 16, ef_construction = 31)",
                "22023: ef_construction must be greater than or equal to 2 * m",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (foo = 1)",
                "22023: unrecognized parameter \"foo\"",
            ),
            (
                "CREATE INDEX ON o USING hnsw (w)",
                "22023: column does not have dimensions",
            ),
            (
                "CREATE INDEX ON o USING hnsw (x bit_hamming_ops)",
                "54000: column cannot have more than 64000 dimensions for hnsw index",
            ),
            (
                "CREATE INDEX ON o USING hnsw (v) WITH (m = 2, ef_construction = 4)",
                "ok",
            ),
        ];
        crate::pg_tests::support::assert_errors(&cases, false);
    }

    #[pg_test]
    fn unlogged_tables_and_empty_builds() {
        Spi::run("CREATE UNLOGGED TABLE u (id int, v vector(2))").unwrap();
        Spi::run("CREATE INDEX ON u USING hnsw (v vector_l2_ops)").unwrap();
        Spi::run("SET enable_seqscan = off").unwrap();
        assert_eq!(
            ids("SELECT id FROM u ORDER BY v <-> '[1,1]' LIMIT 3"),
            Vec::<i32>::new()
        );
        Spi::run("INSERT INTO u VALUES (1, '[1,1]'), (2, '[5,5]')").unwrap();
        assert_eq!(
            ids("SELECT id FROM u ORDER BY v <-> '[4,4]' LIMIT 3"),
            vec![2, 1]
        );
    }

    #[pg_test]
    fn lateral_joins_rescan_and_prepared_statements() {
        setup("vector_l2_ops");
        Spi::run("CREATE TABLE q (qid int, qv vector(3))").unwrap();
        Spi::run("INSERT INTO q VALUES (1, '[3,3,3]'), (2, '[0,0,0.1]')").unwrap();
        let got = ids(
            "SELECT n.id FROM q CROSS JOIN LATERAL (SELECT id FROM t ORDER BY v <-> q.qv LIMIT 1) n ORDER BY q.qid",
        );
        assert_eq!(got, vec![2, 5]);
        Spi::run("PREPARE near(vector) AS SELECT id FROM t ORDER BY v <-> $1 LIMIT 2").unwrap();
        assert_eq!(ids("EXECUTE near('[1,1,1.1]')"), vec![1, 3]);
        assert_eq!(ids("EXECUTE near('[2,2,2]')"), vec![2, 3]);
        Spi::run("DEALLOCATE near").unwrap();
    }

    #[pg_test]
    fn build_memory_estimate_and_phase_names() {
        let est = |q: &str| Spi::get_one::<i64>(q).unwrap().unwrap();
        let mb = est("SELECT hnsw_build_memory(100000, 384)") as f64 / 1048576.0;
        assert!((150.0..250.0).contains(&mb), "{mb} MB for 100k x 384");
        assert!(
            est("SELECT hnsw_build_memory(100000, 384, 32)")
                > est("SELECT hnsw_build_memory(100000, 384, 16)")
        );
        assert_eq!(
            error_of("SELECT hnsw_build_memory(10, 16001)"),
            "22023: dimensions must be between 1 and 16000, not 16001"
        );
        assert_eq!(
            error_of("SELECT hnsw_build_memory(10, 3, 1)"),
            "22023: m must be between 2 and 100, not 1"
        );
        assert_eq!(
            error_of("SELECT hnsw_build_memory(-1, 3)"),
            "22023: rows must not be negative"
        );
        // the phase names pg_stat_progress_create_index shows (ambuildphasename);
        // concurrent builds (CREATE INDEX CONCURRENTLY beside inserts, with a worker)
        // are tested in tests/build_scale.sh, outside a transaction block
        let names = Spi::get_one::<String>(
            "SELECT string_agg(coalesce(pg_indexam_progress_phasename(a.oid, n), '-'), ', ' ORDER BY n) \
             FROM pg_am a, generate_series(1, 5) n WHERE a.amname = 'hnsw'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            names,
            "-, loading tuples, writing pages, inserting on disk, -"
        );
    }

    #[pg_test]
    fn index_stats_describe_the_graph() {
        Spi::run("CREATE TABLE s (id int, v vector(4))").unwrap();
        Spi::run(
            "INSERT INTO s SELECT i, ARRAY[i, i % 5, i % 7, 1] FROM generate_series(1, 300) i",
        )
        .unwrap();
        Spi::run("INSERT INTO s SELECT 1000 + i, '[9,9,9,9]' FROM generate_series(1, 3) i")
            .unwrap();
        Spi::run("CREATE INDEX s_idx ON s USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16)").unwrap();
        let row = |sql: &str| Spi::get_one::<i64>(sql).unwrap().unwrap();
        // 300 distinct vectors + one element holding the 3 identical ones
        assert_eq!(
            row("SELECT live_elements FROM hnsw_index_stats('s_idx')"),
            301
        );
        assert_eq!(row("SELECT heap_tids FROM hnsw_index_stats('s_idx')"), 303);
        assert_eq!(
            row("SELECT deleted_elements FROM hnsw_index_stats('s_idx')"),
            0
        );
        assert_eq!(row("SELECT (SELECT sum(x) FROM unnest(elements_per_level) x)::bigint FROM hnsw_index_stats('s_idx')"), 301);
        assert_eq!(
            row("SELECT (entry_level + 1 = cardinality(elements_per_level))::int::bigint FROM hnsw_index_stats('s_idx')"),
            1
        );
        let degree = Spi::get_one::<f64>("SELECT avg_out_degree[1] FROM hnsw_index_stats('s_idx')")
            .unwrap()
            .unwrap();
        assert!(
            (2.0..=8.0).contains(&degree),
            "average layer-0 links {degree}"
        );
        assert_eq!(
            row("SELECT bytes FROM hnsw_index_stats('s_idx')"),
            row("SELECT pg_relation_size('s_idx')")
        );
        assert_eq!(
            error_of("SELECT * FROM hnsw_index_stats('s')"),
            "42809: \"s\" is not an index"
        );
        Spi::run("CREATE INDEX s_btree ON s (id)").unwrap();
        assert_eq!(
            error_of("SELECT * FROM hnsw_index_stats('s_btree')"),
            "42809: \"s_btree\" is not an hnsw index"
        );
    }
}
