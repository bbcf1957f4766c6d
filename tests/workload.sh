# The workload of the concurrency and crash tests: a table of random vector(16) rows
# with an hnsw index, a pgbench script inserting one row, and the check that every row
# is found by an index scan for its own vector. Source this file; it defines:
#   items_setup HOST PORT DB ROWS     database DB with extension, table, ROWS rows, index
#   items_insert_script               writes the pgbench script; prints its path
#   items_unfound HOST PORT DB        prints "TOTAL UNFOUND TIDS PROBLEMS": rows, rows an
#                                     index scan for their own vector misses, heap TIDs
#                                     in the index, rows of hnsw_verify()
#   items_unfound_at HOST PORT DB EF  prints how many rows an index scan for their own
#                                     vector at hnsw.ef_search EF misses (top 5)
#   wide_setup HOST PORT DB ROWS      table `wide` of ROWS random vector(64) rows whose
#                                     builds may start one parallel worker
#   items_verify HOST PORT DB LABEL   prints the row count when every row's TID is in the
#                                     index, every row is found by the search and
#                                     hnsw_verify is empty; else says what is wrong (on
#                                     stderr, prefixed by LABEL) and fails
#
# Reachability: an insert normally leaves its new element at least one in-link, but a
# later insert's neighbour selection can prune away all the in-links of an older
# element; VACUUM relinks such elements (amvacuumcleanup). The scripts therefore run
# VACUUM before checking that every row is found, and hnsw_verify reports any
# unreachable live element.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# The rows `i` that an index scan for their own vector misses (not in its first 5).
ITEMS_MISSED="NOT EXISTS (
    SELECT 1 FROM (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 5) n WHERE n.id = i.id)"

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

wide_setup() {
    items_psql "$1" "$2" "$3" <<SQL
CREATE TABLE wide (id int, embedding vector(64));
INSERT INTO wide SELECT r, array_agg(random())::real[]::vector
    FROM generate_series(1, 64) d, generate_series(1, $4) r GROUP BY r;
ALTER TABLE wide SET (parallel_workers = 1);
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
    items_psql "$1" "$2" "$3" -At -F ' ' <<SQL
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT (SELECT count(*) FROM items),
       (SELECT count(*) FROM items i WHERE $ITEMS_MISSED),
       (SELECT heap_tids FROM hnsw_index_stats('items_embedding_idx')),
       (SELECT count(*) FROM hnsw_verify('items_embedding_idx'));
SQL
}

items_unfound_at() {
    items_psql "$1" "$2" "$3" -At <<SQL
SET enable_seqscan = off;
SET hnsw.ef_search = $4;
SELECT count(*) FROM items i WHERE $ITEMS_MISSED;
SQL
}

items_verify() {
    local host=$1 port=$2 db=$3 label=$4 total unfound tids problems
    read -r total unfound tids problems < <(items_unfound "$host" "$port" "$db")
    if [ "$tids" -ge "$total" ] && [ "$unfound" = 0 ] && [ "$problems" = 0 ]; then
        echo "$total"
        return 0
    fi
    {
        echo "$label: $total rows, $tids heap TIDs in the index, $unfound rows not found by" \
            "a search for their own vector, $problems rows of hnsw_verify:"
        items_psql "$host" "$port" "$db" -At -c "SELECT * FROM hnsw_verify('items_embedding_idx') LIMIT 20"
        echo "the rows not found (id, ctid, rank among the index scan's first 1000 rows, distance to the nearest other row):"
        items_psql "$host" "$port" "$db" -At <<SQL
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT i.id, i.ctid,
       (SELECT r FROM (SELECT id, row_number() OVER () AS r FROM
            (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 1000) s) n WHERE n.id = i.id),
       (SELECT min(j.embedding <-> i.embedding) FROM items j WHERE j.id <> i.id)
FROM items i WHERE $ITEMS_MISSED
LIMIT 10;
SELECT * FROM hnsw_index_stats('items_embedding_idx');
SQL
    } >&2
    return 1
}
