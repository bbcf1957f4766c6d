-- Shell types: the I/O functions that pgrx generates next take and return `vector`,
-- `halfvec` and `sparsevec`. The types are completed in finalize.sql once they exist.
CREATE TYPE vector;
CREATE TYPE halfvec;
CREATE TYPE sparsevec;
