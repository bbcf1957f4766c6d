#!/usr/bin/env bash
# Crash safety of the hnsw index: pgbench clients insert rows while the postmaster is
# killed with SIGKILL; after restart (WAL replay of the GenericXLog records) every
# committed row must be in the index and found by a search for its own vector (see
# items_check in workload.sh).
# Usage: crash_recovery.sh CLUSTER_DIR PORT (a cluster started by pgcluster.sh).
set -euo pipefail
dir=$1 port=$2
source "$(dirname "$0")/pgcluster.sh"
source "$(dirname "$0")/workload.sh"
items_setup "$dir" "$port" pgvec_crash 1000
script=$(items_insert_script)
"$PG_BIN/pgbench" -n -h "$dir" -p "$port" -U postgres -c 4 -j 2 -T 20 -f "$script" pgvec_crash >/dev/null 2>&1 &
bench=$!
sleep 4
postmaster=$(head -1 "$dir/data/postmaster.pid")
kill -9 "$postmaster"
wait "$bench" || true
rm -f "$script"
# Backends exit once they notice the postmaster is gone. A killed postmaster whose
# parent does not reap it stays a zombie, which PostgreSQL's lock-file check would
# take for a live server: remove the stale lock files then.
for _ in $(seq 50); do
    pgrep -f -- "-D $dir/data" >/dev/null || break
    [ "$(awk '{print $3}' "/proc/$postmaster/stat" 2>/dev/null)" = Z ] &&
        ! pgrep -f "postgres: .*pgvec_crash" >/dev/null && break
    sleep 0.2
done
if [ "$(awk '{print $3}' "/proc/$postmaster/stat" 2>/dev/null)" = Z ]; then
    rm -f "$dir/data/postmaster.pid" "$dir/.s.PGSQL.$port.lock"
fi
cluster_restart "$dir"
grep -q "redo done" "$dir/server.log" || { echo "crash recovery: no WAL replay seen"; exit 1; }
read -r total missing tids < <(items_unfound "$dir" "$port" pgvec_crash)
if [ "$total" -le 1000 ] || ! items_check "$total" "$missing" "$tids"; then
    echo "crash recovery: $total rows after recovery, $tids TIDs in the index, $missing not found by a search"
    exit 1
fi
echo "crash recovery: ok ($total committed rows after kill -9 and WAL replay, $tids TIDs in the index," \
    "$missing missed by a search at ef_search 1000)"
