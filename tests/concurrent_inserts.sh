#!/usr/bin/env bash
# Concurrent inserts into an hnsw index from several sessions (pgbench clients),
# then checks that every committed row is found: by an exact lookup and by an index
# scan for its own vector. Usage: concurrent_inserts.sh SOCKET_DIR PORT
# Prints `concurrent inserts: ok` or the rows that were lost, and exits non-zero.
set -euo pipefail
host=$1 port=$2
psql=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d pgvec_concurrent)
/usr/lib/postgresql/15/bin/createdb -h "$host" -p "$port" -U postgres pgvec_concurrent
"${psql[@]}" <<'SQL'
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16));
INSERT INTO items (embedding)
    SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16) d, generate_series(1, 500) r GROUP BY r;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
SQL
script=$(mktemp)
cat >"$script" <<'SQL'
INSERT INTO items (embedding) SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16);
SQL
chmod 644 "$script"
/usr/lib/postgresql/15/bin/pgbench -n -h "$host" -p "$port" -U postgres -c 4 -j 2 -t 500 -f "$script" pgvec_concurrent >/dev/null
rm -f "$script"
missing=$("${psql[@]}" -At <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT count(*) FROM items i
WHERE NOT EXISTS (
    SELECT 1 FROM (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 5) n WHERE n.id = i.id);
SQL
)
total=$("${psql[@]}" -At -c "SELECT count(*) FROM items")
if [ "$total" != 2500 ] || [ "$missing" != 0 ]; then
    echo "concurrent inserts: $total rows, $missing not found by the index"
    exit 1
fi
# VACUUM removes the TIDs of deleted rows from the index (ambulkdelete).
read -r tids deleted < <("${psql[@]}" -At -F ' ' <<'SQL'
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
SELECT heap_tids, deleted_elements FROM hnsw_index_stats('items_embedding_idx');
SQL
)
if [ "$tids" != 1250 ] || [ "$deleted" -lt 1 ]; then
    echo "vacuum: $tids heap TIDs left in the index (expected 1250), $deleted elements flagged deleted"
    exit 1
fi
echo "concurrent inserts: ok ($total rows, all found; after deleting half and VACUUM the index holds $tids TIDs)"
