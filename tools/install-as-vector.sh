#!/usr/bin/env bash
# Makes an installed pgvec_hnsw available under pgvector's extension name as well, for
# frameworks that run `CREATE EXTENSION IF NOT EXISTS vector` themselves (LangChain,
# LlamaIndex, Django migrations) and tools that read
# `SELECT extversion FROM pg_extension WHERE extname = 'vector'`. Usage:
#
#   tools/install-as-vector.sh PG_CONFIG            install the name `vector`
#   tools/install-as-vector.sh PG_CONFIG --remove   take it away again
#
# Run it after pgvec_hnsw itself is installed for that PostgreSQL (tools/install.sh).
# It writes `vector.control` (the same library, `$libdir/pgvec_hnsw`) and
# `vector--VERSION.sql` (a copy of pgvec_hnsw's install script) into the extension
# directory. VERSION is PGVECTOR_LEVEL below: the pgvector release whose features
# (the vector type, its operators, the hnsw access method) a tool that checks
# extversion may count on. It refuses, changing nothing, where a `vector.control` that
# it did not write is there: that is pgvector's own, and both cannot share the name.
# The two names can be installed together but not created in one database (both
# define the type `vector`). Unlike pgvector, there is no ivfflat access method (and no
# ivfflat.probes), and the extension is not relocatable (ALTER EXTENSION … SET SCHEMA).
set -euo pipefail

PGVECTOR_LEVEL=0.5.1
MARK="# written by pgvec_hnsw's tools/install-as-vector.sh"
pg_config=${1:?usage: install-as-vector.sh PG_CONFIG [--remove]}
as_root() { if [ -w "$extdir" ]; then "$@"; else sudo -n "$@"; fi; }
extdir=$("$pg_config" --sharedir)/extension
control=$extdir/vector.control

ours=$extdir/vector--$PGVECTOR_LEVEL.sql
foreign=$(ls "$extdir"/vector--*.sql 2>/dev/null | grep -vxF "$ours" || true)
if { [ -f "$control" ] && ! grep -qxF "$MARK" "$control"; } || [ -n "$foreign" ] ||
    { [ -f "$ours" ] && [ ! -f "$control" ]; }; then
    echo "install-as-vector.sh: pgvector's files (or another extension's named vector) are in $extdir; not touching them." >&2
    echo "Remove pgvector from this PostgreSQL first, or use CREATE EXTENSION pgvec_hnsw." >&2
    exit 1
fi

if [ "${2:-}" = --remove ]; then
    as_root rm -f "$control" "$ours"
    echo "install-as-vector.sh: the name vector is removed from $extdir (databases that created it keep it until DROP EXTENSION vector)"
    exit 0
fi

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$extdir/pgvec_hnsw.control" 2>/dev/null || true)
script=$extdir/pgvec_hnsw--$version.sql
if [ -z "$version" ] || [ ! -f "$script" ]; then
    echo "install-as-vector.sh: pgvec_hnsw is not installed in $extdir; install it first" >&2
    exit 1
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<EOF
$MARK
# pgvec_hnsw $version under pgvector's extension name
comment = 'vector data type and hnsw access method (pgvec_hnsw $version, pgvector-compatible)'
default_version = '$PGVECTOR_LEVEL'
module_pathname = '\$libdir/pgvec_hnsw'
relocatable = false
superuser = true
trusted = false
EOF
as_root install -m 644 "$script" "$ours"
as_root install -m 644 "$tmp" "$control"
echo "install-as-vector.sh: CREATE EXTENSION vector now creates pgvec_hnsw $version (extversion $PGVECTOR_LEVEL)"
