#!/usr/bin/env bash
# Installs what building and testing pgvec_hnsw needs, when it is missing: clang for
# bindgen, sudo, python3-venv, cargo-pgrx 0.18.1, and each PostgreSQL major version
# named (default 15) with its server headers, by tools/install-postgres.sh (15 is
# Debian's own); then `cargo pgrx init` with every version installed so far.
# Idempotent; used by tests/run.sh, benches/main_job.sh and tools/install.sh.
# Usage: setup.sh [N | N=PG_CONFIG …] (N=PG_CONFIG: that PostgreSQL, installed by other
# means, e.g. Debian's or PGDG's postgresql-server-dev-N).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(15)

missing=()
for pkg in postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo python3-venv zlib1g-dev; do
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

# pgrx's config lists every version it may build for, and its build fails on one whose
# pg_config is gone: such lines are dropped. `cargo pgrx init` adds to the rest.
config=${PGRX_HOME:-$HOME/.pgrx}/config.toml
declare -A pg_configs
if [ -f "$config" ]; then
    kept=$(mktemp)
    while IFS= read -r line; do
        name=$(echo "${line%%=*}" | tr -d ' ') path=$(echo "${line#*=}" | tr -d ' "')
        if [[ $name =~ ^pg1[0-9]$ ]]; then
            [ -x "$path" ] || continue
            pg_configs[$name]=$path
        fi
        echo "$line" >>"$kept"
    done <"$config"
    cmp -s "$kept" "$config" || cp "$kept" "$config"
    rm -f "$kept"
fi
changed=false
for v in "${versions[@]}"; do
    if [[ $v == *=* ]]; then # N=PATH: that pg_config (a PostgreSQL the user already has)
        path=${v#*=} v=${v%%=*}
    else
        path=$(bash "$repo/tools/install-postgres.sh" "$v" | tail -1)
    fi
    if [ "${pg_configs[pg$v]:-}" != "$path" ]; then
        pg_configs[pg$v]=$path
        changed=true
    fi
done
if $changed; then
    args=()
    for name in "${!pg_configs[@]}"; do args+=("--$name" "${pg_configs[$name]}"); done
    cargo pgrx init "${args[@]}"
fi
