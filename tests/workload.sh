# The workload of the concurrency and crash tests: a table of random vector(16) rows
# with an hnsw index, a pgbench script inserting one row, and the check that every row
# is found by an index scan for its own vector. Source this file; it defines:
#   items_setup HOST PORT DB ROWS     database DB with extension, table, ROWS rows, index
#   items_insert_script               writes the pgbench script; prints its path
#   items_unfound HOST PORT DB        prints "TOTAL UNFOUND" (rows, rows the index misses)

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

items_psql() {
    local host=$1 port=$2 db=$3
    shift 3
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d "$db" "$@"
}

items_setup() {
    local host=$1 port=$2 db=$3 rows=$4
    "$PG_BIN/createdb" -h "$host" -p "$port" -U postgres "$db"
    items_psql "$host" "$port" "$db" <<SQL
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16));
INSERT INTO items (embedding)
    SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16) d, generate_series(1, $rows) r GROUP BY r;
CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
CHECKPOINT;
SQL
}

items_insert_script() {
    local script
    script=$(mktemp)
    echo "INSERT INTO items (embedding) SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16);" >"$script"
    chmod 644 "$script"
    echo "$script"
}

items_unfound() {
    items_psql "$1" "$2" "$3" -At -F ' ' <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT (SELECT count(*) FROM items),
       (SELECT count(*) FROM items i WHERE NOT EXISTS (
            SELECT 1 FROM (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 5) n WHERE n.id = i.id));
SQL
}
