#!/usr/bin/env bash
# Builds pgvec_hnsw (release) and installs it into a PostgreSQL. Usage:
#
#   tools/install.sh [--pg N | --pg-config PATH] [--as-vector]
#
# --pg N           PostgreSQL N (13 to 18): the one tools/install-postgres.sh puts under
#                  its prefix (installed first when missing; 15 is Debian's own)
# --pg-config PATH the PostgreSQL of that pg_config, e.g. a Debian/PGDG package's
#                  /usr/lib/postgresql/N/bin/pg_config (its server headers are needed:
#                  postgresql-server-dev-N)
# --as-vector      also under pgvector's extension name (tools/install-as-vector.sh)
#
# Default: --pg 15. Sets up cargo-pgrx 0.18.1 for that version first (tests/setup.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
major=15 pg_config="" as_vector=false
while [ $# -gt 0 ]; do
    case "$1" in
        --pg) major=$2; shift 2 ;;
        --pg-config) pg_config=$2; shift 2 ;;
        --as-vector) as_vector=true; shift ;;
        *) echo "usage: install.sh [--pg N | --pg-config PATH] [--as-vector]" >&2; exit 2 ;;
    esac
done
if [ -n "$pg_config" ]; then
    major=$("$pg_config" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
    bash "$repo/tests/setup.sh" "$major=$pg_config" >&2
else
    bash "$repo/tests/setup.sh" "$major" >&2
    pg_config=$(bash "$repo/tools/install-postgres.sh" "$major" | tail -1)
fi
cd "$repo"
# A PostgreSQL of the system's packages is root's: as another user, copy with sudo.
sudo=()
for dir in "$("$pg_config" --pkglibdir)" "$("$pg_config" --sharedir)/extension"; do
    [ -w "$dir" ] || sudo=(--sudo)
done
cargo pgrx install --release --pg-config "$pg_config" "${sudo[@]}"
if $as_vector; then
    bash "$repo/tools/install-as-vector.sh" "$pg_config"
fi
