#!/usr/bin/env bash
# The main job (README): set up what is missing, build and install the extension
# (release), start a throwaway PostgreSQL 15 on a loopback port with its socket under
# /tmp, load the wordnet-minilm-384 embeddings, build the hnsw index, query it at
# several ef_search and print recall and speed beside pgvector's (installed from Debian's
# source package by benches/pgvector_peer.sh) and hnswlib's (benches/hnsw_bench.py).
# Extra arguments go to hnsw_bench.py: --rows N, --data DIR, --m, --ef-construction,
# --ef-search 10,20,40, --workers, --maintenance-work-mem, --queries, --no-hnswlib,
# --no-pgvector, --scale-ip.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tests/setup.sh
source tests/pgcluster.sh

echo "main job: building and installing pgvec_hnsw (release)"
cargo pgrx install --release --pg-config /usr/lib/postgresql/15/bin/pg_config >target/install.log 2>&1 ||
    { cat target/install.log; exit 1; }

bash benches/pgvector_peer.sh || echo "main job: going on without pgvector"

venv=target/venv
if ! "$venv/bin/python" -c "import numpy, psycopg, hnswlib" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q numpy "psycopg[binary]" hnswlib
fi

work=$(mktemp -d /tmp/pgvec_hnsw_main.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$work"
trap 'cluster_stop "$work/pg"; rm -rf "$work"' EXIT
port=${PGVEC_MAIN_PORT:-54330}
cluster_start "$work/pg" "$port" shared_buffers=1GB
"$venv/bin/python" benches/hnsw_bench.py --host "$work/pg" --port "$port" "$@"
