#!/usr/bin/env bash
# Quality of the hnsw index after churn, on the first 10,000 rows of the real dataset
# (../shared/data/wordnet-minilm-384, or $PGVEC_HNSW_DATA) with vector_cosine_ops:
#   1. delete half the rows, VACUUM: recall@10 at ef_search 40 over the survivors
#      (ground truth by exact sequential scan, 200 queries) must be >= 0.98; then
#      half of the survivors (three in four in all), VACUUM: again >= 0.98;
#   2. three cycles of delete-all / VACUUM / reinsert-all: the index must stay
#      <= 1.05 x its size after the build.
# hnsw_verify must be empty after every step.
# Usage: vacuum_churn.sh SOCKET_DIR PORT.
set -euo pipefail
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
data=${PGVEC_HNSW_DATA:-$here/../../shared/data/wordnet-minilm-384}
[ -f "$data/base.fvecs" ] || { echo "vacuum churn: dataset not found at $data"; exit 1; }
db=pgvec_churn
"$PG_BIN/createdb" -h "$host" -p "$port" -U postgres "$db"
q() { items_psql "$host" "$port" "$db" "$@"; }
q <<'SQL'
CREATE EXTENSION pgvec_hnsw;
CREATE TABLE docs (id int PRIMARY KEY, embedding vector(384));
CREATE TABLE queries (id int PRIMARY KEY, embedding vector(384));
SQL
python3 "$here/fvecs_copy.py" "$data/base.fvecs" 10000 | q -c "\copy docs FROM STDIN"
python3 "$here/fvecs_copy.py" "$data/query.fvecs" 200 | q -c "\copy queries FROM STDIN"
q -c "CREATE INDEX docs_idx ON docs USING hnsw (embedding vector_cosine_ops)" -c "CREATE TABLE saved AS SELECT * FROM docs"

verify() {
    local n
    n=$(q -At -c "SELECT count(*) FROM hnsw_verify('docs_idx')")
    if [ "$n" != 0 ]; then
        echo "vacuum churn ($1): hnsw_verify found $n problems:"
        q -At -c "SELECT * FROM hnsw_verify('docs_idx') LIMIT 20"
        exit 1
    fi
}

# Recall@10 of the index at ef_search 40 against an exact scan, over the current rows.
recall() {
    q -At <<'SQL'
SET enable_seqscan = off;
SET hnsw.ef_search = 40;
CREATE TEMP TABLE approx AS
    SELECT q.id AS qid, array(SELECT d.id FROM docs d ORDER BY d.embedding <=> q.embedding LIMIT 10) AS ids
    FROM queries q;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
    SELECT q.id AS qid, array(SELECT d.id FROM docs d ORDER BY d.embedding <=> q.embedding LIMIT 10) AS ids
    FROM queries q;
SELECT round(avg((SELECT count(*) FROM unnest(a.ids) i WHERE i = ANY (e.ids)) / 10.0), 4)
    FROM approx a JOIN exact e USING (qid);
SQL
}

verify "after the build"
built=$(q -At -c "SELECT pg_relation_size('docs_idx')")
before=$(recall)
q -c "DELETE FROM docs WHERE id % 2 = 0"
start=$(date +%s.%N)
q -c "VACUUM docs"
vacuum_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
verify "after deleting half"
after=$(recall)
live=$(q -At -c "SELECT live_elements FROM hnsw_index_stats('docs_idx')")
if [ "$live" != 5000 ] || awk -v r="$after" 'BEGIN { exit !(r < 0.98) }'; then
    echo "vacuum churn: after deleting half, $live live elements (expected 5000), recall@10 $after (< 0.98)"
    exit 1
fi
# Then three in four deleted (VACUUM's repair searches from the entry point and
# routes through deleted elements): recall over the 2,500 survivors stays >= 0.98.
q -c "DELETE FROM docs WHERE id % 4 = 1" -c "VACUUM docs"
verify "after deleting three in four"
quarter=$(recall)
if awk -v r="$quarter" 'BEGIN { exit !(r < 0.98) }'; then
    echo "vacuum churn: after deleting three rows in four, recall@10 $quarter (< 0.98)"
    exit 1
fi
q -c "INSERT INTO docs SELECT * FROM saved WHERE id % 2 = 0 OR id % 4 = 1"
sizes=""
for cycle in 1 2 3; do
    q -c "DELETE FROM docs" -c "VACUUM docs"
    verify "cycle $cycle, after delete-all and VACUUM"
    q -c "INSERT INTO docs SELECT * FROM saved"
    verify "cycle $cycle, after reinsert-all"
    sizes="$sizes $(q -At -c "SELECT pg_relation_size('docs_idx')")"
done
last=${sizes##* }
ratio=$(awk -v a="$last" -v b="$built" 'BEGIN { printf "%.3f", a / b }')
final=$(recall)
if awk -v r="$ratio" 'BEGIN { exit !(r > 1.05) }'; then
    echo "vacuum churn: index grew to $ratio x its built size (bytes after each cycle:$sizes)"
    exit 1
fi
echo "vacuum churn: ok (10k real rows: recall@10 at ef_search 40 $before after the build," \
    "$after over the 5,000 survivors after VACUUM (${vacuum_s}s), $quarter over the 2,500 left after" \
    "deleting three in four; after 3 delete-all/VACUUM/reinsert" \
    "cycles the index is $ratio x its built size of $built bytes, recall $final; hnsw_verify empty throughout)"
