# Throwaway PostgreSQL 15 clusters for the tests and the main job.
# Source this file; it defines:
#   cluster_start DIR PORT [postgres -c options…]  initdb + start, socket in DIR
#   cluster_stop DIR                                 stop (fast) if running
#   cluster_restart DIR                              start again with the same options
#                                                    (after a crash)
#   cluster_kill DIR PORT                            kill -9 the postmaster, wait for its
#                                                    backends to go, clear stale locks
#   as_owner CMD ARGS…                               run a command as the cluster owner
#                                                    (the postgres user when root)
# The cluster listens on 127.0.0.1:PORT and on a Unix socket in DIR; initdb refuses
# root, so as root everything runs as the `postgres` user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

PG_REGRESS=${PG_REGRESS:-/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        sudo -u postgres "$@"
    else
        "$@"
    fi
}

cluster_start() {
    local dir=$1 port=$2
    shift 2
    local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off"
    local o
    for o in "$@"; do opts="$opts -c $o"; done
    cluster_stop "$dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log"; return 1; }
    echo "$opts" >"$dir/opts"
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w start >/dev/null ||
        { cat "$dir/server.log"; return 1; }
}

cluster_restart() {
    local dir=$1
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -o "$(cat "$dir/opts")" -l "$dir/server.log" -w start >/dev/null ||
        { cat "$dir/server.log"; return 1; }
}

cluster_stop() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

cluster_kill() {
    local dir=$1 port=$2 postmaster
    postmaster=$(head -1 "$dir/data/postmaster.pid")
    kill -9 "$postmaster"
    # Backends exit once they notice the postmaster is gone. A killed postmaster
    # whose parent does not reap it stays a zombie, which PostgreSQL's lock-file
    # check would take for a live server: remove the stale lock files then.
    local _
    for _ in $(seq 50); do
        pgrep -f -- "-D $dir/data" >/dev/null || break
        [ "$(awk '{print $3}' "/proc/$postmaster/stat" 2>/dev/null)" = Z ] &&
            ! pgrep -f "postgres: .* $port " >/dev/null && ! pgrep -P "$postmaster" >/dev/null && break
        sleep 0.2
    done
    if [ "$(awk '{print $3}' "/proc/$postmaster/stat" 2>/dev/null)" = Z ]; then
        rm -f "$dir/data/postmaster.pid" "$dir/.s.PGSQL.$port.lock"
    fi
}
