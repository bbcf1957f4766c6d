#!/usr/bin/env bash
# Installs what building and testing pgvec_hnsw needs, when it is missing:
# Debian's PostgreSQL 15 with its server headers, clang for bindgen, sudo, and
# cargo-pgrx 0.18.1 initialised for that PostgreSQL. Idempotent; used by
# tests/run.sh and benches/main_job.sh.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo python3-venv; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "0\.18\.1"; then
    echo "setup: installing cargo-pgrx 0.18.1 (about 10 minutes)"
    cargo install cargo-pgrx --version 0.18.1 --locked
fi

if ! grep -qs "^pg15 *= *\"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
    cargo pgrx init --pg15 "$PG_CONFIG"
fi
