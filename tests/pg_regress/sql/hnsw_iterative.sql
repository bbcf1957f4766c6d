-- Iterative index scans: pgvector's settings (SET LOCAL reverts at the end of the
-- transaction), and a filtered query that gets its LIMIT only with them on.
-- A new backend knows the settings once the library is loaded.
LOAD 'pgvec_hnsw';
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
BEGIN;
SET LOCAL hnsw.iterative_scan = strict_order;
SET LOCAL hnsw.max_scan_tuples = 50000;
SET LOCAL hnsw.scan_mem_multiplier = 2.5;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
COMMIT;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.iterative_scan = ordered;
SET hnsw.max_scan_tuples = 0;
SET hnsw.scan_mem_multiplier = 1001;

-- A 50 x 40 grid; one point in 100 passes the filter, the nearest of them to
-- [0,0] (id 37: [37,0]) far outside the first 10 elements.
CREATE TABLE grid (id int, v vector(2)) WITH (autovacuum_enabled = false);
INSERT INTO grid SELECT i, ARRAY[i % 50, i / 50]::real[]::vector FROM generate_series(0, 1999) i;
CREATE INDEX ON grid USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
SET enable_seqscan = off;
SET hnsw.ef_search = 10;
-- off: the first 10 elements near [0,0] hold no passing row
SELECT count(*) = 0 AS none FROM (SELECT id FROM grid WHERE id % 100 = 37 ORDER BY v <-> '[0,0]' LIMIT 5) r;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM grid WHERE id % 100 = 37 ORDER BY v <-> '[0,0]' LIMIT 5) r;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) >= 4 AS most, bool_and(d >= prev) AS in_order FROM (
    SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
        SELECT row_number() OVER () AS n, d FROM (
            SELECT (v <-> '[0,0]')::float8 AS d FROM grid WHERE id % 100 = 37 ORDER BY v <-> '[0,0]' LIMIT 5
        ) s
    ) t
) u;
RESET hnsw.iterative_scan;
RESET hnsw.ef_search;
RESET enable_seqscan;
DROP TABLE grid;
