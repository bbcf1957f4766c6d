-- The hnsw index as a pgvector user writes it.
CREATE TABLE hnsw_items (id int PRIMARY KEY, embedding vector(3));
INSERT INTO hnsw_items VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL), (5, '[0,0,0]');
CREATE INDEX ON hnsw_items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\d hnsw_items
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_items ORDER BY embedding <-> '[3,3,3]' LIMIT 5;
SELECT id, embedding <-> '[3,3,3]' AS distance FROM hnsw_items ORDER BY embedding <-> '[3,3,3]' LIMIT 5;
INSERT INTO hnsw_items VALUES (6, '[3,3,3]');
SELECT id FROM hnsw_items ORDER BY embedding <-> '[3,3,3]' LIMIT 3;

-- hnsw.ef_search: SET LOCAL lasts until the end of the transaction
SHOW hnsw.ef_search;
BEGIN;
SET LOCAL hnsw.ef_search = 100;
SHOW hnsw.ef_search;
COMMIT;
SHOW hnsw.ef_search;
BEGIN;
SET LOCAL hnsw.ef_search = 7;
ROLLBACK;
SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;

-- options and columns
CREATE INDEX ON hnsw_items USING hnsw (embedding) WITH (m = 1);
CREATE INDEX ON hnsw_items USING hnsw (embedding) WITH (ef_construction = 1001);
CREATE INDEX ON hnsw_items USING hnsw (embedding) WITH (m = 16, ef_construction = 31);
CREATE TABLE nodims (embedding vector);
CREATE INDEX ON nodims USING hnsw (embedding);
RESET enable_seqscan;
DROP TABLE hnsw_items, nodims;
