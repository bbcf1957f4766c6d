-- pgvec_hnsw 0.1.0 -> 0.2.0 (ALTER EXTENSION pgvec_hnsw UPDATE).
--
-- 0.2.0 builds for PostgreSQL 13 to 18 and changes no SQL object: the types, functions,
-- operators, operator classes and the access method of 0.1.0 are those of 0.2.0 (the
-- install scripts of both releases define the same objects; tests/upgrade.sh compares
-- an updated database with a fresh one). The on-disk format of hnsw indexes is
-- unchanged (version 1), so indexes built under 0.1.0 keep working.
SELECT 1 WHERE false;
