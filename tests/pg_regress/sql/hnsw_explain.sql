-- EXPLAIN ANALYZE of an hnsw scan. From PostgreSQL 18 it shows the index searches the
-- scan counted (one) and prints rows with two decimals: expected/hnsw_explain_1.out
-- holds that output, expected/hnsw_explain.out the one of 13 to 17.
CREATE TABLE explain_items (id int, embedding vector(3));
INSERT INTO explain_items SELECT i, ARRAY[i, i % 7, i % 11]::vector FROM generate_series(1, 100) i;
CREATE INDEX ON explain_items USING hnsw (embedding vector_l2_ops);
SET enable_seqscan = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
    SELECT id FROM explain_items ORDER BY embedding <-> '[3,3,3]' LIMIT 5;
DROP TABLE explain_items;
