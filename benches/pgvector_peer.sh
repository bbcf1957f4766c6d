#!/usr/bin/env bash
# Installs pgvector, the peer the main job measures pgvec_hnsw against, into the
# PostgreSQL of PG_CONFIG (default: Debian's 15), when no pgvector with HNSW (≥ 0.5) is
# there yet. Debian 12 has none, so this takes the source package `pgvector` of Debian 13
# (trixie) from the machine's own Debian mirror through a private apt configuration (its
# own sources list, lists and cache under target/pgvector-peer: the system's apt state
# is left alone) and builds it with PGXS. Idempotent; prints the installed version.
# Exit status 1 (with the reason) when it cannot be installed: callers go on without it.
# Prints "pgvector V installed" when this run installed it (the main job then removes
# it at its end with --remove, so that the machine keeps no pgvector of ours).
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$repo/target/pgvector-peer
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

control=$("$PG_CONFIG" --sharedir)/extension/vector.control
major=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
src=$work/build-pg$major
if [ "${1:-}" = --remove ]; then
    [ -f "$src/Makefile" ] && as_root make -C "$src" -s uninstall PG_CONFIG="$PG_CONFIG" >/dev/null
    exit 0
fi
installed() {
    [ -f "$control" ] && sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$control"
}
if grep -qs "written by pgvec_hnsw's tools/install-as-vector.sh" "$control"; then
    echo "pgvector: the name vector is pgvec_hnsw's here (tools/install-as-vector.sh $PG_CONFIG --remove frees it)"
    exit 1
fi
version=$(installed || true)
case "$version" in
    0.[5-9].* | 0.[1-9][0-9].* | [1-9].*) echo "pgvector $version"; exit 0 ;;
esac
if [ -n "$version" ] && dpkg -S "$control" >/dev/null 2>&1; then
    echo "pgvector: $version (no hnsw) is installed by $(dpkg -S "$control" | cut -d: -f1); not overwriting a package's files"
    exit 1
fi

mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
mirror=$(sed -n 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} trixie main" \
    >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root
    -o Acquire::Retries=0 -o Acquire::http::Timeout=15)
(
    cd "$work"
    if ! ls pgvector_*.orig.tar.* >/dev/null 2>&1; then
        apt-get "${apt_opts[@]}" -qq update &&
            apt-get "${apt_opts[@]}" -qq source --download-only pgvector >/dev/null
    fi
) || { echo "pgvector: the Debian source package could not be fetched"; exit 1; }

# One build tree per PostgreSQL major version (PGXS builds for one pg_config at a time).
if [ ! -f "$src/Makefile" ]; then
    mkdir -p "$src"
    tar -xf "$(ls "$work"/pgvector_*.orig.tar.* | head -1)" -C "$src" --strip-components=1
fi
make -C "$src" -s -j2 PG_CONFIG="$PG_CONFIG" >"$work/build.log" 2>&1 &&
    as_root make -C "$src" -s install PG_CONFIG="$PG_CONFIG" >>"$work/build.log" 2>&1 ||
    { tail -20 "$work/build.log"; echo "pgvector: build failed"; exit 1; }
echo "pgvector $(installed) installed"
