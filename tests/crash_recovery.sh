#!/usr/bin/env bash
# Crash safety of the hnsw index, with real crashes in the middle of the work:
#   1. SIGKILL to one backend while it inserts (pgbench clients insert rows), three
#      times: the postmaster resets every backend and replays WAL;
#   2. SIGKILL to the backend running VACUUM while it repairs the graph after deletes,
#      three times;
#   3. `pg_ctl stop -m immediate` during a parallel CREATE INDEX (a worker launched),
#      twice;
#   4. an all-zero page at the end of the index (what a crash between extending the
#      relation and the page's first WAL record leaves): hnsw_index_stats and
#      hnsw_verify read it as free, VACUUM initialises it and records it in the free
#      space map, and inserts use it;
#   5. SIGKILL to one backend inserting 16,000-d rows (their lanes in chains of
#      pages), three times, and 30 cancels of a loop of such inserts: VACUUM frees what a kill between a chain and its element
#      left.
# After each crash: WAL replay seen, VACUUM succeeds, hnsw_verify is empty (after a
# killed VACUUM but for live elements it had not relinked yet) and every
# committed row is in the index and found by a search for its own vector (items_verify
# in workload.sh). An unlogged table's index must come back empty and usable.
# Usage: crash_recovery.sh CLUSTER_DIR PORT (a cluster started by pgcluster.sh).
set -euo pipefail
dir=$1 port=$2
source "$(dirname "$0")/pgcluster.sh"
source "$(dirname "$0")/workload.sh"
db=pgvec_crash
items_setup "$dir" "$port" "$db" 2000
q() { items_psql "$dir" "$port" "$db" "$@"; }
q <<'SQL'
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE UNLOGGED TABLE scratch (id int, embedding vector(3));
CREATE INDEX scratch_idx ON scratch USING hnsw (embedding vector_l2_ops);
INSERT INTO scratch SELECT i, ARRAY[i, i, i]::vector FROM generate_series(1, 100) i;
SQL
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

replays() { grep -c "redo done" "$dir/server.log" || true; }

# wait_recovered REPLAYS: until the server has replayed WAL once more than REPLAYS
# times (the postmaster reset every backend after one was killed) and accepts
# connections again.
wait_recovered() {
    local before=$1 _
    for _ in $(seq 150); do
        if [ "$(replays)" -gt "$before" ] && q -At -c "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "crash recovery: no WAL replay, or the server did not come back" >&2
    tail -20 "$dir/server.log" >&2
    exit 1
}

# kill_backend_running PATTERN: kill -9 a backend of $db whose query matches PATTERN
# (ILIKE) once one runs, waiting up to 10 s; fails when none ran.
kill_backend_running() {
    local pattern=$1 pid="" _
    for _ in $(seq 100); do
        pid=$(q -At -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND state = 'active'
                        AND query ILIKE '$pattern' AND pid <> pg_backend_pid() LIMIT 1" 2>/dev/null || true)
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] && kill -9 "$pid"
}

# quick_check LABEL [after-vacuum-kill]: hnsw_verify empty and every row's TID in the
# index (the full search for every row, items_verify, runs once per section: it costs
# a search at ef_search 1000 per row). With after-vacuum-kill, live elements without
# in-links are allowed and counted in $unlinked: VACUUM's repair and free passes can
# leave them (a re-selected list that drops its only in-link, a freed element that was
# it) until its cleanup relinks them, and a kill may fall in between; the flag those
# passes set in the metapage (relink_pending) makes the next VACUUM's cleanup link
# them even when its bulk delete finds nothing new to remove (checked after it).
unlinked=0
quick_check() {
    local total tids problems unreachable=0 where="true"
    [ "${2:-}" = after-vacuum-kill ] && where="problem <> 'unreachable live element'"
    read -r total tids problems unreachable < <(q -At -F ' ' -c "SELECT (SELECT count(*) FROM items),
        (SELECT heap_tids FROM hnsw_index_stats('items_embedding_idx')),
        (SELECT count(*) FROM hnsw_verify('items_embedding_idx') WHERE $where),
        (SELECT count(*) FROM hnsw_verify('items_embedding_idx') WHERE problem = 'unreachable live element')")
    if [ "$tids" -lt "$total" ] || [ "$problems" != 0 ]; then
        echo "$1: $total rows, $tids heap TIDs in the index, $problems rows of hnsw_verify" >&2
        q -At -c "SELECT * FROM hnsw_verify('items_embedding_idx') WHERE $where LIMIT 20" >&2
        exit 1
    fi
    [ "${2:-}" = after-vacuum-kill ] && unlinked=$((unlinked + unreachable))
    return 0
}

# 1. kill -9 one inserting backend, three times
script=$(items_insert_script)
mv "$script" "$work/insert.sql"
for round in 1 2 3; do
    before=$(replays)
    "$PG_BIN/pgbench" -n -h "$dir" -p "$port" -U postgres -c 4 -j 2 -T 30 -R 200 -f "$work/insert.sql" "$db" \
        >"$work/pgbench.log" 2>&1 &
    bench=$!
    sleep 2
    kill_backend_running 'INSERT%' || { echo "crash recovery: no insert to kill" >&2; exit 1; }
    wait "$bench" || true
    wait_recovered "$before"
    q -c "VACUUM items"
    quick_check "crash recovery (insert killed, round $round)"
done
inserted=$(items_verify "$dir" "$port" "$db" "crash recovery (after 3 inserts killed)")
[ "$inserted" -gt 2000 ] || { echo "crash recovery: only $inserted rows committed"; exit 1; }

# The unlogged table came back empty; its index is usable.
read -r rows found < <(q -At -F ' ' <<'SQL'
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

# 2. kill -9 the VACUUM backend while it repairs the graph, three times; the
#    elements still flagged deleted afterwards show it died before its last pass, the
#    metapage's relink_pending flag (bit 0 of the byte after the insert page: page
#    header 24 + 28; bit 1 is inserted_since_check, set by inserts) that it died between
#    its repair and its cleanup's linking; the next VACUUM must clear both.
relink_pending() { q -At -c "SELECT get_byte(get_raw_page('items_embedding_idx', 0), 52) & 1"; }
meta_flags() { q -At -c "SELECT get_byte(get_raw_page('items_embedding_idx', 0), 52)"; }
pending_seen=0 vacuum_kills=0 relink_seen=0
for round in 1 2 3; do
    q -c "INSERT INTO items (embedding) SELECT array_agg(random())::real[]::vector
              FROM generate_series(1, 16) d, generate_series(1, 4000) r GROUP BY r" \
      -c "DELETE FROM items WHERE id % 2 = $((round % 2))"
    before=$(replays)
    q -c "VACUUM items" >/dev/null 2>&1 &
    vacuum=$!
    # Once VACUUM works on the index, a little later each round.
    for _ in $(seq 200); do
        pid=$(q -At -c "SELECT pid FROM pg_stat_progress_vacuum WHERE datname = '$db'
                        AND relid = 'items'::regclass AND phase = 'vacuuming indexes'")
        [ -n "$pid" ] && break
        sleep 0.05
    done
    sleep 0.$((round))
    if [ -z "$pid" ] || ! kill -9 "$pid" 2>/dev/null; then
        echo "crash recovery: VACUUM ended before the kill (round $round)" >&2
        wait "$vacuum"
        continue
    fi
    # A VACUUM that completed (its backend exiting when the signal came) ran whole.
    if wait "$vacuum"; then
        echo "crash recovery: VACUUM ended before the kill (round $round)" >&2
        continue
    fi
    vacuum_kills=$((vacuum_kills + 1))
    wait_recovered "$before"
    pending=$(q -At -c "SELECT deleted_elements FROM hnsw_index_stats('items_embedding_idx')")
    [ "$pending" -gt 0 ] && pending_seen=$((pending_seen + 1))
    [ "$(relink_pending)" = 1 ] && relink_seen=$((relink_seen + 1))
    quick_check "crash recovery (VACUUM killed, round $round)" after-vacuum-kill
    q -c "VACUUM items"
    quick_check "crash recovery (VACUUM again, round $round)"
    [ "$(meta_flags)" = 0 ] ||
        { echo "crash recovery: metapage flags $(meta_flags) still set after VACUUM again (round $round)" >&2; exit 1; }
done
after_vacuum=$(items_verify "$dir" "$port" "$db" "crash recovery (after VACUUM was killed)")
[ "$pending_seen" -gt 0 ] || { echo "crash recovery: no kill hit VACUUM before its last pass" >&2; exit 1; }

# 3. pg_ctl stop -m immediate during a parallel build, twice
wide_setup "$dir" "$port" "$db" 40000
for round in 1 2; do
    q -c "SET max_parallel_maintenance_workers = 1" -c "SET client_min_messages = debug1" \
      -c "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)" >"$work/build.log" 2>&1 &
    build=$!
    for _ in $(seq 100); do
        grep -q "using 1 parallel workers" "$work/build.log" && break
        sleep 0.1
    done
    grep -q "using 1 parallel workers" "$work/build.log" ||
        { echo "crash recovery: the build launched no worker" >&2; cat "$work/build.log" >&2; exit 1; }
    sleep 0.$((round * 3))
    # Still building when stopped (else this round would test nothing).
    [ "$(q -At -c "SELECT count(*) FROM pg_stat_progress_create_index WHERE datname = '$db'")" = 1 ] ||
        { echo "crash recovery: the build ended before the stop" >&2; cat "$work/build.log" >&2; exit 1; }
    before=$(replays)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    wait "$build" || true
    cluster_restart "$dir"
    wait_recovered "$before"
    [ "$(q -At -c "SELECT count(*) FROM pg_class WHERE relname = 'wide_idx'")" = 0 ] ||
        { echo "crash recovery: the interrupted build left an index" >&2; exit 1; }
    q -c "VACUUM wide" -c "VACUUM items"
    quick_check "crash recovery (build interrupted, round $round)"
done
after_build=$(items_verify "$dir" "$port" "$db" "crash recovery (after builds were interrupted)")
q -c "CREATE INDEX wide_idx ON wide USING hnsw (embedding vector_l2_ops)" -c "VACUUM wide"
[ "$(q -At -c "SELECT count(*) FROM hnsw_verify('wide_idx')")" = 0 ] ||
    { echo "crash recovery: hnsw_verify after building again" >&2; exit 1; }

# 4. an all-zero page at the end of the index
q -c "CREATE EXTENSION IF NOT EXISTS pg_freespacemap" -c "CHECKPOINT"
file=$dir/data/$(q -At -c "SELECT pg_relation_filepath('items_embedding_idx')")
zero_block=$(q -At -c "SELECT pg_relation_size('items_embedding_idx') / 8192")
cluster_stop "$dir"
as_owner dd if=/dev/zero of="$file" bs=8192 count=1 oflag=append conv=notrunc status=none
cluster_restart "$dir"
upper=$(q -At -c "SELECT upper FROM page_header(get_raw_page('items_embedding_idx', $zero_block))")
[ "$upper" = 0 ] || { echo "crash recovery: block $zero_block is not all zeros ($upper)" >&2; exit 1; }
stats_pages=$(q -At -c "SELECT pages FROM hnsw_index_stats('items_embedding_idx')")
[ "$stats_pages" = $((zero_block + 1)) ] || { echo "crash recovery: hnsw_index_stats saw $stats_pages pages" >&2; exit 1; }
quick_check "crash recovery (an all-zero page, before VACUUM)"
q -c "DELETE FROM items WHERE id % 7 = 0" -c "VACUUM items"
read -r upper free < <(q -At -F ' ' -c "SELECT (SELECT upper FROM page_header(get_raw_page('items_embedding_idx', $zero_block))),
                                               pg_freespace('items_embedding_idx', $zero_block)")
if [ "$upper" = 0 ] || [ "$free" -lt 4000 ]; then
    echo "crash recovery: after VACUUM block $zero_block has upper $upper, $free bytes free in the FSM" >&2
    exit 1
fi
after_zero=$(items_verify "$dir" "$port" "$db" "crash recovery (an all-zero page, after VACUUM)")
# 5. kill -9 a backend inserting 16,000-d rows (each element's lanes in a chain of 8
#    pages written before it), three times, then 30 cancels of a loop of them: a kill
#    or cancel between the chain and its element leaves chain tuples of no element,
#    which hnsw_verify reports (the cancels must leave some) and VACUUM frees; after
#    VACUUM hnsw_verify is empty and every committed row is in the index. The
#    rows are copied from a table of 2,000 (made once), so that the insert's own work
#    is most of the statement.
q <<'SQL'
CREATE TABLE long_src (id int, v vector(16000));
INSERT INTO long_src SELECT r, array_agg(random())::real[]::vector FROM generate_series(1, 16000) d,
    generate_series(1, 2000) r GROUP BY r;
CREATE TABLE long (id serial, v vector(16000)) WITH (autovacuum_enabled = false);
INSERT INTO long (v) SELECT v FROM long_src WHERE id <= 30;
CREATE INDEX long_idx ON long USING hnsw (v vector_l2_ops);
SQL
echo "INSERT INTO long (v) SELECT v FROM long_src WHERE id = 31 + (random() * 1968)::int;" \
    >"$work/long.sql"
# orphans_of INDEX: the chain tuples of no element hnsw_verify finds in INDEX.
orphans_of() { q -At -c "SELECT count(*) FROM hnsw_verify('$1') WHERE problem = 'chain tuple of no element'"; }
# cancel_insert_loop TABLE SECONDS: a loop of inserts of long_src's rows into TABLE,
# cancelled (pg_cancel_backend) after SECONDS; fails when it was not cancelled.
cancel_insert_loop() {
    local table=$1 seconds=$2 loop
    q -c "DO \$\$ BEGIN FOR i IN 1..1000 LOOP
              INSERT INTO $table (v) SELECT v FROM long_src WHERE id = 31 + (random() * 1968)::int;
          END LOOP; END \$\$" >/dev/null 2>&1 &
    loop=$!
    sleep "$seconds"
    q -At -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '$db'
              AND query LIKE 'DO %INSERT INTO $table (v)%' AND pid <> pg_backend_pid()" >/dev/null
    if wait "$loop"; then
        echo "crash recovery: the insert loop into $table was not cancelled" >&2
        exit 1
    fi
}
# long_check LABEL: every row of long in its index, hnsw_verify empty.
long_check() {
    local rows tids problems
    read -r rows tids problems < <(q -At -F ' ' -c "SELECT (SELECT count(*) FROM long),
        (SELECT heap_tids FROM hnsw_index_stats('long_idx')), (SELECT count(*) FROM hnsw_verify('long_idx'))")
    if [ "$tids" != "$rows" ] || [ "$problems" != 0 ]; then
        echo "crash recovery ($1): $rows rows, $tids heap TIDs, $problems rows of hnsw_verify" >&2
        q -At -c "SELECT * FROM hnsw_verify('long_idx') LIMIT 20" >&2
        exit 1
    fi
}
orphans_seen=0
for round in 1 2 3; do
    before=$(replays)
    "$PG_BIN/pgbench" -n -h "$dir" -p "$port" -U postgres -c 2 -j 2 -T 30 -f "$work/long.sql" "$db" \
        >"$work/pgbench.log" 2>&1 &
    bench=$!
    sleep 1.$((round * 2))
    kill_backend_running 'INSERT INTO long%' || { echo "crash recovery: no long insert to kill" >&2; exit 1; }
    wait "$bench" || true
    wait_recovered "$before"
    orphans_seen=$((orphans_seen + $(orphans_of long_idx)))
    q -c "VACUUM long"
    long_check "16,000-d insert killed, round $round"
done
# Then 30 times a loop of such inserts cancelled (pg_cancel_backend) after 0.4 s; the
# insert checks for interrupts between the pieces of its chain, so a cancel arriving
# while the row is stored or its chain is written stops it there.
for _ in $(seq 30); do
    cancel_insert_loop long 0.4
done
cancelled_orphans=$(orphans_of long_idx)
q -c "VACUUM long"
long_check "16,000-d inserts cancelled"
[ "$cancelled_orphans" -gt 0 ] ||
    { echo "crash recovery: 30 cancelled inserts left no chain tuple behind to free" >&2; exit 1; }
# The same cancels on a table whose heap is large (1,300 pages of filler rows without
# vectors, which the index does not hold), until one leaves chain tuples: its few dead
# rows make VACUUM skip its index pass (PostgreSQL 14 and later: "index scan bypassed"),
# so no bulk delete runs and amvacuumcleanup frees them instead.
q <<'SQL'
CREATE TABLE long2 (id serial, filler text, v vector(16000)) WITH (autovacuum_enabled = false);
INSERT INTO long2 (filler) SELECT string_agg(md5(i::text || j::text), '') FROM generate_series(1, 20000) i,
    generate_series(1, 16) j GROUP BY i;
INSERT INTO long2 (v) SELECT v FROM long_src WHERE id <= 30;
CREATE INDEX long2_idx ON long2 USING hnsw (v vector_l2_ops);
VACUUM long2;
SQL
bypass_orphans=0
for _ in $(seq 12); do
    cancel_insert_loop long2 0.1
    bypass_orphans=$(orphans_of long2_idx)
    [ "$bypass_orphans" -gt 0 ] && break
    q -c "VACUUM long2" # the next attempt's dead rows alone are few
done
[ "$bypass_orphans" -gt 0 ] || { echo "crash recovery: 12 cancels on long2 left no chain tuple" >&2; exit 1; }
vacuum_log=$(q -c "VACUUM (VERBOSE) long2" 2>&1)
if [ "$(q -At -c "SHOW server_version_num")" -ge 140000 ] && ! grep -q "index scan bypassed" <<<"$vacuum_log"; then
    echo "crash recovery: VACUUM of long2 did not skip its index pass:" >&2
    echo "$vacuum_log" >&2
    exit 1
fi
left=$(q -At -c "SELECT count(*) FROM hnsw_verify('long2_idx')")
[ "$left" = 0 ] ||
    { echo "crash recovery: after a VACUUM without bulk delete, long2_idx has $left problems" >&2; exit 1; }
long_rows=$(q -At -c "SELECT count(*) FROM long")
found=$(q -At -c "SET enable_seqscan = off; SELECT id FROM long ORDER BY v <-> (SELECT v FROM long WHERE id = 7) LIMIT 1")
[ "$found" = 7 ] || { echo "crash recovery: a search for row 7 of long found '$found'" >&2; exit 1; }

echo "crash recovery: ok (kill -9 of an inserting backend 3 times: $inserted committed rows; kill -9 of" \
    "VACUUM in $vacuum_kills of 3 rounds ($pending_seen left flagged elements, $relink_seen relink_pending set and" \
    "$unlinked unlinked live elements for the next VACUUM, which cleared the flag): $after_vacuum rows; pg_ctl stop" \
    "-m immediate during a parallel build twice: no index left, $after_build rows; an all-zero page read as" \
    "free, initialised by VACUUM and in the FSM: $after_zero rows; each time WAL replayed, VACUUM ok, every" \
    "row found at ef_search 1000, hnsw_verify empty; the unlogged table came back empty and usable; kill -9 of" \
    "a 16,000-d insert 3 times and 30 cancels of insert loops: $orphans_seen and $cancelled_orphans chain tuples" \
    "of no element left, freed by VACUUM, $long_rows rows all in the index; $bypass_orphans left where VACUUM" \
    "skipped its index pass, freed by its cleanup)"
