#!/usr/bin/env bash
# Index builds seen from outside:
#   1. a build whose graph does not fit in maintenance_work_mem (1MB), serial and with
#      one parallel worker: a NOTICE, the phases "loading tuples" and "inserting on
#      disk" with tuples_done moving, seen from a second session in
#      pg_stat_progress_create_index, the private memory (RssAnon, sampled) of the
#      building backend and its worker staying <= maintenance_work_mem + 32 MB, and
#      the number of workers launched (DEBUG1);
#   2. CREATE INDEX CONCURRENTLY and REINDEX INDEX CONCURRENTLY with a parallel
#      worker while pgbench clients insert: afterwards every committed row is in the
#      index and found, and hnsw_verify is empty (items_verify in workload.sh).
# Usage: build_scale.sh SOCKET_DIR PORT.
set -euo pipefail
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
db=pgvec_build
items_setup "$host" "$port" "$db" 2000
q() { items_psql "$host" "$port" "$db" "$@"; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# 1. progress, NOTICE and memory of an over-budget build, serial and with a worker
wide_setup "$host" "$port" "$db" 20000
limit_kb=$(((1 + 32) * 1024))
# watch_build NAME WORKERS: builds wide_NAME at maintenance_work_mem 1MB with WORKERS
# parallel workers while a second session samples pg_stat_progress_create_index and
# the RssAnon of the building backend and its workers; checks the NOTICE, the phases,
# tuples_done moving on disk, the memory bound, the workers launched (DEBUG1), and
# hnsw_verify after VACUUM; prints a summary.
watch_build() {
    local name=$1 workers=$2 app=pgvec_build_$1
    PGAPPNAME=$app q -c "SET maintenance_work_mem = '1MB'" \
        -c "SET max_parallel_maintenance_workers = $workers" -c "SET client_min_messages = debug1" \
        -c "CREATE INDEX wide_${name}_idx ON wide USING hnsw (embedding vector_l2_ops)" 2>"$work/$name.err" &
    local build=$! pid="" peak=0 pids kb p
    : >"$work/$name.progress"
    while kill -0 "$build" 2>/dev/null; do
        if [ -z "$pid" ]; then
            pid=$(q -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'" || true)
        fi
        q -At -F '|' -c "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index" \
            >>"$work/$name.progress" 2>/dev/null || true
        if [ -n "$pid" ]; then
            pids="$pid $(q -At -c "SELECT pid FROM pg_stat_activity WHERE leader_pid = $pid" 2>/dev/null | tr '\n' ' ')"
            for p in $pids; do
                kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
                [ "${kb:-0}" -gt "$peak" ] && peak=$kb
            done
        fi
        sleep 0.05
    done
    wait "$build"
    local phases done_values launched
    phases=$(cut -d'|' -f1 "$work/$name.progress" | sort -u | tr '\n' ';')
    done_values=$(awk -F'|' '$1 ~ /on disk/ { print $2 }' "$work/$name.progress" | sort -un | wc -l)
    launched=$(sed -n 's/.*using \([0-9]*\) parallel workers.*/\1/p' "$work/$name.err")
    if ! grep -q "NOTICE:  hnsw graph no longer fits" "$work/$name.err" ||
        ! grep -q "building index: loading tuples" <<<"$phases" ||
        ! grep -q "building index: inserting on disk" <<<"$phases" ||
        [ "$done_values" -lt 2 ] || [ -z "$pid" ] || [ "$peak" -gt "$limit_kb" ] ||
        [ "${launched:-0}" != "$workers" ]; then
        echo "build $name: phases seen: $phases; $done_values distinct tuples_done while inserting" \
            "on disk; backend $pid peak RssAnon $peak kB (limit $limit_kb kB); workers launched" \
            "'${launched}' (wanted $workers); stderr:" >&2
        grep -v "^DEBUG" "$work/$name.err" >&2
        exit 1
    fi
    # Pruning during the build can leave an element without in-links (unreachable);
    # the build links such elements at its end, and any it could not link set the
    # metapage's relink_pending for the first VACUUM (amvacuumcleanup). After that
    # VACUUM hnsw_verify must be empty.
    q -c "VACUUM wide"
    local problems
    problems=$(q -At -c "SELECT count(*) FROM hnsw_verify('wide_${name}_idx')")
    if [ "$problems" != 0 ]; then
        echo "build $name: hnsw_verify found $problems problems after VACUUM:" >&2
        q -At -c "SELECT * FROM hnsw_verify('wide_${name}_idx') LIMIT 20" >&2
        exit 1
    fi
    q -c "DROP INDEX wide_${name}_idx"
    echo "$workers workers: NOTICE, phases $phases tuples_done moving on disk, peak private memory $((peak / 1024)) MB"
}
serial=$(watch_build serial 0)
parallel=$(watch_build parallel 1)

# 2. CONCURRENTLY while rows are inserted
script=$(items_insert_script)
mv "$script" "$work/insert.sql"
concurrently() {
    local what=$1 sql=$2
    "$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 2 -j 2 -T 5 -R 400 -f "$work/insert.sql" "$db" \
        >"$work/pgbench.log" 2>&1 &
    local bench=$!
    sleep 1
    q -c "SET max_parallel_maintenance_workers = 1" -c "SET client_min_messages = debug1" \
        -c "$sql" 2>"$work/concurrently.err"
    wait "$bench" || { echo "$what: pgbench failed" >&2; cat "$work/pgbench.log" >&2; exit 1; }
    grep -q "using 1 parallel workers" "$work/concurrently.err" ||
        { echo "$what: no parallel worker launched" >&2; grep -v "^DEBUG" "$work/concurrently.err" >&2; exit 1; }
    q -c "VACUUM items"
    items_verify "$host" "$port" "$db" "$what"
}
q -c "DROP INDEX items_embedding_idx" -c "ALTER TABLE items SET (parallel_workers = 1)"
after_create=$(concurrently "CREATE INDEX CONCURRENTLY" \
    "CREATE INDEX CONCURRENTLY items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32)")
after_reindex=$(concurrently "REINDEX INDEX CONCURRENTLY" "REINDEX INDEX CONCURRENTLY items_embedding_idx")
echo "build scale: ok (over-budget builds at maintenance_work_mem 1MB, $serial; $parallel;" \
    "CREATE INDEX CONCURRENTLY with a worker beside inserts: $after_create rows, REINDEX INDEX" \
    "CONCURRENTLY: $after_reindex rows, all found, hnsw_verify empty)"
