#!/usr/bin/env bash
# The main job (README): set up what is missing, build and install the extension
# (release), start a throwaway PostgreSQL on a loopback port with its socket under
# /tmp, load the wordnet-minilm-384 embeddings, build the hnsw index, query it at
# several ef_search and print recall and speed beside pgvector's (installed from Debian's
# source package by benches/pgvector_peer.sh) and hnswlib's (benches/hnsw_bench.py).
#
#   --pg N       PostgreSQL N, 13 to 18 (default 15, Debian's own: nothing downloaded;
#                others come from tools/install-postgres.sh)
#   --filtered   the filtered-query benchmark instead (benches/filtered_bench.py:
#                iterative scans at four selectivities, beside pgvector's; its own
#                arguments: --rows, --data, --queries, --m, --ef-construction,
#                --ef-search 40,100)
#
# Other arguments go to hnsw_bench.py: --rows N, --data DIR, --m, --ef-construction,
# --ef-search 10,20,40, --workers, --maintenance-work-mem, --queries, --no-hnswlib,
# --no-pgvector, --scale-ip, --vector-only (no halfvec and bit+rerank rows).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
major=15 args=() bench=benches/hnsw_bench.py
while [ $# -gt 0 ]; do
    case "$1" in
        --pg) major=$2; shift 2 ;;
        --filtered) bench=benches/filtered_bench.py; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
bash tests/setup.sh "$major"
pg_config=$(bash tools/install-postgres.sh "$major" | tail -1)
export PG_BIN
PG_BIN=$("$pg_config" --bindir)
source tests/pgcluster.sh

echo "main job: building and installing pgvec_hnsw (release) for $("$pg_config" --version)"
cargo pgrx install --release --pg-config "$pg_config" >target/install.log 2>&1 ||
    { cat target/install.log; exit 1; }
peer=$(PG_CONFIG=$pg_config bash benches/pgvector_peer.sh) || true
echo "${peer:-main job: going on without pgvector}"

venv=target/venv
if ! "$venv/bin/python" -c "import numpy, psycopg, hnswlib" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q numpy "psycopg[binary]" hnswlib
fi

work=$(mktemp -d /tmp/pgvec_hnsw_main.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$work"
remove_peer() { # a pgvector this run installed goes again (tests/dropin.sh needs the name)
    if [[ $peer == *" installed" ]]; then PG_CONFIG=$pg_config bash benches/pgvector_peer.sh --remove; fi
}
trap 'cluster_stop "$work/pg"; rm -rf "$work"; remove_peer' EXIT
port=${PGVEC_MAIN_PORT:-54330}
cluster_start "$work/pg" "$port" shared_buffers=1GB
"$venv/bin/python" "$bench" --host "$work/pg" --port "$port" "${args[@]}"
