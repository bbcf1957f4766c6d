#!/usr/bin/env bash
# Several sessions insert, delete and query an hnsw index (pgbench, 4 clients) while
# another runs VACUUM in a loop, for $PGVEC_CHURN_SECONDS seconds (default 120).
# Fails on any error (pgbench or VACUUM), then after a last VACUUM requires every
# committed row to be in the index and found by a search for its own vector, and
# hnsw_verify to be empty (items_verify in workload.sh), and at most 0.4 % of the rows
# to be missed by that search at ef_search 10.
# Usage: vacuum_concurrency.sh SOCKET_DIR PORT.
set -euo pipefail
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
seconds=${PGVEC_CHURN_SECONDS:-120}
db=pgvec_vacuum_loop
items_setup "$host" "$port" "$db" 2000
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
insert_script=$(items_insert_script)
mv "$insert_script" "$work/insert.sql"
cat >"$work/delete.sql" <<'SQL'
DELETE FROM items WHERE id IN (SELECT id FROM items TABLESAMPLE SYSTEM (1) LIMIT 2);
SQL
cat >"$work/query.sql" <<'SQL'
SET enable_seqscan = off;
SELECT id FROM items ORDER BY embedding <-> (SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16)) LIMIT 10;
SQL
chmod 644 "$work"/*.sql
# VACUUM in a loop until pgbench is done.
(
    end=$((SECONDS + seconds))
    runs=0
    while [ "$SECONDS" -lt "$end" ]; do
        items_psql "$host" "$port" "$db" -c "VACUUM items" || exit 1
        runs=$((runs + 1))
    done
    echo "$runs" >"$work/vacuums"
) &
looper=$!
bench_status=0
"$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 4 -j 2 -T "$seconds" \
    -f "$work/insert.sql@4" -f "$work/delete.sql@2" -f "$work/query.sql@4" "$db" >"$work/pgbench.log" 2>&1 ||
    bench_status=$?
vacuum_status=0
wait "$looper" || vacuum_status=$?
if [ "$bench_status" != 0 ] || [ "$vacuum_status" != 0 ] || grep -qi "error\|deadlock" "$work/pgbench.log"; then
    echo "vacuum concurrency: pgbench exit $bench_status, VACUUM loop exit $vacuum_status"
    cat "$work/pgbench.log"
    exit 1
fi
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.log")
items_psql "$host" "$port" "$db" -c "VACUUM items"
total=$(items_verify "$host" "$port" "$db" "vacuum concurrency")
# The graph after churn is as searchable as a fresh build's: at ef_search 10, at most
# 0.4 % of the rows miss themselves (a fresh build of such rows misses about 0.2 %; when
# VACUUM's repair left one-way links, 0.7 % were missed after this churn).
missed=$(items_unfound_at "$host" "$port" "$db" 10)
if [ $((missed * 1000)) -gt $((total * 4)) ]; then
    echo "vacuum concurrency: $missed of $total rows not found by a search for their own vector at ef_search 10 (more than 0.4 %)"
    exit 1
fi
echo "vacuum concurrency: ok ($seconds s of 4 clients inserting/deleting/querying" \
    "($transactions transactions) beside $(cat "$work/vacuums") VACUUM runs, no error;" \
    "$total rows at the end, all found at ef_search 1000, $missed missed at ef_search 10," \
    "hnsw_verify empty)"
