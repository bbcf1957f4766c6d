#!/usr/bin/env bash
# pg_cancel_backend stops the long work of the index within a moment, not at its end:
#   1. a parallel build (the leader waiting for its worker, the worker inserting): the
#      statement ends and no parallel worker is left;
#   2. hnsw_verify on 200,000 elements (about 0.7 s; its page read and its checks);
#   3. VACUUM's bulk delete (about 8 s here; its cleanup, under a second, checks
#      between elements the same way, through vacuum_delay_point).
# Each statement is started in one session and cancelled from a second once it is well
# under way; it must end with "canceling statement due to user request" within
# LATENCY ms of the cancel. Afterwards the index is still whole: VACUUM completes and
# hnsw_verify is empty.
# Usage: cancel.sh SOCKET_DIR PORT.
set -euo pipefail
shopt -s inherit_errexit
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
db=pgvec_cancel
items_psql "$host" "$port" postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q() { items_psql "$host" "$port" "$db" "$@"; }
q -c "CREATE EXTENSION pgvec_hnsw"
wide_setup "$host" "$port" "$db" 20000
# No autovacuum here: an autoanalyze's snapshot would keep VACUUM (step 3) from
# removing the deleted rows, and it would end at once, before any index pass.
q <<'SQL'
ALTER TABLE wide SET (autovacuum_enabled = false);
CREATE TABLE flat (id int, embedding vector(2)) WITH (autovacuum_enabled = false);
INSERT INTO flat SELECT i, ARRAY[random(), random()]::vector FROM generate_series(1, 200000) i;
SQL
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# cancel_within LABEL LATENCY_MS READY_SQL SQL…: runs the SQL statements in a session
# of its own; once READY_SQL (a boolean expression about that session, whose pid is
# written :pid) is true, waits WAIT seconds (default 0.3) and cancels it; checks the
# error and the latency; fails when the statements end before READY_SQL is seen true
# (the cancel would test nothing).
cancel_within() {
    local label=$1 latency=$2 ready=$3 app=pgvec_cancel_$RANDOM
    shift 3
    local args=()
    for sql in "$@"; do args+=(-c "$sql"); done
    local started
    started=$(now_ms)
    PGAPPNAME=$app q "${args[@]}" >/dev/null 2>"$work/err" &
    local session=$! pid="" state=""
    while [ "$state" != t ]; do
        if ! kill -0 "$session" 2>/dev/null; then
            echo "$label: ended $(($(now_ms) - started)) ms after it started, before it was ready" >&2
            cat "$work/err" >&2
            exit 1
        fi
        sleep 0.02
        [ -n "$pid" ] || pid=$(q -At -c "SELECT pid FROM pg_stat_activity
            WHERE application_name = '$app' AND state = 'active' AND leader_pid IS NULL LIMIT 1")
        [ -z "$pid" ] || state=$(q -At -c "SELECT ${ready//:pid/$pid}")
    done
    sleep "${WAIT:-0.3}"
    [ "$(q -At -c "SELECT pg_cancel_backend($pid)")" = t ] || { echo "$label: pg_cancel_backend failed" >&2; exit 1; }
    local sent ended
    sent=$(now_ms)
    if wait "$session"; then
        echo "$label: finished although it was cancelled" >&2
        exit 1
    fi
    ended=$(now_ms)
    if ! grep -q "canceling statement due to user request" "$work/err" || [ $((ended - sent)) -gt "$latency" ]; then
        echo "$label: ended $((ended - sent)) ms after the cancel (limit $latency ms):" >&2
        cat "$work/err" >&2
        exit 1
    fi
    echo "$label $((ended - sent)) ms"
}

# 1. The worker is seen first, then the cancel comes 0.5 s into its work.
worker="EXISTS (SELECT 1 FROM pg_stat_activity WHERE leader_pid = :pid)"
build=$(WAIT=0.5 cancel_within "parallel CREATE INDEX" 1000 "$worker" \
    "SET max_parallel_maintenance_workers = 1" \
    "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)")
sleep 0.5
left=$(q -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")
[ "$left" = 0 ] || { echo "parallel CREATE INDEX: $left parallel workers left after the cancel" >&2; exit 1; }
q -c "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)"

# 2. One hnsw_verify call of about 0.7 s, cancelled 0.1 s in.
q -c "CREATE INDEX flat_idx ON flat USING hnsw (embedding vector_l2_ops) WITH (m = 4, ef_construction = 8)"
verify=$(WAIT=0.1 cancel_within "hnsw_verify" 1000 true "SELECT count(*) FROM hnsw_verify('flat_idx')")

# 3. VACUUM in its index pass (about 8 s).
q -c "DELETE FROM wide WHERE id % 3 = 0"
bulk=$(cancel_within "VACUUM (vacuuming indexes)" 1000 \
    "EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE pid = :pid AND phase = 'vacuuming indexes')" \
    "VACUUM wide")
q -c "VACUUM wide"
problems=$(q -At -c "SELECT count(*) FROM hnsw_verify('wide_idx')")
[ "$problems" = 0 ] || { echo "hnsw_verify found $problems problems after the cancels" >&2; exit 1; }
echo "cancel: ok (ended after pg_cancel_backend: $build; $verify; $bulk; then VACUUM completed and hnsw_verify is empty)"
