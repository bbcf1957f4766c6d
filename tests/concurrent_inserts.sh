#!/usr/bin/env bash
# Concurrent inserts into an hnsw index from several sessions (pgbench clients); then
# VACUUM, and every committed row must be in the index and found by an index scan for
# its own vector, with hnsw_verify empty (items_verify in workload.sh); then half the
# rows are deleted and VACUUM must leave exactly the live TIDs, free the deleted
# elements and keep the graph healthy.
# Usage: concurrent_inserts.sh SOCKET_DIR PORT. Exits non-zero on a lost row.
set -euo pipefail
host=$1 port=$2
source "$(dirname "$0")/workload.sh"
db=pgvec_concurrent
items_setup "$host" "$port" "$db" 500
script=$(items_insert_script)
"$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 4 -j 2 -t 500 -f "$script" "$db" >/dev/null
rm -f "$script"
items_psql "$host" "$port" "$db" -c "VACUUM items"
indexed=$(items_verify "$host" "$port" "$db" "concurrent inserts")
[ "$indexed" = 2500 ] || { echo "concurrent inserts: $indexed rows, expected 2500"; exit 1; }
# VACUUM removes the TIDs of deleted rows and frees their elements (ambulkdelete).
read -r tids deleted live < <(items_psql "$host" "$port" "$db" -At -F ' ' <<'SQL'
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
SELECT heap_tids, deleted_elements, live_elements FROM hnsw_index_stats('items_embedding_idx');
SQL
)
if [ "$tids" != 1250 ] || [ "$deleted" != 0 ] || [ "$live" != 1250 ]; then
    echo "vacuum: $tids heap TIDs left in the index (expected 1250), $deleted deleted and" \
        "$live live elements (expected 0 and 1250)"
    exit 1
fi
items_verify "$host" "$port" "$db" "after deleting half and VACUUM" >/dev/null
echo "concurrent inserts: ok ($indexed rows indexed, all found at ef_search 1000, hnsw_verify empty;" \
    "after deleting half and VACUUM the index holds $tids TIDs in $live elements)"
