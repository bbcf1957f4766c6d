#!/usr/bin/env bash
# pg_cancel_backend stops the long loops of the index within a moment, not at their
# end: an index build, hnsw_verify (its page read and its checks), and VACUUM's bulk
# delete (its cleanup, under a second here, checks between elements the same way,
# through vacuum_delay_point). Each statement is started in one session, cancelled from a
# second once it is well under way, and must end with "canceling statement due to
# user request" within LATENCY ms of the cancel; the statements take far longer than
# that (build ~3 s, the bulk delete ~15 s, 20 hnsw_verify calls
# of ~0.25 s each). Afterwards
# the index is still whole: VACUUM completes and hnsw_verify is empty.
# Usage: cancel.sh SOCKET_DIR PORT.
set -euo pipefail
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
db=pgvec_cancel
items_psql "$host" "$port" postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q() { items_psql "$host" "$port" "$db" "$@"; }
q -c "CREATE EXTENSION pgvec_hnsw"
wide_setup "$host" "$port" "$db" 20000
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# cancel_within LABEL LATENCY_MS READY_SQL SQL…: runs the SQL statements in a session
# of its own; once READY_SQL (a boolean query about that session, whose pid is :pid)
# is true, waits 0.3 s and cancels it; checks the error and the latency.
cancel_within() {
    local label=$1 latency=$2 ready=$3 app=pgvec_cancel_$RANDOM
    shift 3
    local args=()
    for sql in "$@"; do args+=(-c "$sql"); done
    PGAPPNAME=$app q "${args[@]}" >/dev/null 2>"$work/err" &
    local session=$! pid="" tries=0
    until [ -n "$pid" ]; do
        pid=$(q -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND state = 'active'")
        tries=$((tries + 1))
        [ "$tries" -lt 2000 ] || { echo "$label: never became active" >&2; exit 1; }
    done
    local state
    while state=$(q -At -c "SELECT ${ready//:pid/$pid}") && [ "$state" != t ]; do
        kill -0 "$session" 2>/dev/null || { echo "$label: ended before it was ready" >&2; cat "$work/err" >&2; exit 1; }
        sleep 0.02
    done
    [ "$state" = t ] || exit 1
    sleep 0.3
    q -At -c "SELECT pg_cancel_backend($pid)" >/dev/null
    local sent ended
    sent=$(now_ms)
    wait "$session" && { echo "$label: finished although it was cancelled" >&2; exit 1; }
    ended=$(now_ms)
    if ! grep -q "canceling statement due to user request" "$work/err" || [ $((ended - sent)) -gt "$latency" ]; then
        echo "$label: ended $((ended - sent)) ms after the cancel (limit $latency ms):" >&2
        cat "$work/err" >&2
        exit 1
    fi
    echo "$label $((ended - sent)) ms"
}

active="true"
build=$(cancel_within "CREATE INDEX" 300 "$active" \
    "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)")
q -c "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)"
verify=$(cancel_within "hnsw_verify" 100 "$active" \
    "SELECT count(*) FROM generate_series(1, 20) g,
        LATERAL hnsw_verify(CASE WHEN g > 0 THEN 'wide_idx'::regclass END) v")
q -c "DELETE FROM wide WHERE id % 3 = 0"
phase="EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE pid = :pid AND phase = '%s')"
# shellcheck disable=SC2059
bulk=$(cancel_within "VACUUM (vacuuming indexes)" 300 "$(printf "$phase" "vacuuming indexes")" "VACUUM wide")
q -c "VACUUM wide"
problems=$(q -At -c "SELECT count(*) FROM hnsw_verify('wide_idx')")
[ "$problems" = 0 ] || { echo "hnsw_verify found $problems problems after the cancels" >&2; exit 1; }
echo "cancel: ok (ended after pg_cancel_backend: $build; $verify; $bulk; then VACUUM completed and hnsw_verify is empty)"
