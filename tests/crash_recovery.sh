#!/usr/bin/env bash
# Crash safety of the hnsw index: pgbench clients insert rows while the postmaster is
# killed with SIGKILL; after restart (WAL replay of the GenericXLog records) every
# committed row must be found by an index scan for its own vector.
# Usage: crash_recovery.sh CLUSTER_DIR PORT (a cluster started by pgcluster.sh).
set -euo pipefail
dir=$1 port=$2
source "$(dirname "$0")/pgcluster.sh"
psql=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d pgvec_crash)
/usr/lib/postgresql/15/bin/createdb -h "$dir" -p "$port" -U postgres pgvec_crash
"${psql[@]}" <<'SQL'
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16));
INSERT INTO items (embedding)
    SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16) d, generate_series(1, 1000) r GROUP BY r;
CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
CHECKPOINT;
SQL
script=$(mktemp)
echo "INSERT INTO items (embedding) SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16);" >"$script"
chmod 644 "$script"
/usr/lib/postgresql/15/bin/pgbench -n -h "$dir" -p "$port" -U postgres -c 4 -j 2 -T 20 -f "$script" pgvec_crash \
    >/dev/null 2>&1 &
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
read -r total missing < <("${psql[@]}" -At -F ' ' <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SELECT (SELECT count(*) FROM items),
       (SELECT count(*) FROM items i WHERE NOT EXISTS (
            SELECT 1 FROM (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 5) n WHERE n.id = i.id));
SQL
)
if [ "$missing" != 0 ] || [ "$total" -le 1000 ]; then
    echo "crash recovery: $total rows after recovery, $missing not found by the index"
    exit 1
fi
echo "crash recovery: ok ($total committed rows after kill -9 and WAL replay, all found)"
