#!/usr/bin/env bash
# Crash safety of the hnsw index: the postmaster is killed with SIGKILL (1) while
# pgbench clients insert rows and (2) while VACUUM repairs the graph after half the
# rows were deleted. After each restart (WAL replay of the GenericXLog records)
# hnsw_verify must be empty and every committed row in the index and found by a
# search for its own vector (items_verify in workload.sh), before and after a VACUUM.
# An unlogged table's index must come back empty and usable.
# Usage: crash_recovery.sh CLUSTER_DIR PORT (a cluster started by pgcluster.sh).
set -euo pipefail
dir=$1 port=$2
source "$(dirname "$0")/pgcluster.sh"
source "$(dirname "$0")/workload.sh"
db=pgvec_crash
items_setup "$dir" "$port" "$db" 1000
items_psql "$dir" "$port" "$db" <<'SQL'
CREATE UNLOGGED TABLE scratch (id int, embedding vector(3));
CREATE INDEX scratch_idx ON scratch USING hnsw (embedding vector_l2_ops);
INSERT INTO scratch SELECT i, ARRAY[i, i, i]::vector FROM generate_series(1, 100) i;
SQL

# 1. kill -9 during concurrent inserts
script=$(items_insert_script)
"$PG_BIN/pgbench" -n -h "$dir" -p "$port" -U postgres -c 4 -j 2 -T 20 -f "$script" "$db" >/dev/null 2>&1 &
bench=$!
sleep 4
cluster_kill "$dir" "$port"
wait "$bench" || true
rm -f "$script"
cluster_restart "$dir"
grep -q "redo done" "$dir/server.log" || { echo "crash recovery: no WAL replay seen"; exit 1; }
items_psql "$dir" "$port" "$db" -c "VACUUM items"
inserted=$(items_verify "$dir" "$port" "$db" "crash recovery (after inserts)")
[ "$inserted" -gt 1000 ] || { echo "crash recovery: only $inserted rows committed"; exit 1; }

# The unlogged table came back empty; its index is usable.
read -r rows found < <(items_psql "$dir" "$port" "$db" -At -F ' ' <<'SQL'
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM scratch;
INSERT INTO scratch SELECT i, ARRAY[i, i, i]::vector FROM generate_series(1, 10) i;
SET enable_seqscan = off;
SELECT (SELECT n FROM before), (SELECT id FROM scratch ORDER BY embedding <-> '[3,3,3]' LIMIT 1);
SQL
)
if [ "$rows" != 0 ] || [ "$found" != 3 ]; then
    echo "crash recovery: unlogged table has $rows rows after the crash, nearest to [3,3,3] is '$found'"
    exit 1
fi

# 2. kill -9 during VACUUM's graph repair
items_psql "$dir" "$port" "$db" -c "DELETE FROM items WHERE id % 2 = 0"
items_psql "$dir" "$port" "$db" -c "VACUUM items" >/dev/null 2>&1 &
vacuum=$!
sleep 0.5
cluster_kill "$dir" "$port"
wait "$vacuum" || true
cluster_restart "$dir"
# Elements still flagged deleted show the crash hit VACUUM before its last pass.
pending=$(items_psql "$dir" "$port" "$db" -At -c "SELECT deleted_elements FROM hnsw_index_stats('items_embedding_idx')")
after_crash=$(items_verify "$dir" "$port" "$db" "crash recovery (after a crash during VACUUM)")
items_psql "$dir" "$port" "$db" -c "VACUUM items"
after_vacuum=$(items_verify "$dir" "$port" "$db" "crash recovery (after VACUUM once more)")
echo "crash recovery: ok ($inserted committed rows after kill -9 during inserts and WAL replay;" \
    "$after_crash after kill -9 during VACUUM ($pending elements were still flagged deleted), $after_vacuum after a full VACUUM; all found" \
    "at ef_search 1000, hnsw_verify empty; the unlogged table came back empty and usable)"
