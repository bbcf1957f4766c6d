#!/usr/bin/env bash
# Several sessions insert, delete and query an hnsw index (pgbench, 4 clients) while
# another runs VACUUM in a loop, for $PGVEC_CHURN_SECONDS seconds (default 120).
# Fails on any error (pgbench or VACUUM), then after a last VACUUM requires every
# committed row to be in the index and found by a search for its own vector, and
# hnsw_verify to be empty (items_verify in workload.sh), and at most 0.4 % of the rows
# to be missed by that search at ef_search 10. Every query checks that its rows come in
# distance order. Then every row is deleted and rows are inserted beside a VACUUM loop:
# the entry point stays a live element and every row is found. Then the same churn on
# 3,000-d rows, whose elements keep their values in chains of pages.
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
# A query that fails (division by zero, an aggregate so that the planner does not
# fold it) when the scan returns rows out of distance order: a row taken from a slot VACUUM freed and an insert reused would show at the
# rank of the element it replaced. (The index orders by f32 distances, the check by
# float8 ones: near-ties within 1e-6 pass.)
cat >"$work/query.sql" <<'SQL'
SET enable_seqscan = off;
WITH q AS MATERIALIZED (SELECT array_agg(random())::real[]::vector AS v FROM generate_series(1, 16)),
     hits AS (SELECT row_number() OVER () AS n, embedding <-> (SELECT v FROM q) AS d FROM
              (SELECT embedding FROM items ORDER BY embedding <-> (SELECT v FROM q) LIMIT 10) s)
SELECT CASE WHEN bool_and(d >= prev - 1e-6) IS NOT FALSE THEN 1 ELSE 1 / (count(*) - count(*))::int END
FROM (SELECT d, coalesce(lag(d) OVER (ORDER BY n), 0) AS prev FROM hits) o;
SQL
chmod 644 "$work"/*.sql
# churn TABLE SECONDS PREFIX WHAT: 4 pgbench clients run $work/PREFIXinsert.sql,
# PREFIXdelete.sql and PREFIXquery.sql (weights 4, 2, 4) for SECONDS beside VACUUM
# TABLE in a loop; exits saying WHAT on any error; sets churn_transactions and
# churn_vacuums.
churn() {
    local table=$1 secs=$2 prefix=$3 what=$4 looper bench_status=0 vacuum_status=0
    (
        end=$((SECONDS + secs))
        runs=0
        while [ "$SECONDS" -lt "$end" ]; do
            items_psql "$host" "$port" "$db" -c "VACUUM $table" || exit 1
            runs=$((runs + 1))
        done
        echo "$runs" >"$work/${prefix}vacuums"
    ) &
    looper=$!
    "$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 4 -j 2 -T "$secs" \
        -f "$work/${prefix}insert.sql@4" -f "$work/${prefix}delete.sql@2" -f "$work/${prefix}query.sql@4" \
        "$db" >"$work/${prefix}pgbench.log" 2>&1 || bench_status=$?
    wait "$looper" || vacuum_status=$?
    if [ "$bench_status" != 0 ] || [ "$vacuum_status" != 0 ] ||
        grep -qi "error\|deadlock" "$work/${prefix}pgbench.log"; then
        echo "$what: pgbench exit $bench_status, VACUUM loop exit $vacuum_status"
        cat "$work/${prefix}pgbench.log"
        exit 1
    fi
    churn_transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
        "$work/${prefix}pgbench.log")
    churn_vacuums=$(cat "$work/${prefix}vacuums")
}
churn items "$seconds" "" "vacuum concurrency"
transactions=$churn_transactions vacuums=$churn_vacuums
items_psql "$host" "$port" "$db" -c "VACUUM items"
total=$(items_verify "$host" "$port" "$db" "vacuum concurrency")
# The graph after churn is as searchable as a fresh build's: at ef_search 10, at most
# 0.4 % of the rows miss themselves (a fresh build of such rows misses about 0.2 %; when
# VACUUM's repair left one-way links, 0.7 % were missed after this churn), plus three
# standard deviations of a 0.2 % miss rate over `total` rows (the rows, their levels and
# the interleaving differ from run to run).
missed=$(items_unfound_at "$host" "$port" "$db" 10)
limit=$(awk -v n="$total" 'BEGIN { printf "%d", n * 0.004 + 3 * sqrt(n * 0.002) + 1 }')
if [ "$missed" -gt "$limit" ]; then
    echo "vacuum concurrency: $missed of $total rows not found by a search for their own vector at ef_search 10 (limit $limit: 0.4 % and 3 sigma)"
    exit 1
fi

# Every row deleted, then inserts beside a VACUUM loop: the entry point must move to
# a live element (never none while one exists) and every new row must be found.
items_psql "$host" "$port" "$db" -c "DELETE FROM items"
(
    end=$((SECONDS + 15))
    while [ "$SECONDS" -lt "$end" ]; do
        items_psql "$host" "$port" "$db" -c "VACUUM items" || exit 1
    done
) &
looper=$!
"$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 2 -j 2 -T 15 -R 100 -f "$work/insert.sql" "$db" \
    >"$work/pgbench2.log" 2>&1 || { echo "vacuum concurrency: pgbench after DELETE failed"; cat "$work/pgbench2.log"; exit 1; }
wait "$looper" || { echo "vacuum concurrency: VACUUM after DELETE failed"; exit 1; }
items_psql "$host" "$port" "$db" -c "VACUUM items"
entry=$(items_psql "$host" "$port" "$db" -At -c "SELECT entry_level IS NOT NULL FROM hnsw_index_stats('items_embedding_idx')")
[ "$entry" = t ] || { echo "vacuum concurrency: no entry point after DELETE and inserts"; exit 1; }
refilled=$(items_verify "$host" "$port" "$db" "vacuum concurrency (after DELETE of every row)")
# The same churn on elements longer than a page (vector(3000): each element's values
# in a chain of two pieces) for $PGVEC_CHURN_LONG_SECONDS seconds (default 30): scans
# and inserts read chains while VACUUM frees them; copies of a row (the rows come from
# a table of 3,000) join its element. Then every row is in the index and found at
# ef_search 1000, hnsw_verify is empty.
long_seconds=${PGVEC_CHURN_LONG_SECONDS:-30}
items_psql "$host" "$port" "$db" <<'SQL'
CREATE TABLE long_src AS SELECT r AS id, array_agg(random())::real[]::vector(3000) AS v
    FROM generate_series(1, 3000) d, generate_series(1, 3000) r GROUP BY r;
CREATE TABLE long (id serial, v vector(3000)) WITH (autovacuum_enabled = false);
INSERT INTO long (v) SELECT v FROM long_src WHERE id <= 500;
CREATE INDEX long_idx ON long USING hnsw (v vector_l2_ops);
SQL
cat >"$work/long_insert.sql" <<'SQL'
\set r random(1, 3000)
INSERT INTO long (v) SELECT v FROM long_src WHERE id = :r;
SQL
cat >"$work/long_delete.sql" <<'SQL'
DELETE FROM long WHERE id IN (SELECT id FROM long TABLESAMPLE SYSTEM (2) LIMIT 2);
SQL
cat >"$work/long_query.sql" <<'SQL'
\set r random(1, 3000)
SET enable_seqscan = off;
WITH q AS MATERIALIZED (SELECT v FROM long_src WHERE id = :r),
     hits AS (SELECT row_number() OVER () AS n, v <-> (SELECT v FROM q) AS d FROM
              (SELECT v FROM long ORDER BY v <-> (SELECT v FROM q) LIMIT 10) s)
SELECT CASE WHEN bool_and(d >= prev - 1e-6) IS NOT FALSE THEN 1 ELSE 1 / (count(*) - count(*))::int END
FROM (SELECT d, coalesce(lag(d) OVER (ORDER BY n), 0) AS prev FROM hits) o;
SQL
chmod 644 "$work"/*.sql
churn long "$long_seconds" long_ "vacuum concurrency (long rows)"
long_transactions=$churn_transactions long_vacuums=$churn_vacuums
items_psql "$host" "$port" "$db" -c "VACUUM long"
read -r long_rows long_tids long_problems long_unfound < <(items_psql "$host" "$port" "$db" -At -F ' ' <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT (SELECT count(*) FROM long), (SELECT heap_tids FROM hnsw_index_stats('long_idx')),
       (SELECT count(*) FROM hnsw_verify('long_idx')),
       (SELECT count(*) FROM long q WHERE NOT EXISTS (
            SELECT 1 FROM (SELECT id FROM long ORDER BY v <-> q.v LIMIT 20) s WHERE s.id = q.id));
SQL
)
if [ "$long_tids" != "$long_rows" ] || [ "$long_problems" != 0 ] || [ "$long_unfound" != 0 ]; then
    echo "vacuum concurrency (long rows): $long_rows rows, $long_tids heap TIDs in the index," \
        "$long_problems rows of hnsw_verify, $long_unfound rows not found by their own vector"
    items_psql "$host" "$port" "$db" -At -c "SELECT * FROM hnsw_verify('long_idx') LIMIT 20"
    exit 1
fi
echo "vacuum concurrency: ok ($seconds s of 4 clients inserting/deleting/querying" \
    "($transactions transactions, every scan in distance order) beside $vacuums VACUUM" \
    "runs, no error; $total rows at the end, all found at ef_search 1000, $missed missed at" \
    "ef_search 10, hnsw_verify empty; then every row deleted and $refilled inserted beside a" \
    "VACUUM loop: entry point kept, all found; $long_seconds s of the same on 3,000-d rows (chains):" \
    "$long_transactions transactions beside $long_vacuums VACUUM runs, $long_rows rows all in" \
    "the index and found, hnsw_verify empty)"
