-- The halfvec and bit operator classes of hnsw. For each, an index on generated data
-- (2,000 rows, then 1,000 inserted, then a third deleted and VACUUMed) must keep
-- recall@10 at ef_search = 40 of 50 queries at 0.95 or more (the vector classes'
-- threshold) and hnsw_verify must find nothing. A result counts as right when its
-- exact distance is within the 10th exact distance, so ties (Hamming distances are
-- whole numbers) count as an exact scan could order them.
SELECT setseed(0.25);
-- halfvec(16): unit vectors of elements in [0, 1) (the vector classes' recall tests
-- use unit vectors too: under inner product, elements inside the data's hull are no
-- one's nearest, and on signed uniform data vector_ip_ops leaves hundreds of them
-- unreachable, as this class does); bit(64): 16 random values in [0, 1), each as 4
-- bits (above 0.2, 0.4, 0.6, 0.8), so that near codes are near values, as with the
-- binary_quantize codes of real embeddings (uniformly random bits have no near
-- neighbours to find: recall@10 0.91 at 128 bits for bit_hamming_ops).
CREATE FUNCTION pg_temp.h(i int) RETURNS halfvec(16) LANGUAGE sql AS
    $$ SELECT l2_normalize(array_agg(random())::halfvec(16)) FROM generate_series(1, 16) WHERE i > 0 $$;
CREATE FUNCTION pg_temp.b(i int) RETURNS bit(64) LANGUAGE sql AS
    $$ SELECT string_agg(CASE WHEN x > t THEN '1' ELSE '0' END, '' ORDER BY d, t)::bit(64)
       FROM (SELECT d, random() AS x FROM generate_series(1, 16) d WHERE i > 0) r,
            (VALUES (0.2), (0.4), (0.6), (0.8)) l(t) $$;
CREATE TABLE hv AS SELECT i AS id, pg_temp.h(i) AS v FROM generate_series(1, 3000) i;
CREATE TABLE hv_q AS SELECT pg_temp.h(i) AS v FROM generate_series(1, 50) i;
CREATE TABLE bv AS SELECT i AS id, pg_temp.b(i) AS v FROM generate_series(1, 3000) i;
CREATE TABLE bv_q AS SELECT pg_temp.b(i) AS v FROM generate_series(1, 50) i;

CREATE TABLE cases (tab text, source text, opclass text, op text);
INSERT INTO cases VALUES
    ('h_l2', 'hv', 'halfvec_l2_ops', '<->'), ('h_ip', 'hv', 'halfvec_ip_ops', '<#>'),
    ('h_cos', 'hv', 'halfvec_cosine_ops', '<=>'), ('h_l1', 'hv', 'halfvec_l1_ops', '<+>'),
    ('b_ham', 'bv', 'bit_hamming_ops', '<~>'), ('b_jac', 'bv', 'bit_jaccard_ops', '<%>');

-- recall@k of the index on `tab` for the queries of `source`_q.
CREATE FUNCTION pg_temp.recall(tab text, source text, op text, k int) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
    EXECUTE format($q$
        SELECT avg((SELECT count(*) FROM
                       (SELECT t.v %1$s q.v AS d FROM %2$I t ORDER BY t.v %1$s q.v LIMIT %3$s) r,
                       (SELECT (t.v %1$s q.v) + 0 AS kth FROM %2$I t ORDER BY 1
                        OFFSET %3$s - 1 LIMIT 1) e
                    WHERE r.d <= e.kth + 1e-6 * abs(e.kth) + 1e-9) / %3$s::numeric)
        FROM %4$I q $q$, op, tab, k, source || '_q') INTO r;
    RETURN r;
END $$;

-- The plan of a query, a line a row.
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query; END $$;

SELECT format('CREATE TABLE %I (id int, v %s) WITH (autovacuum_enabled = false)',
              tab, CASE source WHEN 'hv' THEN 'halfvec(16)' ELSE 'bit(64)' END),
       format('INSERT INTO %I SELECT * FROM %I WHERE id <= 2000', tab, source),
       format('CREATE INDEX %I ON %I USING hnsw (v %s)', tab || '_idx', tab, opclass)
FROM cases \gexec
SET enable_seqscan = off;
SET hnsw.ef_search = 40;
-- The searches of recall() use their index (the plan of the same correlated query).
SELECT tab, position('Index Scan using ' || tab || '_idx' IN plan) > 0 AS uses_index FROM cases,
    LATERAL (SELECT string_agg(p, ' ') AS plan FROM pg_temp.plan_of(
        format('SELECT (SELECT count(*) FROM (SELECT t.v %1$s q.v AS d FROM %2$I t
                ORDER BY t.v %1$s q.v LIMIT 10) r) FROM %3$I q', op, tab, source || '_q')) p) x
ORDER BY tab;
SELECT tab, pg_temp.recall(tab, source, op, 10) >= 0.95 AS after_build,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems
FROM cases ORDER BY tab;
SELECT format('INSERT INTO %I SELECT * FROM %I WHERE id > 2000', tab, source) FROM cases \gexec
SELECT tab, pg_temp.recall(tab, source, op, 10) >= 0.95 AS after_insert,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems
FROM cases ORDER BY tab;
SELECT format('DELETE FROM %I WHERE id %% 3 = 0', tab), format('VACUUM %I', tab)
FROM cases \gexec
SELECT tab, pg_temp.recall(tab, source, op, 10) >= 0.95 AS after_vacuum,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems,
       (SELECT live_elements FROM hnsw_index_stats((tab || '_idx')::regclass)) AS live
FROM cases ORDER BY tab;
-- A build whose graph outgrows maintenance_work_mem (1 MB: about 900 elements of
-- halfvec(512) fit) inserts the rest on disk, as lanes too; and an iterative scan
-- with a filter that one row in 50 passes returns its LIMIT of them, nearest first
-- (the index orders by the unit vectors rounded to binary16, `<=>` by the values:
-- they may differ by about 1e-5).
CREATE TABLE h_big (id int, v halfvec(512)) WITH (autovacuum_enabled = false);
-- (8 random values per row spread over 512 dimensions: near rows exist to be found.)
INSERT INTO h_big SELECT r, l2_normalize(array_agg(x[1 + d % 8] * (1 + d / 512.0) ORDER BY d)::halfvec(512))
    FROM (SELECT r, array_agg(random() - 0.5) AS x
          FROM generate_series(1, 8) k, generate_series(1, 2000) r GROUP BY r) l,
         generate_series(0, 511) d GROUP BY r;
SET maintenance_work_mem = '1MB';
SET client_min_messages = warning;
CREATE INDEX h_big_idx ON h_big USING hnsw (v halfvec_cosine_ops);
RESET client_min_messages;
RESET maintenance_work_mem;
SELECT live_elements, (SELECT count(*) FROM hnsw_verify('h_big_idx')) AS problems
    FROM hnsw_index_stats('h_big_idx');
CREATE TABLE h_big_q AS SELECT v FROM h_big WHERE id <= 50;
SELECT pg_temp.recall('h_big', 'h_big', '<=>', 10) >= 0.95 AS spilled_build_recall;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows, bool_and(id % 50 = 7) AS all_pass,
       bool_and(d >= prev - 1e-3) AS nearest_first
FROM (SELECT id, d, lag(d, 1, '-infinity') OVER () AS prev
      FROM (SELECT id, v <=> (SELECT v FROM h_big WHERE id = 1) AS d FROM h_big
            WHERE id % 50 = 7 ORDER BY v <=> (SELECT v FROM h_big WHERE id = 1) LIMIT 20) s) t;
RESET hnsw.iterative_scan;
RESET enable_seqscan;
RESET hnsw.ef_search;
DROP TABLE h_l2, h_ip, h_cos, h_l1, b_ham, b_jac, hv, hv_q, bv, bv_q, cases, h_big, h_big_q;
