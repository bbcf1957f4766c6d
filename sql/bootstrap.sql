-- Shell type: the I/O functions that pgrx generates next take and return `vector`.
-- The type is completed in finalize.sql once they exist.
CREATE TYPE vector;
