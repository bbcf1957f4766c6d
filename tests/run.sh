#!/usr/bin/env bash
# The test command (README, .ci/run): sets up what is missing (tests/setup.sh: every
# PostgreSQL version of the matrix, by tools/install-postgres.sh), then for each
# version N of PGVEC_PG_VERSIONS (default "15 13 14 16 17 18"):
#   1. `cargo pgrx test pgN`: plain #[test]s (Postgres-free code; on the first version
#      only) and #[pg_test]s inside a PostgreSQL N backend;
#   2. pg_regress: the SQL files in tests/pg_regress/sql against a throwaway cluster,
#      compared with tests/pg_regress/expected (NAME_N.out where a version prints
#      differently, PostgreSQL's own scheme for alternative outputs);
#   3. on the versions of PGVEC_SHELL_VERSIONS (default "15 18": Debian's own and the
#      newest), the shell tests
#      against that cluster: tests/concurrent_inserts.sh (pgbench clients inserting
#      into one hnsw index), tests/build_scale.sh (over-budget and CONCURRENTLY
#      builds), tests/cancel.sh (pg_cancel_backend stops a build, hnsw_verify and
#      VACUUM's bulk delete at once), tests/vacuum_churn.sh (recall and size after
#      deletes and VACUUM on the real data), tests/vacuum_concurrency.sh (inserts,
#      deletes and queries beside a VACUUM loop), tests/upgrade.sh (ALTER EXTENSION
#      UPDATE, pg_dump/pg_restore), tests/dropin.sh (CREATE EXTENSION vector through
#      tools/install-as-vector.sh), tests/iterative_cursor.sh (an iterative scan
#      paused in a cursor beside VACUUM and inserts), tests/replication.sh (a hot standby returns the
#      primary's results), tests/crash_recovery.sh (kill -9 during inserts and during
#      VACUUM).
# Prints a line `failed: pgN: WHAT` per failure, a line per version
# `pgN: P passed, F failed`, then the closing line
# `tests: N passed, M failed`; exits non-zero when any test fails or a version ran none.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
read -r -a versions <<<"${PGVEC_PG_VERSIONS:-15 13 14 16 17 18}"
shell_versions=" ${PGVEC_SHELL_VERSIONS:-15 18} "
bash tests/setup.sh "${versions[@]}" || { echo "tests: 0 passed, 1 failed (setup)"; exit 1; }

work=$(mktemp -d /tmp/pgvec_hnsw_test.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$work"
cleanup() {
    local bindir
    for bindir in "$work"/bindir-*; do
        [ -f "$bindir" ] && PG_BIN=$(cat "$bindir") bash -c "source tests/pgcluster.sh; cluster_stop '$work/regress-${bindir##*-}'"
    done
    rm -rf "$work"
}
trap cleanup EXIT
total_passed=0 total_failed=0 summary=() failures=() all_ok=true

# failure_message NAME LOG: one line of what the failing test NAME said in LOG: the
# lines after "Client Error:" for a #[pg_test], else the first lines of its panic
# message (libtest's "---- NAME stdout ----" section).
failure_message() {
    sed 's/\x1b\[[0-9;]*m//g' "$2" | awk -v head="---- $1 stdout ----" '
        $0 == head { on = 1; next }
        on && (/^---- / || /^failures:/) { exit }
        on && /^Client Error:/ { n = 0; text = ""; next }
        on && NF && n < 4 { text = (text == "" ? "" : text " ") $0; n++ }
        END { print text }' | cut -c1-400
}

# failed_tests LOG: the names libtest lists as failed at the end of LOG (the
# "failures:" section of names, which no server output interleaves).
failed_tests() {
    awk '/^failures:$/ { list = 1; names = 0; next }
        list && /^    [^ ]+$/ { print $1; names = 1; next }
        list && (NF || names) { list = 0 }' "$1"
}

# run_version N: every test on PostgreSQL N; adds to passed/failed.
run_version() {
    local v=$1 pg_config
    pg_config=$(bash tools/install-postgres.sh "$v" | tail -1)
    export PG_BIN PG_REGRESS
    PG_BIN=$("$pg_config" --bindir)
    PG_REGRESS=$("$pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress
    # shellcheck source=tests/pgcluster.sh
    source tests/pgcluster.sh
    echo "==== PostgreSQL $v ($pg_config)"
    local stage=$SECONDS

    # 1. cargo pgrx test (as root it needs a data directory owned by postgres); the
    #    plain #[test]s do not depend on the version: they run with the first one.
    local runas=() filter=()
    [ "$(id -u)" = 0 ] && runas=(--runas postgres --pgdata "$work/pgrx-data-$v")
    [ "$v" = "${versions[0]}" ] || filter=(pg_)
    cargo pgrx test "pg$v" "${runas[@]}" "${filter[@]}" 2>&1 | tee "$work/cargo-test-$v.log"
    local status=${PIPESTATUS[0]} p f ran=0
    while read -r p f; do
        passed=$((passed + p))
        failed=$((failed + f))
        ran=$((ran + p + f))
    done < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$work/cargo-test-$v.log")
    local name
    while read -r name; do
        failures+=("pg$v: $name: $(failure_message "$name" "$work/cargo-test-$v.log")")
    done < <(failed_tests "$work/cargo-test-$v.log")
    if [ "$ran" = 0 ]; then
        echo "pg$v: cargo pgrx test ran no test"
        failures+=("pg$v: cargo pgrx test ran no test")
        failed=$((failed + 1))
    fi
    if [ "$status" != 0 ] && ! grep -q "^test result: FAILED" "$work/cargo-test-$v.log"; then
        echo "pg$v: cargo pgrx test failed before running tests (exit $status)"
        failures+=("pg$v: cargo pgrx test failed before running tests")
        failed=$((failed + 1))
    fi

    echo "pg$v: cargo pgrx test took $((SECONDS - stage)) s"
    stage=$SECONDS

    # 2. pg_regress against a throwaway cluster with the extension installed. Where
    #    the shell tests run, that is the extension as users install it; elsewhere it
    #    is the one `cargo pgrx test` just installed (the same code with the test
    #    functions of the pg_test feature in a schema of their own), which saves a
    #    build per version.
    local shell=false
    [[ $shell_versions == *" $v "* ]] && shell=true
    if $shell && ! cargo pgrx install --pg-config "$pg_config" >"$work/install-$v.log" 2>&1; then
        cat "$work/install-$v.log"
        echo "pg$v: cargo pgrx install failed"
        failures+=("pg$v: cargo pgrx install")
        failed=$((failed + 1))
        return
    fi
    local port=$((54300 + v)) dir=$work/regress-$v
    echo "$PG_BIN" >"$work/bindir-$v"
    cluster_start "$dir" "$port" || { failed=$((failed + 1)); failures+=("pg$v: cluster_start"); return; }
    local tests out=$work/regress-out-$v
    tests=$(cd tests/pg_regress/sql && ls ./*.sql | sed 's|^\./||; s|\.sql$||' | sort)
    mkdir -p "$out"
    [ "$(id -u)" = 0 ] && chown postgres: "$out"
    # shellcheck disable=SC2086
    as_owner "$PG_REGRESS" \
        --host="$dir" --port="$port" --user=postgres --bindir="$PG_BIN" \
        --inputdir="$repo/tests/pg_regress" --outputdir="$out" \
        --dbname=pgvec_regress --load-extension=pgvec_hnsw $tests 2>&1 | tee "$work/regress-$v.log"
    local regress_status=${PIPESTATUS[0]} count ok bad
    # Keep the results and diffs where pg_regress users look for them (git-ignored).
    rm -rf "tests/pg_regress/results-$v" "tests/pg_regress/regression-$v.diffs"
    cp -r "$out/results" "tests/pg_regress/results-$v" 2>/dev/null || true
    if [ -f "$out/regression.diffs" ]; then
        cp "$out/regression.diffs" "tests/pg_regress/regression-$v.diffs"
        cat "tests/pg_regress/regression-$v.diffs"
    fi
    count=$(echo "$tests" | wc -w)
    ok=$(grep -cE "\.\.\. ok|^ok [0-9]+ " "$work/regress-$v.log" || true)
    bad=$((count - ok))
    while read -r name; do
        failures+=("pg$v: pg_regress $name")
    done < <(sed -nE 's/^not ok [0-9]+ +[-+] +([a-z_0-9]+).*/\1/p; s/^test ([a-z_0-9]+) +\.\.\. FAILED.*/\1/p' "$work/regress-$v.log")
    if { [ "$regress_status" != 0 ] && [ "$bad" = 0 ]; } || [ "$ok" = 0 ]; then
        echo "pg$v: pg_regress failed (exit $regress_status, $ok of $count passed)"
        failures+=("pg$v: pg_regress (exit $regress_status)")
        bad=$((bad > 0 ? bad : 1))
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    echo "pg$v: install and pg_regress took $((SECONDS - stage)) s"
    stage=$SECONDS

    # 3. the shell tests, on the same cluster (the VACUUM loop of vacuum_concurrency.sh
    #    runs its full 120 s on the first of them, 60 s on the others)
    if $shell; then
        local script churn=60
        [[ $shell_versions == " $v "* ]] && churn=${PGVEC_CHURN_SECONDS:-120}
        for script in concurrent_inserts build_scale cancel vacuum_churn vacuum_concurrency upgrade dropin iterative_cursor replication crash_recovery; do
            if PGVEC_CHURN_SECONDS=$churn bash "tests/$script.sh" "$dir" "$port"; then
                passed=$((passed + 1))
            else
                echo "pg$v: tests/$script.sh failed"
                failures+=("pg$v: tests/$script.sh")
                failed=$((failed + 1))
            fi
        done
        echo "pg$v: shell tests took $((SECONDS - stage)) s"
    fi
    cluster_stop "$dir"
}

for v in "${versions[@]}"; do
    passed=0 failed=0 started=$SECONDS
    run_version "$v"
    if [ "$passed" = 0 ]; then
        echo "pg$v: no test ran"
        failures+=("pg$v: no test ran")
        failed=$((failed + 1))
    fi
    took=$((SECONDS - started))
    summary+=("pg$v: $passed passed, $failed failed ($((took / 60)) min $((took % 60)) s)")
    [ "$failed" = 0 ] || all_ok=false
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

# What failed, by name, just above the summary (a CI log is often read from its end).
for name in "${failures[@]}"; do
    echo "failed: $name"
done
printf '%s\n' "${summary[@]}"
echo "tests: $total_passed passed, $total_failed failed"
$all_ok && [ "$total_failed" = 0 ]
