//! hnsw indexes of `sparsevec` (elements of varying length): the limit errors with
//! their SQLSTATEs, and parallel builds (leader + worker over one shared graph whose
//! elements live in its upper area) in memory and past `maintenance_work_mem`.
//! tests/pg_regress/sql/hnsw_sparsevec.sql has the SQL surface and the recall.

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::{assert_errors, one, parallel_build_of_p};
    use pgrx::prelude::*;

    #[pg_test]
    fn limits_and_dimensions_in_pgvectors_words() {
        Spi::run(
            "CREATE TABLE t (v sparsevec(1001)); CREATE TABLE u (v sparsevec); \
             CREATE TABLE w (v sparsevec(3)); \
             INSERT INTO t VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec)",
        )
        .unwrap();
        let too_many =
            "54000: sparsevec cannot have more than 1000 non-zero elements for hnsw index";
        assert_errors(
            &[
                (
                    "CREATE INDEX ON t USING hnsw (v sparsevec_l2_ops)",
                    too_many,
                ),
                (
                    "CREATE INDEX ON u USING hnsw (v sparsevec_cosine_ops)",
                    "22023: column does not have dimensions",
                ),
            ],
            false,
        );
        Spi::run(
            "TRUNCATE t; CREATE INDEX t_idx ON t USING hnsw (v sparsevec_ip_ops); \
             CREATE INDEX w_idx ON w USING hnsw (v sparsevec_l1_ops); \
             INSERT INTO w VALUES ('{1:1}/3')",
        )
        .unwrap();
        assert_errors(
            &[
                (
                    "INSERT INTO t VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec)",
                    too_many,
                ),
                (
                    "SET LOCAL enable_seqscan = off; \
                     SELECT count(*) FROM (SELECT 1 FROM w ORDER BY v <+> '{1:1}/4' LIMIT 1) s",
                    "22000: different sparsevec dimensions 4 and 3",
                ),
            ],
            false,
        );
        // The failed insert left nothing behind.
        assert_eq!(one::<i64>("SELECT count(*) FROM hnsw_verify('t_idx')"), 0);
        assert_eq!(one::<i64>("SELECT count(*) FROM t"), 0);
    }

    /// A parallel build (leader + 1 worker) of rows of 100 to 399 non-zero elements (of
    /// the first 400 dimensions, so that rows overlap as dense ones do), in
    /// memory and past maintenance_work_mem (1 MB: the rest inserted on disk): a worker
    /// launched, hnsw_verify empty, every element counted once, each row its own
    /// nearest.
    #[pg_test]
    fn parallel_builds_of_sparse_elements() {
        Spi::run(
            "SELECT setseed(0.5); CREATE TABLE p (id int, v sparsevec(100000)); \
             INSERT INTO p SELECT r, ('{' || string_agg(k || ':' || x, ',' ORDER BY k) \
                 || '}/100000')::sparsevec FROM (SELECT r, k, random() AS x FROM generate_series(1, 1000) r, \
                 LATERAL (SELECT k FROM generate_series(1, 400) k WHERE r > 0 ORDER BY random() \
                          LIMIT 100 + r % 300) c) d GROUP BY r; \
             ALTER TABLE p SET (parallel_workers = 1)",
        )
        .unwrap();
        for memory in ["256MB", "1MB"] {
            assert_eq!(
                parallel_build_of_p(memory, "sparsevec_l2_ops", "q.id % 10 = 0"),
                100
            );
            assert_eq!(
                one::<i64>("SELECT live_elements FROM hnsw_index_stats('p_idx')"),
                1000,
                "{memory}"
            );
        }
    }
}
