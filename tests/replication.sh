#!/usr/bin/env bash
# A streaming hot standby (pg_basebackup -R, on loopback) must return the same top-10
# ids as the primary, through its own index scans, after the build, after inserts,
# and after deletes and VACUUM (every index change reaches it as WAL: GenericXLog
# records, and the build's pages logged at its end).
# Usage: replication.sh PRIMARY_SOCKET_DIR PRIMARY_PORT (a cluster from pgcluster.sh).
set -euo pipefail
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/pgcluster.sh"
source "$here/workload.sh"
db=pgvec_replication
standby=$(mktemp -d /tmp/pgvec_standby.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$standby"
sport=$((port + 100))
trap 'cluster_stop "$standby"; rm -rf "$standby"' EXIT

# -c fast: an immediate checkpoint, not a spread one (minutes after the other tests).
as_owner "$PG_BIN/pg_basebackup" -h "$host" -p "$port" -U postgres -D "$standby/data" -R -X stream -c fast >/dev/null
opts="-p $sport -k $standby -c listen_addresses=127.0.0.1 -c hot_standby=on"
echo "$opts" >"$standby/opts"
cluster_restart "$standby"

"$PG_BIN/createdb" -h "$host" -p "$port" -U postgres "$db"
primary() { items_psql "$host" "$port" "$db" "$@"; }
replica() { items_psql "$standby" "$sport" "$db" "$@"; }
primary <<'SQL'
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE sync_marker (at timestamptz);
-- No autovacuum: its cleanup could change the primary's index between catching up
-- and the primary's queries (or an autoanalyze's snapshot keep VACUUM's rows).
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(16)) WITH (autovacuum_enabled = false);
INSERT INTO items (embedding)
    SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16) d, generate_series(1, 3000) r GROUP BY r;
CREATE TABLE probes AS
    SELECT r AS id, array_agg(random())::real[]::vector AS embedding FROM generate_series(1, 16) d, generate_series(1, 30) r GROUP BY r;
CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
-- A build's or an insert's pruning can leave an element without in-links until
-- VACUUM relinks it (amvacuumcleanup, when the build or the inserts marked the
-- metapage for it); hnsw_verify reports it. Hence VACUUM first.
VACUUM items;
SQL

# Waits until the standby has replayed everything the primary has written. VACUUM
# commits without an xid and does not flush, so its last records may sit in the WAL
# buffers until the WAL writer's next round; a commit that wrote WAL flushes them (a
# transaction that only took an xid, such as SELECT txid_current(), commits
# asynchronously: PostgreSQL flushes a commit only when the transaction wrote WAL
# before it), then the flush position is the target (the insert position could lie
# past a page header that replay never reaches).
catch_up() {
    local lsn
    lsn=$(primary -At -c "INSERT INTO sync_marker VALUES (now())" -c "SELECT pg_current_wal_flush_lsn()" | tail -1)
    for _ in $(seq 300); do
        [ "$(replica -At -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    echo "replication: the standby did not catch up with $lsn"
    exit 1
}

# The top-10 ids of every probe, one line per probe, by index scans.
top10() {
    "$1" -At <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 40;
SELECT p.id, array(SELECT i.id FROM items i ORDER BY i.embedding <-> p.embedding LIMIT 10)
    FROM probes p ORDER BY p.id;
SQL
}

compare() {
    local when=$1 plan
    catch_up
    plan=$(replica -At -c "SET enable_seqscan = off" \
        -c "EXPLAIN SELECT id FROM items ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10")
    if ! grep -q "Index Scan using items_embedding_idx" <<<"$plan"; then
        echo "replication ($when): the standby's plan does not use the index:"
        echo "$plan"
        exit 1
    fi
    if ! diff <(top10 primary) <(top10 replica) >/dev/null; then
        echo "replication ($when): the standby's top-10 differ from the primary's:"
        { diff <(top10 primary) <(top10 replica) || true; } | head -10
        exit 1
    fi
    local problems
    problems=$(replica -At -c "SELECT * FROM hnsw_verify('items_embedding_idx') LIMIT 20")
    if [ -n "$problems" ]; then
        echo "replication ($when): hnsw_verify on the standby found problems:"
        echo "$problems"
        echo "(on the primary: $(primary -At -c "SELECT count(*) FROM hnsw_verify('items_embedding_idx')"))"
        exit 1
    fi
}

compare "after the build"
primary -c "INSERT INTO items (embedding)
    SELECT array_agg(random())::real[]::vector FROM generate_series(1, 16) d, generate_series(1, 1000) r GROUP BY r" \
    -c "VACUUM items"
compare "after 1,000 inserts"
primary -c "DELETE FROM items WHERE id % 2 = 0" -c "VACUUM items"
compare "after deleting half and VACUUM"
rows=$(replica -At -c "SELECT count(*) FROM items")
echo "replication: ok (the hot standby returned the primary's top-10 for 30 probes through" \
    "its index after the build, 1,000 inserts, and deletes + VACUUM ($rows rows); hnsw_verify empty there)"
