#!/usr/bin/env bash
# The test command (README, .ci/run): sets up what is missing, then runs
#   1. `cargo pgrx test pg15`: plain #[test]s (Postgres-free code) and #[pg_test]s
#      inside a PostgreSQL backend;
#   2. pg_regress: the SQL files in tests/pg_regress/sql against a throwaway cluster,
#      compared with tests/pg_regress/expected;
#   3. shell tests against that cluster: tests/concurrent_inserts.sh (pgbench clients
#      inserting into one hnsw index), tests/build_scale.sh (over-budget and CONCURRENTLY
#      builds), tests/cancel.sh (pg_cancel_backend stops a build, hnsw_verify and
#      VACUUM's bulk delete at once), tests/vacuum_churn.sh (recall and size after
#      deletes and VACUUM on the real data), tests/vacuum_concurrency.sh (inserts,
#      deletes and queries beside a VACUUM loop), tests/crash_recovery.sh (kill -9
#      during inserts and during VACUUM), tests/replication.sh (a hot standby returns
#      the primary's results).
# Prints one closing line `tests: N passed, M failed` and exits non-zero on any failure.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tests/setup.sh || exit 1
source tests/pgcluster.sh

work=$(mktemp -d /tmp/pgvec_hnsw_test.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$work"
trap 'cluster_stop "$work/regress"; rm -rf "$work"' EXIT
passed=0
failed=0

# 1. cargo pgrx test (as root it needs a data directory owned by postgres)
runas=()
[ "$(id -u)" = 0 ] && runas=(--runas postgres --pgdata "$work/pgrx-data")
cargo pgrx test pg15 "${runas[@]}" 2>&1 | tee "$work/cargo-test.log"
cargo_status=${PIPESTATUS[0]}
while read -r p f; do
    passed=$((passed + p))
    failed=$((failed + f))
done < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$work/cargo-test.log")
if [ "$cargo_status" != 0 ] && ! grep -q "^test result: FAILED" "$work/cargo-test.log"; then
    echo "cargo pgrx test failed before running tests (exit $cargo_status)"
    failed=$((failed + 1))
fi

# 2. pg_regress against a throwaway cluster with the extension installed
if cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config >"$work/install.log" 2>&1; then
    port=${PGVEC_TEST_PORT:-54329}
    cluster_start "$work/regress" "$port"
    tests=$(cd tests/pg_regress/sql && ls ./*.sql | sed 's|^\./||; s|\.sql$||' | sort)
    mkdir -p "$work/regress-out"
    [ "$(id -u)" = 0 ] && chown postgres: "$work/regress-out"
    # shellcheck disable=SC2086
    as_owner "$PG_REGRESS" \
        --host="$work/regress" --port="$port" --user=postgres \
        --inputdir="$repo/tests/pg_regress" --outputdir="$work/regress-out" \
        --dbname=pgvec_regress --load-extension=pgvec_hnsw $tests 2>&1 | tee "$work/regress.log"
    regress_status=${PIPESTATUS[0]}
    # Keep the results and diffs where pg_regress users look for them (git-ignored).
    rm -rf tests/pg_regress/results tests/pg_regress/regression.diffs
    cp -r "$work/regress-out/results" tests/pg_regress/results 2>/dev/null || true
    if [ -f "$work/regress-out/regression.diffs" ]; then
        cp "$work/regress-out/regression.diffs" tests/pg_regress/regression.diffs
        cat tests/pg_regress/regression.diffs
    fi
    total=$(echo "$tests" | wc -w)
    ok=$(grep -cE "\.\.\. ok|^ok [0-9]+ " "$work/regress.log" || true)
    bad=$((total - ok))
    if [ "$regress_status" != 0 ] && [ "$bad" = 0 ]; then
        echo "pg_regress failed (exit $regress_status)"
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    # 3. concurrent inserts from several sessions; quality after churn on the real
    #    data; inserts, deletes and queries beside a VACUUM loop; crashes during
    #    inserts and during VACUUM; a streaming hot standby — on the same cluster
    for script in concurrent_inserts build_scale cancel vacuum_churn vacuum_concurrency replication crash_recovery; do
        if bash "tests/$script.sh" "$work/regress" "$port"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
else
    cat "$work/install.log"
    echo "cargo pgrx install failed"
    failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$cargo_status" = 0 ]
