-- Every dimension up to 2000 with small and large m: build, inserts, VACUUM and
-- search work, and upper layers exist however large the vectors (an element whose
-- neighbour tuple does not fit beside it keeps that tuple on another page).
-- For each case: 900 random rows, the index, 100 more rows inserted (the levels are
-- counted then: m = 100 draws 1 % of elements for layer 1, none of 1,000 has a
-- chance of 4e-5), a third of all
-- rows deleted, VACUUM, then hnsw_index_stats, hnsw_verify and recall@10 of 20
-- queries against the exact answer ((v <-> q) + 0 cannot use the index). Autovacuum
-- stays off for the table: an autoanalyze's snapshot would keep VACUUM from removing
-- the deleted rows.
CREATE TABLE dim_cases AS
    SELECT dim, m FROM unnest('{1,1536,1945,1968,1969,2000}'::int[]) dim,
                       unnest('{16,32,100}'::int[]) m;
CREATE TABLE dim_results (dim int, m int, tids bigint, levels int, problems bigint, recall float8);
SET enable_seqscan = off;
SELECT format($$
    DROP TABLE IF EXISTS hd;
    CREATE TABLE hd (id int, v vector(%1$s)) WITH (autovacuum_enabled = false);
    INSERT INTO hd SELECT r, array_agg(random() - 0.5)::real[]::vector
        FROM generate_series(1, %1$s) d, generate_series(1, 900) r GROUP BY r;
    CREATE INDEX hd_idx ON hd USING hnsw (v vector_l2_ops) WITH (m = %2$s, ef_construction = %3$s);
    INSERT INTO hd SELECT 1000 + r, array_agg(random() - 0.5)::real[]::vector
        FROM generate_series(1, %1$s) d, generate_series(1, 100) r GROUP BY r;
    INSERT INTO dim_results (dim, m, levels)
        SELECT %1$s, %2$s, cardinality(elements_per_level) FROM hnsw_index_stats('hd_idx');
    DELETE FROM hd WHERE id %% 3 = 0$$, dim, m, greatest(64, 2 * m)),
    'VACUUM hd',
    format($$
    UPDATE dim_results SET tids = s.heap_tids,
        problems = (SELECT count(*) FROM hnsw_verify('hd_idx')),
        recall = (SELECT avg((SELECT count(*) FROM
             (SELECT id FROM hd ORDER BY v <-> q.v LIMIT 10) i
             JOIN (SELECT id FROM hd ORDER BY (v <-> q.v) + 0 LIMIT 10) e USING (id)) / 10.0)
         FROM (SELECT v FROM hd ORDER BY id LIMIT 20) q)
    FROM hnsw_index_stats('hd_idx') s WHERE dim = %1$s AND m = %2$s$$, dim, m)
FROM dim_cases ORDER BY dim, m \gexec
SELECT dim, m, tids, levels > 1 AS upper_layers, problems, recall >= 0.9 AS recall_ok
    FROM dim_results ORDER BY dim, m;
-- No case falls short.
SELECT dim, m FROM dim_results WHERE recall < 0.9 OR levels < 2 OR problems > 0;
DROP TABLE hd, dim_cases, dim_results;
