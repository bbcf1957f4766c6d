#!/usr/bin/env bash
# pgvec_hnsw under pgvector's extension name (tools/install-as-vector.sh):
#   1. where a vector.control it did not write is installed (pgvector's), the script
#      refuses and changes nothing (checked in a scratch extension directory, through
#      a pg_config that points there);
#   2. installed for this cluster's PostgreSQL, a framework's session as pgvector's
#      users write it: CREATE EXTENSION IF NOT EXISTS vector (twice), extversion,
#      a table, an hnsw index with options, SET LOCAL hnsw.ef_search, ORDER BY … LIMIT
#      through the index, pgvector's error text; DROP EXTENSION vector; then the name is
#      removed again (--remove), leaving the extension directory as it was.
# Usage: dropin.sh SOCKET_DIR PORT.
set -euo pipefail
shopt -s inherit_errexit
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/workload.sh"
script=$here/../tools/install-as-vector.sh
pg_config=$PG_BIN/pg_config
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# 1. refusal
mkdir -p "$work/share/extension"
printf "comment = 'vector data type and ivfflat and hnsw access methods'\ndefault_version = '0.8.0'\nmodule_pathname = '\$libdir/vector'\n" \
    >"$work/share/extension/vector.control"
cp "$work/share/extension/vector.control" "$work/pgvector.control"
printf '#!/bin/sh\n[ "$1" = --sharedir ] && echo %s/share && exit 0\nexec %s "$@"\n' "$work" "$pg_config" >"$work/pg_config"
chmod +x "$work/pg_config"
if bash "$script" "$work/pg_config" 2>"$work/refusal"; then
    echo "dropin: installed over pgvector's vector.control" >&2
    exit 1
fi
grep -q "not touching them" "$work/refusal" && cmp -s "$work/share/extension/vector.control" "$work/pgvector.control" &&
    [ "$(ls "$work/share/extension")" = vector.control ] ||
    { echo "dropin: the refusal changed files or said: $(cat "$work/refusal")" >&2; exit 1; }

# 2. CREATE EXTENSION vector
bash "$script" "$pg_config" >/dev/null
trap 'bash "$script" "$pg_config" --remove >/dev/null; rm -rf "$work"' EXIT
items_psql "$host" "$port" postgres -c "DROP DATABASE IF EXISTS pgvec_dropin" -c "CREATE DATABASE pgvec_dropin"
out=$(items_psql "$host" "$port" pgvec_dropin -At 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS vector;
SELECT 'extversion:' || extversion FROM pg_extension WHERE extname = 'vector';
CREATE TABLE documents (id bigserial PRIMARY KEY, content text, embedding vector(3));
INSERT INTO documents (content, embedding)
    SELECT 'doc ' || i, ARRAY[cos(i), sin(i), i / 1000.0]::vector FROM generate_series(1, 1000) i;
CREATE INDEX ON documents USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
ANALYZE documents;
BEGIN;
SET LOCAL hnsw.ef_search = 100;
EXPLAIN (COSTS OFF) SELECT id FROM documents ORDER BY embedding <=> '[1,0,0.5]' LIMIT 5;
SELECT 'index:' || string_agg(id::text, ',') FROM (SELECT id FROM documents ORDER BY embedding <=> '[1,0,0.5]' LIMIT 5) t;
SELECT 'exact:' || string_agg(id::text, ',') FROM (SELECT id FROM documents ORDER BY (embedding <=> '[1,0,0.5]') + 0 LIMIT 5) t;
COMMIT;
\set ON_ERROR_STOP 0
SELECT '[1,2]'::vector(3);
\set ON_ERROR_STOP 1
DROP EXTENSION vector CASCADE;
SQL
)
field() { sed -n "s/^$1://p" <<<"$out"; }
[ "$(field extversion)" = "$(sed -n "s/^PGVECTOR_LEVEL=//p" "$script")" ] &&
    grep -q "Index Scan using documents_embedding_idx" <<<"$out" &&
    [ -n "$(field index)" ] && [ "$(field index)" = "$(field exact)" ] &&
    grep -q "expected 3 dimensions, not 2" <<<"$out" ||
    { echo "dropin: the pgvector-style session printed:" >&2; echo "$out" >&2; exit 1; }
items_psql "$host" "$port" postgres -c "DROP DATABASE pgvec_dropin"
echo "dropin: ok (refused over pgvector's vector.control; CREATE EXTENSION IF NOT EXISTS vector gave extversion $(field extversion)," \
    "an hnsw index used by ORDER BY … LIMIT with the exact top-5 ($(field index)), pgvector's error text)"
