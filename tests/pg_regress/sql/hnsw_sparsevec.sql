-- The sparsevec operator classes of hnsw: elements of varying length (two lanes per
-- non-zero element), pgvector's small cases and limits, then recall on generated data
-- after build, inserts and VACUUM (recall@10 at ef_search = 40 of 50 queries at 0.95
-- or more, the vector classes' threshold; a result counts as right when its exact
-- distance is within the 10th exact distance), hnsw_verify empty after each.
SET enable_seqscan = off;

-- Small cases (LIMIT: the planner uses the index only for ORDER BY … LIMIT): NULL is
-- not indexed; the zero vector is an element under L2, inner product and L1, and left
-- out under cosine (its cosine distance is undefined); a NULL query returns every
-- indexed row; an insert after the build is found.
CREATE TABLE t (val sparsevec(3));
INSERT INTO t (val) VALUES ('{}/3'), ('{1:1,2:2,3:3}/3'), ('{1:1,2:1,3:1}/3'), (NULL);
CREATE INDEX t_l2 ON t USING hnsw (val sparsevec_l2_ops);
INSERT INTO t (val) VALUES ('{1:1,2:2,3:4}/3');
SELECT * FROM t ORDER BY val <-> '{1:3,2:3,3:3}/3' LIMIT 5;
SELECT count(*) FROM (SELECT * FROM t ORDER BY val <-> (SELECT NULL::sparsevec) LIMIT 5) t2;
DROP INDEX t_l2;
CREATE INDEX t_ip ON t USING hnsw (val sparsevec_ip_ops);
SELECT * FROM t ORDER BY val <#> '{1:3,2:3,3:3}/3' LIMIT 5;
DROP INDEX t_ip;
CREATE INDEX t_cos ON t USING hnsw (val sparsevec_cosine_ops);
SELECT * FROM t ORDER BY val <=> '{1:3,2:3,3:3}/3' LIMIT 5;
SELECT count(*) FROM (SELECT * FROM t ORDER BY val <=> '{}/3' LIMIT 5) t2;
DROP INDEX t_cos;
CREATE INDEX t_l1 ON t USING hnsw (val sparsevec_l1_ops);
SELECT * FROM t ORDER BY val <+> '{1:3,2:3,3:3}/3' LIMIT 5;
SELECT * FROM t ORDER BY val <+> '{1:3,2:3,3:3}/4' LIMIT 5;
DROP TABLE t;

-- Limits, in pgvector's words: at most 1000 non-zero elements in an indexed row (at
-- the build and at an insert; a query may have more); the column needs dimensions;
-- a sparsevec(1000000000) column is indexed.
CREATE TABLE t (val sparsevec(1001));
INSERT INTO t (val) VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
CREATE INDEX ON t USING hnsw (val sparsevec_l2_ops);
TRUNCATE t;
CREATE INDEX t_idx ON t USING hnsw (val sparsevec_l2_ops);
INSERT INTO t (val) VALUES (array_fill(1, ARRAY[1001])::vector::sparsevec);
INSERT INTO t (val) VALUES ((array_fill(1, ARRAY[1000]) || 0)::vector::sparsevec);
SELECT count(*) FROM (SELECT * FROM t ORDER BY val <-> array_fill(1, ARRAY[1001])::vector::sparsevec LIMIT 5) t2;
SELECT count(*) AS problems FROM hnsw_verify('t_idx');
-- A build holding elements of 1000 non-zero elements (2,000 lanes, the largest), in
-- distance order.
INSERT INTO t (val) VALUES ((array_fill(2, ARRAY[1000]) || 0)::vector::sparsevec);
REINDEX INDEX t_idx;
SELECT round((val <-> array_fill(1, ARRAY[1001])::vector::sparsevec)::numeric, 4) AS d
FROM t ORDER BY val <-> array_fill(1, ARRAY[1001])::vector::sparsevec LIMIT 5;
SELECT count(*) AS problems FROM hnsw_verify('t_idx');
DROP TABLE t;
CREATE TABLE t (val sparsevec);
CREATE INDEX ON t USING hnsw (val sparsevec_l2_ops);
DROP TABLE t;
CREATE TABLE t (id int, val sparsevec(1000000000));
INSERT INTO t VALUES (1, '{1:1,999999999:2}/1000000000'), (2, '{1000000000:1}/1000000000'),
    (3, '{1:1,999999999:2.5}/1000000000');
CREATE INDEX t_idx ON t USING hnsw (val sparsevec_l2_ops);
SELECT id FROM t ORDER BY val <-> '{1:1,999999999:2}/1000000000' LIMIT 5;
SELECT * FROM t ORDER BY val <-> '{1:1}/5' LIMIT 5;
DROP TABLE t;

-- Generated data like a learned sparse model's: sparsevec(6000), each row 25 terms of
-- one of 61 topics (100 terms each) and 5 terms of anywhere, values in [0.05, 1.05),
-- scaled to unit length (so that inner product has near neighbours to find, as in the
-- vector classes' tests).
SELECT setseed(0.5);
-- pg_temp.s(i, n, width): n terms of topic i % 61 (terms 100·topic + [0, width),
-- modulo 6000) and n / 5 of anywhere. (61, so that the rows VACUUM deletes below,
-- id % 3 = 0, leave rows of every topic.)
CREATE FUNCTION pg_temp.s(i int, n int, width int) RETURNS sparsevec(6000) LANGUAGE sql AS $$
    SELECT l2_normalize(('{' || string_agg(k || ':' || x, ',' ORDER BY k) || '}/6000')::sparsevec(6000))
    FROM (SELECT k, round((random() + 0.05)::numeric, 4) AS x FROM
          (SELECT DISTINCT k FROM
               (SELECT 1 + ((i % 61) * 100 + floor(random() * width)::int) % 6000 AS k
                FROM generate_series(1, n)
                UNION ALL SELECT 1 + floor(random() * 6000)::int FROM generate_series(1, n / 5)) a) d) b
    WHERE i > 0 $$;
CREATE TABLE sv AS SELECT i AS id, pg_temp.s(i, 25, 100) AS v FROM generate_series(1, 3000) i;
CREATE TABLE sv_q AS SELECT pg_temp.s(i, 25, 100) AS v FROM generate_series(1, 50) i;

CREATE TABLE cases (tab text, opclass text, op text);
INSERT INTO cases VALUES ('s_l2', 'sparsevec_l2_ops', '<->'), ('s_ip', 'sparsevec_ip_ops', '<#>'),
    ('s_cos', 'sparsevec_cosine_ops', '<=>'), ('s_l1', 'sparsevec_l1_ops', '<+>');

-- recall@k of the index on `tab` for the queries of sv_q.
CREATE FUNCTION pg_temp.recall(tab text, op text, k int) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
    EXECUTE format($q$
        SELECT avg((SELECT count(*) FROM
                       (SELECT t.v %1$s q.v AS d FROM %2$I t ORDER BY t.v %1$s q.v LIMIT %3$s) r,
                       (SELECT (t.v %1$s q.v) + 0 AS kth FROM %2$I t ORDER BY 1
                        OFFSET %3$s - 1 LIMIT 1) e
                    WHERE r.d <= e.kth + 1e-6 * abs(e.kth) + 1e-9) / %3$s::numeric)
        FROM sv_q q $q$, op, tab, k) INTO r;
    RETURN r;
END $$;

-- The plan of a query, a line a row.
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query; END $$;

SELECT format('CREATE TABLE %I (id int, v sparsevec(6000)) WITH (autovacuum_enabled = false)', tab),
       format('INSERT INTO %I SELECT * FROM sv WHERE id <= 2000', tab),
       format('CREATE INDEX %I ON %I USING hnsw (v %s)', tab || '_idx', tab, opclass)
FROM cases \gexec
SET hnsw.ef_search = 40;
-- The searches of recall() use their index.
SELECT tab, position('Index Scan using ' || tab || '_idx' IN plan) > 0 AS uses_index FROM cases,
    LATERAL (SELECT string_agg(p, ' ') AS plan FROM pg_temp.plan_of(
        format('SELECT (SELECT count(*) FROM (SELECT t.v %1$s q.v AS d FROM %2$I t
                ORDER BY t.v %1$s q.v LIMIT 10) r) FROM sv_q q', op, tab)) p) x
ORDER BY tab;
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_build,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems
FROM cases ORDER BY tab;
SELECT format('INSERT INTO %I SELECT * FROM sv WHERE id > 2000', tab) FROM cases \gexec
-- (An insert can prune away an element's last in-link; VACUUM links such elements
-- again. Under L1 these topic-like rows, many at nearly equal distances, leave a few
-- after 1,000 inserts, as vector_l1_ops does on the same rows: they are left out of
-- this count, and VACUUM below must leave none.)
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_insert,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)
        WHERE problem <> 'unreachable live element') AS problems
FROM cases ORDER BY tab;
SELECT format('DELETE FROM %I WHERE id %% 3 = 0', tab), format('VACUUM %I', tab)
FROM cases \gexec
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_vacuum,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems,
       (SELECT live_elements FROM hnsw_index_stats((tab || '_idx')::regclass)) AS live
FROM cases ORDER BY tab;

-- Copies: row 7 and 12 copies of it are one element of 10 heap TIDs and one of 3,
-- all found first (at distance 0).
INSERT INTO s_l2 SELECT 10000 + g, v FROM sv, generate_series(1, 12) g WHERE id = 7;
SELECT (SELECT live_elements FROM hnsw_index_stats('s_l2_idx')) AS live,
       (SELECT count(*) FROM (SELECT id FROM s_l2 ORDER BY v <-> (SELECT v FROM sv WHERE id = 7) LIMIT 13) s
        WHERE id = 7 OR id > 10000) AS copies_first,
       (SELECT count(*) FROM hnsw_verify('s_l2_idx')) AS problems;

-- Copies at the build: 12 rows of one value and 12 of it doubled. Under cosine all 24
-- are one unit vector: elements of 10, 10 and 4 heap TIDs; under inner product and
-- L2 the two values are two: elements of 10 and 2 each.
CREATE TABLE dup (id int, v sparsevec(6000));
INSERT INTO dup SELECT g, v FROM sv, generate_series(1, 12) g WHERE id = 7;
INSERT INTO dup SELECT 100 + g, (v::vector * array_fill(2, ARRAY[6000])::vector)::sparsevec(6000)
    FROM sv, generate_series(1, 12) g WHERE id = 7;
CREATE INDEX dup_cos ON dup USING hnsw (v sparsevec_cosine_ops);
CREATE INDEX dup_ip ON dup USING hnsw (v sparsevec_ip_ops);
CREATE INDEX dup_l2 ON dup USING hnsw (v sparsevec_l2_ops);
SELECT i, live_elements, heap_tids, (SELECT count(*) FROM hnsw_verify(i)) AS problems
FROM unnest(ARRAY['dup_cos', 'dup_ip', 'dup_l2']::regclass[]) i, hnsw_index_stats(i);
DROP TABLE dup;

-- An expression index (unit vectors of the rows under inner product) is chosen for
-- its expression and returns the exact top 5: at ef_search 1000, each of its rows is
-- within the 5th distance of an exact scan (`+ 0`: no index orders by that).
CREATE INDEX sv_expr_idx ON sv USING hnsw ((l2_normalize(v)::sparsevec(6000)) sparsevec_ip_ops);
SET hnsw.ef_search = 1000;
SELECT position('Index Scan using sv_expr_idx' IN string_agg(p, ' ')) > 0 AS uses_index
FROM pg_temp.plan_of('SELECT id FROM sv ORDER BY l2_normalize(v)::sparsevec(6000) <#>
                          (SELECT v FROM sv_q LIMIT 1) LIMIT 5') p;
CREATE TEMP TABLE expr_hits AS SELECT l2_normalize(v)::sparsevec(6000) <#> (SELECT v FROM sv_q LIMIT 1) AS d
    FROM sv ORDER BY l2_normalize(v)::sparsevec(6000) <#> (SELECT v FROM sv_q LIMIT 1) LIMIT 5;
CREATE TEMP TABLE expr_exact AS SELECT (l2_normalize(v)::sparsevec(6000) <#> (SELECT v FROM sv_q LIMIT 1)) + 0 AS d
    FROM sv ORDER BY 1 LIMIT 5;
SELECT count(*) AS rows, count(*) FILTER (WHERE d <= (SELECT max(d) FROM expr_exact) + 1e-6) AS within_exact
FROM expr_hits;
SET hnsw.ef_search = 40;
DROP TABLE expr_hits, expr_exact;
DROP INDEX sv_expr_idx;

-- A build whose graph outgrows maintenance_work_mem (1 MB: about 700 elements of
-- 150 terms fit; the rows' values alone take more) inserts the rest on disk.
CREATE TABLE s_big (id int, v sparsevec(6000)) WITH (autovacuum_enabled = false);
INSERT INTO s_big SELECT i, pg_temp.s(i, 150, 400) FROM generate_series(1, 2000) i;
SELECT sum(pg_column_size(v)) > 1024 * 1024 AS rows_exceed_memory FROM s_big;
SET maintenance_work_mem = '1MB';
SET client_min_messages = warning;
CREATE INDEX s_big_idx ON s_big USING hnsw (v sparsevec_l2_ops);
RESET client_min_messages;
RESET maintenance_work_mem;
SELECT live_elements, (SELECT count(*) FROM hnsw_verify('s_big_idx')) AS problems
    FROM hnsw_index_stats('s_big_idx');
CREATE TABLE s_big_q AS SELECT v FROM s_big WHERE id <= 50;
CREATE FUNCTION pg_temp.big_recall() RETURNS numeric LANGUAGE sql AS $$
    SELECT avg((SELECT count(*) FROM
                   (SELECT t.v <-> q.v AS d FROM s_big t ORDER BY t.v <-> q.v LIMIT 10) r,
                   (SELECT (t.v <-> q.v) + 0 AS kth FROM s_big t ORDER BY 1 OFFSET 9 LIMIT 1) e
                WHERE r.d <= e.kth + 1e-6 * abs(e.kth) + 1e-9) / 10.0)
    FROM s_big_q q $$;
SELECT pg_temp.big_recall() >= 0.95 AS spilled_build_recall;

-- An iterative scan with a filter that one row in 50 passes returns its LIMIT of
-- them, nearest first.
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows, bool_and(id % 50 = 7) AS all_pass,
       bool_and(d >= prev - 1e-6) AS nearest_first
FROM (SELECT id, d, lag(d, 1, '-infinity') OVER () AS prev
      FROM (SELECT id, v <-> (SELECT v FROM s_big WHERE id = 1) AS d FROM s_big
            WHERE id % 50 = 7 ORDER BY v <-> (SELECT v FROM s_big WHERE id = 1) LIMIT 20) s) t;
RESET hnsw.iterative_scan;
RESET enable_seqscan;
RESET hnsw.ef_search;
DROP TABLE s_l2, s_ip, s_cos, s_l1, sv, sv_q, cases, s_big, s_big_q;
