#!/usr/bin/env bash
# Concurrent inserts into an hnsw index from several sessions (pgbench clients), then
# checks that every committed row is in the index and found by an index scan for its
# own vector (see items_check), and that VACUUM removes the TIDs of deleted rows.
# Usage: concurrent_inserts.sh SOCKET_DIR PORT. Exits non-zero on a lost row.
set -euo pipefail
host=$1 port=$2
source "$(dirname "$0")/workload.sh"
items_setup "$host" "$port" pgvec_concurrent 500
script=$(items_insert_script)
"$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 4 -j 2 -t 500 -f "$script" pgvec_concurrent >/dev/null
rm -f "$script"
read -r total missing tids < <(items_unfound "$host" "$port" pgvec_concurrent)
if [ "$total" != 2500 ] || ! items_check "$total" "$missing" "$tids"; then
    echo "concurrent inserts: $total rows, $tids TIDs in the index, $missing not found by a search"
    exit 1
fi
# VACUUM removes the TIDs of deleted rows from the index (ambulkdelete).
read -r tids deleted < <(items_psql "$host" "$port" pgvec_concurrent -At -F ' ' <<'SQL'
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
SELECT heap_tids, deleted_elements FROM hnsw_index_stats('items_embedding_idx');
SQL
)
if [ "$tids" != 1250 ] || [ "$deleted" -lt 1 ]; then
    echo "vacuum: $tids heap TIDs left in the index (expected 1250), $deleted elements flagged deleted"
    exit 1
fi
echo "concurrent inserts: ok ($total rows indexed, $missing missed by a search at ef_search 1000;" \
    "after deleting half and VACUUM the index holds $tids TIDs)"
