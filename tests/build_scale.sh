#!/usr/bin/env bash
# Index builds seen from outside:
#   1. a build whose graph does not fit in maintenance_work_mem (1MB): a NOTICE, the
#      phases "loading tuples" and "inserting on disk" with tuples_done moving, seen
#      from a second session in pg_stat_progress_create_index, and the building
#      backend's private memory (RssAnon, sampled) staying <= maintenance_work_mem +
#      32 MB;
#   2. CREATE INDEX CONCURRENTLY and REINDEX INDEX CONCURRENTLY while pgbench clients
#      insert: afterwards every committed row is in the index and found, and
#      hnsw_verify is empty (items_verify in workload.sh).
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

# 1. progress, NOTICE and memory of an over-budget build
q <<'SQL'
CREATE TABLE wide (id int, embedding vector(64));
INSERT INTO wide SELECT r, array_agg(random())::real[]::vector
    FROM generate_series(1, 64) d, generate_series(1, 20000) r GROUP BY r;
SQL
PGAPPNAME=pgvec_build_scale q -c "SET maintenance_work_mem = '1MB'" \
    -c "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)" 2>"$work/build.err" &
build=$!
pid=""
peak=0
: >"$work/progress"
while kill -0 "$build" 2>/dev/null; do
    if [ -z "$pid" ]; then
        pid=$(q -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgvec_build_scale'" || true)
    fi
    q -At -F '|' -c "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index" \
        >>"$work/progress" 2>/dev/null || true
    if [ -n "$pid" ]; then
        kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$peak" ] && peak=$kb
    fi
    sleep 0.05
done
wait "$build"
phases=$(cut -d'|' -f1 "$work/progress" | sort -u | tr '\n' ';')
done_values=$(awk -F'|' '$1 ~ /on disk/ { print $2 }' "$work/progress" | sort -un | wc -l)
limit_kb=$(((1 + 32) * 1024))
if ! grep -q "NOTICE" "$work/build.err" ||
    ! grep -q "building index: loading tuples" <<<"$phases" ||
    ! grep -q "building index: inserting on disk" <<<"$phases" ||
    [ "$done_values" -lt 2 ] || [ -z "$pid" ] || [ "$peak" -gt "$limit_kb" ]; then
    echo "build progress: phases seen: $phases; $done_values distinct tuples_done while inserting" \
        "on disk; backend $pid peak RssAnon $peak kB (limit $limit_kb kB); stderr:"
    cat "$work/build.err"
    exit 1
fi
# Pruning during the build can leave an element without in-links (unreachable); the
# first VACUUM relinks it (amvacuumcleanup). Then hnsw_verify must be empty.
q -c "VACUUM wide"
problems=$(q -At -c "SELECT count(*) FROM hnsw_verify('wide_idx')")
if [ "$problems" != 0 ]; then
    echo "build progress: hnsw_verify found $problems problems after VACUUM:"
    q -At -c "SELECT * FROM hnsw_verify('wide_idx') LIMIT 20"
    exit 1
fi

# 2. CONCURRENTLY while rows are inserted
script=$(items_insert_script)
mv "$script" "$work/insert.sql"
concurrently() {
    local what=$1 sql=$2
    "$PG_BIN/pgbench" -n -h "$host" -p "$port" -U postgres -c 2 -j 2 -T 5 -R 400 -f "$work/insert.sql" "$db" \
        >"$work/pgbench.log" 2>&1 &
    local bench=$!
    sleep 1
    q -c "$sql"
    wait "$bench" || { echo "$what: pgbench failed" >&2; cat "$work/pgbench.log" >&2; exit 1; }
    q -c "VACUUM items"
    items_verify "$host" "$port" "$db" "$what"
}
q -c "DROP INDEX items_embedding_idx"
after_create=$(concurrently "CREATE INDEX CONCURRENTLY" \
    "CREATE INDEX CONCURRENTLY items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32)")
after_reindex=$(concurrently "REINDEX INDEX CONCURRENTLY" "REINDEX INDEX CONCURRENTLY items_embedding_idx")
echo "build scale: ok (over-budget build: NOTICE, phases $phases tuples_done moving, peak private" \
    "memory $((peak / 1024)) MB at maintenance_work_mem 1MB; CREATE INDEX CONCURRENTLY with inserts:" \
    "$after_create rows, REINDEX INDEX CONCURRENTLY with inserts: $after_reindex rows, all found, hnsw_verify empty)"
