-- Bad input gets a clear error, worded as pgvector words it.
-- (SQLSTATEs are asserted by the #[pg_test] suite in src/pg_tests/errors.rs.)
SELECT '[1,2'::vector;
SELECT '1,2]'::vector;
SELECT '[1,2] x'::vector;
SELECT '[1,hello]'::vector;
SELECT '[NaN]'::vector;
SELECT '[1,Infinity]'::vector;
SELECT '[1e39]'::vector;
SELECT '[]'::vector;
SELECT '[1,2]'::vector(3);
SELECT '[1]'::vector(0);
CREATE TABLE bad (v vector(16001));
CREATE TABLE bad (v vector(3, 2));
SELECT '[1,2,3]'::vector <-> '[1,2]';
SELECT '[1,2,3]'::vector + '[1,2]';
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[1e-30]'::vector * '[1e-30]';
SELECT ARRAY[[1,2],[3,4]]::vector;
SELECT ARRAY[1,NULL]::vector;
SELECT array_fill(0, ARRAY[16001])::vector;
SELECT subvector('[1,2]'::vector, 3, 1);
-- the backend is still fine
SELECT '[1,2,3]'::vector;
