#!/usr/bin/env bash
# An iterative index scan paused in a cursor stays correct while another session
# changes the index: between FETCHes the scan holds no buffer pin or lock, only
# element TIDs and distances, so VACUUM may free elements it still holds (and repair
# the lists around them) and inserts may reuse their slots.
#   Session A, REPEATABLE READ, hnsw.iterative_scan = strict_order with no limit on
#   the elements visited: a cursor over the rows of a filter (one in ten) by distance,
#   FETCH 100 (past the first batch of ef_search 40), then waits on an advisory lock
#   that session B holds while it VACUUMs away the third of the rows deleted before
#   A's snapshot, inserts 6,000 rows (into the freed slots) and VACUUMs again; then
#   A fetches the rest.
# It runs twice: with the filter left to the executor (`id % 10 = 0`: `%` is not
# leakproof) and with the filter in the scan (`tenth = 0`, a column holding id % 10:
# the scan's best-first walk evaluates it, hnsw.filter_in_scan).
# A must return no row twice, distances never decreasing, and at least 95 % of the
# rows its snapshot sees pass the filter (a freed element the scan had not expanded
# yet can cut it off from elements that the repair linked to ones it had expanded
# already, as in pgvector); hnsw_verify is empty afterwards.
# Usage: iterative_cursor.sh SOCKET_DIR PORT.
set -euo pipefail
shopt -s inherit_errexit
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

run_case() {
    local filter=$1 pushed=$2
    db=pgvec_iterative_cursor
    items_psql "$host" "$port" postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    q() { items_psql "$host" "$port" "$db" "$@"; }
    q <<'SQL'
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE t (id int, tenth int GENERATED ALWAYS AS (id % 10) STORED, embedding vector(16))
    WITH (autovacuum_enabled = false);
INSERT INTO t (id, embedding) SELECT r, array_agg(random())::real[]::vector
    FROM generate_series(1, 16) d, generate_series(1, 20000) r GROUP BY r;
CREATE INDEX t_idx ON t USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
VACUUM t;
DELETE FROM t WHERE id % 3 = 0;
SQL
    probe=$(q -At -c "SELECT array_agg(0.5)::real[]::vector FROM generate_series(1, 16)")
    stats() { q -At -F ' ' -c "SELECT live_elements, pages FROM hnsw_index_stats('t_idx')"; }
    read -r live_before pages_before < <(stats)

    # B: holds lock 1 until A waits for it, then changes the index and lets A go on.
    q -At >"$work/b.out" 2>&1 <<SQL &
SELECT pg_advisory_lock(1);
DO \$\$ BEGIN
    WHILE NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted) LOOP
        PERFORM pg_sleep(0.02);
    END LOOP;
END \$\$;
VACUUM t;
INSERT INTO t (id, embedding) SELECT 100000 + r, array_agg(random())::real[]::vector
    FROM generate_series(1, 16) d, generate_series(1, 6000) r GROUP BY r;
VACUUM t;
SELECT 'changed';
SELECT pg_advisory_unlock(1);
SQL
    b=$!
    for _ in $(seq 200); do
        [ "$(q -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ] && break
        sleep 0.05
    done

    q -At -F ' ' >"$work/a.out" 2>&1 <<SQL || { cat "$work/a.out" "$work/b.out" >&2; exit 1; }
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL enable_seqscan = off;
SET LOCAL hnsw.ef_search = 40;
SET LOCAL hnsw.iterative_scan = strict_order;
SET LOCAL hnsw.max_scan_tuples = 2147483647;
SET LOCAL hnsw.scan_mem_multiplier = 1000;
DECLARE c CURSOR FOR
        SELECT id, (embedding <-> '$probe')::float8 FROM t WHERE $filter ORDER BY embedding <-> '$probe';
FETCH 100 FROM c;
SELECT 'paused', pg_advisory_lock(1);
FETCH ALL FROM c;
SELECT 'visible', count(*) FROM t WHERE $filter;
COMMIT;
SQL
    wait "$b" || { cat "$work/b.out" >&2; exit 1; }
    grep -qx changed "$work/b.out" || { echo "iterative cursor: session B did not finish" >&2; cat "$work/b.out" >&2; exit 1; }
    read -r live_after pages_after < <(stats)

    rows=$(grep -vE '^(paused|visible) ' "$work/a.out")
    visible=$(sed -n 's/^visible //p' "$work/a.out")
    returned=$(wc -l <<<"$rows")
    distinct=$(cut -d' ' -f1 <<<"$rows" | sort -u | wc -l)
    # The 101st row is the first fetched after the pause.
    inversions=$(awk 'NR > 1 && $2 < last { n++ } { last = $2 } END { print n + 0 }' <<<"$rows")
    problems=$(q -At -c "SELECT count(*) FROM hnsw_verify('t_idx')")
    # Whether the executor removed rows itself: not when the filter is in the scan.
    plan=$(q -At -c "SET enable_seqscan = off" -c "SET hnsw.iterative_scan = strict_order" \
        -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT id FROM t WHERE $filter ORDER BY embedding <-> '$probe' LIMIT 200")
    removed=$(grep -c "Rows Removed by Filter" <<<"$plan" || true)
    fail() { echo "iterative cursor ($filter): $1 ($returned rows returned, $distinct distinct, $visible visible)" >&2; exit 1; }
    [ "$(grep -c '^paused ' "$work/a.out")" = 1 ] || fail "session A did not pause"
    [ "$live_after" -lt "$live_before" ] || fail "VACUUM freed no element during the pause ($live_before -> $live_after live)"
    [ "$distinct" = "$returned" ] || fail "a row came twice"
    [ "$inversions" = 0 ] || fail "strict order returned a nearer row after a farther one $inversions times"
    [ $((returned * 100)) -ge $((visible * 95)) ] || fail "too few rows"
    [ "$problems" = 0 ] || fail "hnsw_verify found $problems problems"
    grep -q "Index Scan using t_idx" <<<"$plan" || fail "the plan is no index scan: $plan"
    if [ "$pushed" = pushed ]; then
        [ "$removed" = 0 ] || fail "the filter was not evaluated in the scan"
    else
        [ "$removed" = 1 ] || fail "the executor did not filter"
    fi
    echo "iterative cursor ($filter): ok (a strict_order cursor paused after 100 rows while VACUUM freed" \
        "$((live_before + 6000 - live_after)) elements and 6,000 rows were inserted (live elements" \
        "$live_before -> $live_after, pages $pages_before -> $pages_after): $returned of $visible" \
        "visible rows, none twice, in order; hnsw_verify empty)"
}

run_case "id % 10 = 0" executor
run_case "tenth = 0" pushed
