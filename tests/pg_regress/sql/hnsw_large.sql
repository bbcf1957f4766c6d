-- Indexes past pgvector's limits: vector and halfvec up to 16,000 dimensions. An
-- element of more than 2,000 lanes keeps them in a chain of tuples written before
-- it. For vector(3072) (l2), vector(16000) (cosine) and halfvec(16000) (l2): a build,
-- inserts (on disk), a third deleted and VACUUMed; after each step recall@10 at
-- ef_search = 40 of 20 queries at 0.95 or more (the vector classes' threshold),
-- counted tie-aware, and hnsw_verify empty (it checks every chain is whole and every
-- chain tuple belongs to an element). Then: rows inserted after the VACUUM reuse the
-- room of the freed chains; copies of a long vector share an element; a build that
-- outgrows maintenance_work_mem; the exact nearest rows at ef_search 1000.
SELECT setseed(0.75);
-- Rows of `dim` dimensions made of 8 random values in [-0.5, 0.5) spread over the
-- dimensions (value k at every 8th dimension, growing along it): near rows exist to
-- be found, as in real embeddings, which uniform random values lack.
CREATE FUNCTION pg_temp.gen(dim int, rows int) RETURNS TABLE (id int, v real[]) LANGUAGE sql AS $$
    SELECT r, array_agg(x[1 + d % 8] * (1 + d::real / dim) ORDER BY d)::real[]
    FROM (SELECT r, array_agg(random() - 0.5) AS x
          FROM generate_series(1, 8) k, generate_series(1, rows) r GROUP BY r) l,
         generate_series(0, dim - 1) d GROUP BY r $$;
CREATE TABLE src3072 AS SELECT * FROM pg_temp.gen(3072, 1520);
CREATE TABLE src16000 AS SELECT * FROM pg_temp.gen(16000, 620);

CREATE TABLE cases (tab text, source text, type text, opclass text, op text, build int, added int);
INSERT INTO cases VALUES
    ('v3072', 'src3072', 'vector(3072)', 'vector_l2_ops', '<->', 1000, 500),
    ('v16000', 'src16000', 'vector(16000)', 'vector_cosine_ops', '<=>', 400, 200),
    ('h16000', 'src16000', 'halfvec(16000)', 'halfvec_l2_ops', '<->', 400, 200);

-- recall@k of the index on `tab` for the queries of `tab`_q (tie-aware, as in
-- hnsw_halfvec_bit).
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
        FROM %4$I q $q$, op, tab, k, tab || '_q') INTO r;
    RETURN r;
END $$;

-- The last 20 rows of each source are the queries.
SELECT format('CREATE TABLE %I (id int, v %s) WITH (autovacuum_enabled = false)', tab, type),
       format('INSERT INTO %I SELECT id, v::%s FROM %I WHERE id <= %s', tab, type, source, build),
       format('CREATE TABLE %I AS SELECT v::%s AS v FROM %I WHERE id > %s', tab || '_q', type,
              source, build + added),
       format('CREATE INDEX %I ON %I USING hnsw (v %s)', tab || '_idx', tab, opclass)
FROM cases \gexec
SET enable_seqscan = off;
SET hnsw.ef_search = 40;
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_build,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems,
       (SELECT live_elements FROM hnsw_index_stats((tab || '_idx')::regclass)) AS live
FROM cases ORDER BY tab;
SELECT format('INSERT INTO %I SELECT id, v::%s FROM %I WHERE id > %s AND id <= %s',
              tab, type, source, build, build + added) FROM cases \gexec
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_insert,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems,
       (SELECT live_elements FROM hnsw_index_stats((tab || '_idx')::regclass)) AS live
FROM cases ORDER BY tab;
CREATE TABLE sizes AS SELECT tab, pg_relation_size((tab || '_idx')::regclass) AS before_delete
    FROM cases;
SELECT format('DELETE FROM %I WHERE id %% 3 = 0', tab), format('VACUUM %I', tab)
FROM cases \gexec
SELECT tab, pg_temp.recall(tab, op, 10) >= 0.95 AS after_vacuum,
       (SELECT count(*) FROM hnsw_verify((tab || '_idx')::regclass)) AS problems,
       (SELECT live_elements FROM hnsw_index_stats((tab || '_idx')::regclass)) AS live
FROM cases ORDER BY tab;
-- The deleted rows' values go back in as new rows: they fit in the room VACUUM
-- freed, chains included (the index grows by less than a tenth, 2-4 % measured;
-- without the chains' room it would grow by about a third).
SELECT format('INSERT INTO %I SELECT id + 100000, v::%s FROM %I WHERE id %% 3 = 0 AND id <= %s',
              tab, type, source, build + added) FROM cases \gexec
SELECT c.tab, (SELECT count(*) FROM hnsw_verify((c.tab || '_idx')::regclass)) AS problems,
       pg_relation_size((c.tab || '_idx')::regclass) < 1.1 * s.before_delete AS room_reused
FROM cases c JOIN sizes s USING (tab) ORDER BY tab;

-- 12 copies of a 16,000-d row: ten share the row's element (an element holds ten
-- rows), the last three a second one; a search for it returns all 13.
INSERT INTO v16000 SELECT 900000 + k, v FROM v16000, generate_series(1, 12) k WHERE id = 1;
SELECT live_elements - (SELECT count(DISTINCT v::text) FROM v16000) AS extra_elements,
       (SELECT count(*) FROM hnsw_verify('v16000_idx')) AS problems
FROM hnsw_index_stats('v16000_idx');
SET hnsw.ef_search = 100;
SELECT count(*) AS copies_found FROM (SELECT id FROM v16000
    ORDER BY v <=> (SELECT v FROM v16000 WHERE id = 1) LIMIT 13) s WHERE id = 1 OR id > 900000;

-- The exact nearest rows at ef_search 1000 (more than the table's rows), in order.
SET hnsw.ef_search = 1000;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM v3072 ORDER BY v <-> q.v LIMIT 5) i)
     = (SELECT array_agg(id) FROM (SELECT id FROM v3072 ORDER BY (v <-> q.v) + 0, id LIMIT 5) e)
       AS exact_order
FROM v3072_q q LIMIT 5;

-- A build that outgrows maintenance_work_mem (1 MB: 16 elements of 16,000-d fit)
-- inserts the rest on disk, chains and all.
CREATE TABLE spill (id int, v vector(16000)) WITH (autovacuum_enabled = false);
INSERT INTO spill SELECT id, v FROM src16000 WHERE id <= 300;
CREATE TABLE spill_q AS SELECT v::vector(16000) AS v FROM src16000 WHERE id > 600;
SET maintenance_work_mem = '1MB';
SET client_min_messages = warning;
CREATE INDEX spill_idx ON spill USING hnsw (v vector_l2_ops);
RESET client_min_messages;
RESET maintenance_work_mem;
SET hnsw.ef_search = 40;
SELECT live_elements, (SELECT count(*) FROM hnsw_verify('spill_idx')) AS problems,
       pg_temp.recall('spill', '<->', 10) >= 0.95 AS spilled_build_recall
FROM hnsw_index_stats('spill_idx');

-- An iterative scan over chained elements with a filter one row in 50 passes returns
-- its LIMIT of them, nearest first.
SET hnsw.ef_search = 40;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows, bool_and(id % 50 = 7) AS all_pass, bool_and(d >= prev) AS nearest_first
FROM (SELECT id, d, lag(d, 1, '-infinity') OVER () AS prev
      FROM (SELECT id, v <-> (SELECT v FROM v3072 WHERE id = 1) AS d FROM v3072
            WHERE id % 50 = 7 ORDER BY v <-> (SELECT v FROM v3072 WHERE id = 1) LIMIT 20) s) t;
RESET hnsw.iterative_scan;

-- The sizes around the first chains: vector(2001) (one piece), vector(2026) (one full
-- piece), vector(2027) (a full piece and one lane), halfvec(4001) (2,001 lanes, one
-- piece), halfvec(4054) (2,027 lanes): a build, inserts, deletes and VACUUM,
-- hnsw_verify empty, every row its own nearest.
CREATE TABLE edge_cases (dim int, type text);
INSERT INTO edge_cases VALUES (2001, 'vector'), (2026, 'vector'), (2027, 'vector'),
    (4001, 'halfvec'), (4054, 'halfvec');
CREATE TABLE edge_results (dim int, type text, live bigint, problems bigint, own bigint);
SET hnsw.ef_search = 100;
SELECT format($$
    DROP TABLE IF EXISTS edge;
    CREATE TABLE edge (id int, v %2$s(%1$s)) WITH (autovacuum_enabled = false);
    INSERT INTO edge SELECT id, v::%2$s(%1$s) FROM pg_temp.gen(%1$s, 300) WHERE id <= 200;
    CREATE INDEX edge_idx ON edge USING hnsw (v %2$s_l2_ops);
    INSERT INTO edge SELECT id + 1000, v::%2$s(%1$s) FROM pg_temp.gen(%1$s, 100);
    DELETE FROM edge WHERE id %% 3 = 0$$, dim, type),
    'VACUUM edge',
    format($$
    INSERT INTO edge_results SELECT %1$s, %2$L, live_elements,
        (SELECT count(*) FROM hnsw_verify('edge_idx')),
        (SELECT count(*) FROM edge q WHERE (SELECT id FROM edge ORDER BY v <-> q.v LIMIT 1) = q.id)
    FROM hnsw_index_stats('edge_idx')$$, dim, type)
FROM edge_cases ORDER BY dim \gexec
SELECT dim, type, live, problems, own = live AS each_its_own_nearest FROM edge_results ORDER BY dim;

RESET hnsw.ef_search;
RESET enable_seqscan;
DROP TABLE v3072, v16000, h16000, v3072_q, v16000_q, h16000_q, src3072, src16000, cases,
    sizes, spill, spill_q, edge, edge_cases, edge_results;
