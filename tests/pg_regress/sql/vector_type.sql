-- The SQL surface of `vector`, as a pgvector user writes it.

-- text input and output
SELECT '[1,2,3]'::vector;
SELECT ' [ 1.5 , -2e-3 ,3e6 ] '::vector;
SELECT '[0.1,0.33333334,-0,100000,1000000,1e-05,3.4028235e+38]'::vector;
SELECT '[1,2,3]'::vector(3);

-- typmod on a column
CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
\d items
INSERT INTO items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[1,1,1]'), (4, NULL);
INSERT INTO items VALUES (5, ARRAY[0,0,1]);
SELECT id, embedding FROM items ORDER BY id;

-- distance operators, nearest first
SELECT id, embedding <-> '[3,1,2]' AS l2 FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
SELECT id, embedding <#> '[3,1,2]' AS neg_ip FROM items ORDER BY embedding <#> '[3,1,2]' LIMIT 5;
SELECT id, round((embedding <=> '[3,1,2]')::numeric, 6) AS cosine FROM items ORDER BY embedding <=> '[3,1,2]' LIMIT 5;
SELECT id, embedding <+> '[3,1,2]' AS l1 FROM items ORDER BY embedding <+> '[3,1,2]' LIMIT 5;
SELECT '[0,0]'::vector <=> '[1,1]' AS cosine_with_zero;

-- functions
SELECT l2_distance('[0,0]'::vector, '[3,4]'), inner_product('[1,2]'::vector, '[3,4]'),
       cosine_distance('[1,0]'::vector, '[0,1]'), l1_distance('[0,0]'::vector, '[3,4]');
-- untyped literals match the vector and the halfvec overloads, as in pgvector
SELECT l2_distance('[0,0]', '[3,4]');
SELECT vector_dims('[1,2,3]'::vector), vector_norm('[3,4]');
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3), subvector('[1,2,3,4,5]'::vector, -1, 3);

-- arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]', '[1,2,3]'::vector - '[4,5,6]',
       '[1,2,3]'::vector * '[4,5,6]', '[1,2]'::vector || '[3]';

-- comparison and the default B-tree operator class
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector = '[1,2]', '[1]'::vector < '[1,0]';
SELECT v FROM (VALUES ('[1,2]'::vector), ('[1]'), ('[0,5]'), ('[1,2,0]'), ('[1,2]')) t(v) ORDER BY v;
SELECT DISTINCT v FROM (VALUES ('[1,2]'::vector), ('[1,2]'), ('[2,1]')) t(v) ORDER BY v;
CREATE INDEX ON items USING btree (embedding);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE embedding = '[1,2,3]';
SELECT id FROM items WHERE embedding = '[1,2,3]';
RESET enable_seqscan;

-- aggregates
SELECT avg(embedding), sum(embedding) FROM items;
SELECT avg(embedding), sum(embedding) FROM items WHERE false;

-- casts
SELECT ARRAY[1,2,3]::vector, ARRAY[1.5,2,3]::real[]::vector,
       ARRAY[1.5,2,3]::double precision[]::vector, ARRAY[1.5,2,3]::numeric[]::vector;
SELECT '[1,2.5]'::vector::real[];
SELECT '[1,2,3]'::vector::vector(3);
DROP TABLE items;
