-- VACUUM on an hnsw index: dead rows leave, the graph is repaired, space is reused,
-- hnsw_verify stays empty.
CREATE TABLE vac (id int PRIMARY KEY, embedding vector(3)) WITH (autovacuum_enabled = false);
INSERT INTO vac SELECT i, ARRAY[i % 17, i % 13, i % 7]::vector FROM generate_series(1, 600) i;
CREATE INDEX vac_idx ON vac USING hnsw (embedding vector_l2_ops) WITH (m = 4, ef_construction = 16);
SELECT count(*) AS problems FROM hnsw_verify('vac_idx');
SELECT pg_relation_size('vac_idx') AS built_size \gset
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
-- Delete every row near [1,1,1]; after VACUUM the nearest rows are the next ones.
DELETE FROM vac WHERE embedding <-> '[1,1,1]' < 3;
VACUUM vac;
SELECT live_elements, deleted_elements, heap_tids FROM hnsw_index_stats('vac_idx');
SELECT count(*) AS problems FROM hnsw_verify('vac_idx');
SELECT id, embedding, round((embedding <-> '[1.1,1.2,1.3]')::numeric, 3) AS distance
    FROM vac ORDER BY embedding <-> '[1.1,1.2,1.3]' LIMIT 5;
-- The same query by sequential scan agrees.
SET enable_seqscan = on;
SET enable_indexscan = off;
SELECT id, embedding, round((embedding <-> '[1.1,1.2,1.3]')::numeric, 3) AS distance
    FROM vac ORDER BY embedding <-> '[1.1,1.2,1.3]' LIMIT 5;
RESET enable_indexscan;
SET enable_seqscan = off;
-- Delete everything, VACUUM, reinsert: the freed space is reused.
CREATE TABLE vac_saved AS SELECT * FROM vac;
DELETE FROM vac;
VACUUM vac;
SELECT live_elements, deleted_elements, heap_tids, entry_level FROM hnsw_index_stats('vac_idx');
SELECT count(*) AS rows_found FROM (SELECT id FROM vac ORDER BY embedding <-> '[1,1,1]' LIMIT 5) s;
INSERT INTO vac SELECT * FROM vac_saved;
SELECT pg_relation_size('vac_idx') <= :built_size AS space_reused;
SELECT count(*) AS problems FROM hnsw_verify('vac_idx');
SELECT count(*) AS found FROM (SELECT id FROM vac ORDER BY embedding <-> '[1,1,1]' LIMIT 5) s;
-- hnsw_verify refuses what is not an hnsw index.
SELECT * FROM hnsw_verify('vac_pkey');
DROP TABLE vac, vac_saved;
