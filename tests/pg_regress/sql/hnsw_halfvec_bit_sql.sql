-- The SQL of the halfvec and bit operator classes of hnsw on small cases whose
-- answers are exact: every operator class orders as its operator does, a zero vector
-- is left out under cosine, identical values share an element, TRUNCATE and unlogged
-- tables work, the dimension limits are pgvector's (halfvec 4,000, bit 64,000) with
-- its words, and expression indexes (a cast to halfvec, binary_quantize) are chosen
-- by the planner.
SET enable_seqscan = off;
CREATE TABLE hs (id int, v halfvec(3));
INSERT INTO hs VALUES (1, '[1,2,3]'), (2, '[1,1,1]'), (3, '[0,0,0]'), (4, '[-1,0.5,2]'),
    (5, '[2,2,2]'), (6, NULL);
-- Each class in turn: the operator's distances in the order the index returns the
-- rows, and the rows by distance (ties by id).
SELECT format('CREATE INDEX hs_idx ON hs USING hnsw (v %s)', c),
       format('SELECT %L AS opclass, array_agg(round(d::numeric, 4)) AS distances,
                      array_agg(id ORDER BY d, id) AS ids
               FROM (SELECT id, v %s %L AS d FROM hs ORDER BY v %s %L LIMIT 10) s',
              c, op, q, op, q),
       'DROP INDEX hs_idx'
FROM (VALUES ('halfvec_l2_ops', '<->', '[1,2,3]'), ('halfvec_ip_ops', '<#>', '[1,2,3]'),
             ('halfvec_cosine_ops', '<=>', '[1,2,3]'), ('halfvec_l1_ops', '<+>', '[1,2,3]'))
     AS t(c, op, q) \gexec
-- Rows with one value share an element (up to 10 heap TIDs): under each class, 12
-- copies of [1,2,3] (two in the index's build, 10 inserted) make two elements.
INSERT INTO hs VALUES (7, '[1,2,3]');
SELECT format('CREATE INDEX hs_idx ON hs USING hnsw (v %s)', c),
       'INSERT INTO hs SELECT 100 + i, ''[1,2,3]'' FROM generate_series(1, 10) i',
       format('SELECT %L AS opclass, live_elements, heap_tids,
                      (SELECT count(*) FROM hnsw_verify(''hs_idx'')) AS problems,
                      (SELECT count(*) FROM (SELECT id FROM hs ORDER BY v %s ''[1,2,3]''
                                             LIMIT 12) s WHERE id = 1 OR id = 7 OR id > 100)
                      AS copies_found
               FROM hnsw_index_stats(''hs_idx'')', c, op),
       'DROP INDEX hs_idx', 'DELETE FROM hs WHERE id > 100'
FROM (VALUES ('halfvec_l2_ops', '<->'), ('halfvec_ip_ops', '<#>'), ('halfvec_cosine_ops', '<=>'),
             ('halfvec_l1_ops', '<+>')) AS t(c, op) \gexec
CREATE INDEX hs_idx ON hs USING hnsw (v halfvec_l2_ops);
SELECT live_elements, heap_tids FROM hnsw_index_stats('hs_idx');
EXPLAIN (COSTS OFF) SELECT id FROM hs ORDER BY v <-> '[1,2,3]' LIMIT 10;
SELECT count(*) AS problems FROM hnsw_verify('hs_idx');
SELECT id FROM hs ORDER BY v <-> '[1,2,3]', id LIMIT 2;
-- A query of other dimensions is refused in the operator's words (the query's first,
-- as pgvector's scan has it); a NULL query returns rows, as does a zero vector under
-- cosine (at one distance from every row).
SELECT id FROM hs ORDER BY v <-> '[1,2]' LIMIT 1;
SELECT count(*) FROM (SELECT id FROM hs ORDER BY v <-> NULL LIMIT 3) s;
DROP INDEX hs_idx;
CREATE INDEX hs_idx ON hs USING hnsw (v halfvec_cosine_ops);
SELECT count(*) FROM (SELECT id FROM hs ORDER BY v <=> '[0,0,0]' LIMIT 3) s;

CREATE TABLE bs (id int, v bit(6));
INSERT INTO bs VALUES (1, '101100'), (2, '111111'), (3, '000000'), (4, '100000'),
    (5, '001101'), (6, NULL);
SELECT format('CREATE INDEX bs_idx ON bs USING hnsw (v %s)', c),
       format('SELECT %L AS opclass, array_agg(round(d::numeric, 4)) AS distances,
                      array_agg(id ORDER BY d, id) AS ids
               FROM (SELECT id, v %s %L AS d FROM bs ORDER BY v %s %L LIMIT 10) s',
              c, op, q, op, q),
       'DROP INDEX bs_idx'
FROM (VALUES ('bit_hamming_ops', '<~>', '101101'), ('bit_jaccard_ops', '<%>', '101000'))
     AS t(c, op, q) \gexec
-- Copies share elements under both classes; the all-zero string (at Jaccard distance
-- 1 from itself) too.
INSERT INTO bs SELECT 100 + i, CASE WHEN i % 2 = 0 THEN B'101100' ELSE B'000000' END
    FROM generate_series(1, 24) i;
SELECT format('CREATE INDEX bs_idx ON bs USING hnsw (v %s)', c),
       'INSERT INTO bs SELECT 200 + i, ''000000'' FROM generate_series(1, 4) i',
       format('SELECT %L AS opclass, live_elements, heap_tids,
                      (SELECT count(*) FROM hnsw_verify(''bs_idx'')) AS problems
               FROM hnsw_index_stats(''bs_idx'')', c),
       'DROP INDEX bs_idx', 'DELETE FROM bs WHERE id > 200'
FROM (VALUES ('bit_hamming_ops'), ('bit_jaccard_ops')) AS t(c) \gexec
CREATE INDEX bs_idx ON bs USING hnsw (v bit_hamming_ops);
SELECT id FROM bs ORDER BY v <~> B'101' LIMIT 1;
-- TRUNCATE empties the index and it takes rows again; an UNLOGGED table's index (its
-- init fork written by ambuildempty) too.
TRUNCATE bs;
INSERT INTO bs VALUES (1, '101100'), (2, '111111');
SELECT id FROM bs ORDER BY v <~> '101101' LIMIT 5;
CREATE UNLOGGED TABLE hu (id int, v halfvec(3));
CREATE INDEX ON hu USING hnsw (v halfvec_cosine_ops);
INSERT INTO hu VALUES (1, '[1,0,0]'), (2, '[0,1,0]');
SELECT id FROM hu ORDER BY v <=> '[1,0.1,0]' LIMIT 5;
DROP TABLE hu;
-- bit varying is refused, as by pgvector (it is binary-coercible to bit).
CREATE TABLE vb (v varbit(3));
CREATE INDEX ON vb USING hnsw (v bit_hamming_ops);
DROP TABLE vb;
DROP TABLE hs, bs;

-- The limits: bit(64000) is indexed, one more bit is refused; halfvec(4000) is the
-- longest halfvec whose element holds its lanes itself (longer ones: hnsw_large).
CREATE TABLE hmax (id int, v halfvec(4000));
INSERT INTO hmax SELECT i, array_fill(i, ARRAY[4000])::real[]::halfvec FROM generate_series(1, 3) i;
CREATE INDEX ON hmax USING hnsw (v halfvec_l2_ops);
SELECT id FROM hmax ORDER BY v <-> array_fill(2.9, ARRAY[4000])::real[]::halfvec LIMIT 3;
CREATE TABLE bmax (id int, v bit(64000));
INSERT INTO bmax SELECT i, repeat('1', i * 10000)::bit(64000) FROM generate_series(1, 3) i;
CREATE INDEX ON bmax USING hnsw (v bit_hamming_ops);
SELECT id FROM bmax ORDER BY v <~> repeat('1', 21000)::bit(64000) LIMIT 3;
CREATE TABLE over (h halfvec(3), b bit(64001), n halfvec, u vector(3));
CREATE INDEX ON over USING hnsw (b bit_jaccard_ops);
CREATE INDEX ON over USING hnsw (n halfvec_cosine_ops);
CREATE INDEX ON over USING hnsw (h);
CREATE INDEX ON over USING hnsw (u halfvec_l2_ops);
DROP TABLE hmax, bmax, over;

-- Expression indexes on a vector column: the halfvec cast and binary quantization
-- with a re-ranking query.
CREATE TABLE docs (id int, embedding vector(8));
INSERT INTO docs SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(3 * i),
    cos(3 * i), sin(5 * i), cos(5 * i)]::real[]::vector FROM generate_series(1, 1000) i;
CREATE INDEX docs_half ON docs USING hnsw ((embedding::halfvec(8)) halfvec_cosine_ops);
CREATE INDEX docs_bq ON docs USING hnsw ((binary_quantize(embedding)::bit(8)) bit_hamming_ops);
EXPLAIN (COSTS OFF) SELECT id FROM docs
    ORDER BY embedding::halfvec(8) <=> '[1,0,0,1,0,1,0,1]'::halfvec(8) LIMIT 5;
-- (ef_search 1000 of 1,000 rows: the exact top 5.)
SET hnsw.ef_search = 1000;
SELECT id FROM docs ORDER BY embedding::halfvec(8) <=> '[1,0,0,1,0,1,0,1]'::halfvec(8) LIMIT 5;
RESET hnsw.ef_search;
EXPLAIN (COSTS OFF) SELECT id FROM (
    SELECT id, embedding FROM docs
    ORDER BY binary_quantize(embedding)::bit(8) <~> binary_quantize('[1,0,0,1,0,1,0,1]'::vector)
    LIMIT 100) c
ORDER BY embedding <=> '[1,0,0,1,0,1,0,1]' LIMIT 5;
-- (8 bits have ties among 1,000 rows, many rows one code: which 100 come first is
-- the index's choice; ef_search 100 lets the scan return 100 rows.)
SET hnsw.ef_search = 100;
SELECT count(*), max(hamming) <= 2 AS near FROM (
    SELECT binary_quantize(embedding)::bit(8) <~> binary_quantize('[1,0,0,1,0,1,0,1]'::vector)
           AS hamming
    FROM docs
    ORDER BY binary_quantize(embedding)::bit(8) <~> binary_quantize('[1,0,0,1,0,1,0,1]'::vector)
    LIMIT 100) c;
RESET hnsw.ef_search;
DROP TABLE docs;
RESET enable_seqscan;
