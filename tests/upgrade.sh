#!/usr/bin/env bash
# Upgrades as users meet them:
#   1. ALTER EXTENSION pgvec_hnsw UPDATE from the previous release (0.1.0) to this one:
#      the previous release's install script (kept in tests/upgrade/, as a user's
#      PostgreSQL keeps it from that install) is put beside this release's, a table and
#      hnsw indexes are made under it, then UPDATE: the version is this release's and
#      the extension holds the same objects as a fresh install of this release, and
#      the indexes give the same top-10 as before, take inserts and find them.
#   2. An index whose metapage holds another on-disk format version (written into the
#      file while the server is stopped) fails with a clear error that says REINDEX,
#      so does VACUUM of its table (it must not free heap slots the index still
#      holds), and the index works after REINDEX.
#   3. pg_dump -Fc / pg_restore of a database with vector columns and hnsw indexes of
#      every vector operator class, and expression indexes of this release's halfvec
#      and bit classes (made after the update: `embedding::halfvec(16)` and
#      `binary_quantize(embedding)::bit(16)`): the same rows, the same index definitions
#      (WITH options included), and, for each of 20 queries at ef_search 400, the exact
#      top-10 (a sequential scan's), as before the dump.
# The indexes are all written by this release's library: the previous release's SQL
# is what is tested, and the metapage's format version (unchanged, 1) is what lets an
# index written by the previous library be read.
# Usage: upgrade.sh SOCKET_DIR PORT (a cluster started by tests/pgcluster.sh).
set -euo pipefail
shopt -s inherit_errexit
host=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/pgcluster.sh"
source "$here/workload.sh"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
q() { local db=$1; shift; items_psql "$host" "$port" "$db" "$@"; }
for db in pgvec_upgrade pgvec_restored; do
    q postgres -c "DROP DATABASE IF EXISTS $db"
done
q postgres -c "CREATE DATABASE pgvec_upgrade"
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# 1. the previous release's SQL, then UPDATE
extdir=$("$PG_BIN/pg_config" --sharedir)/extension
previous=0.1.0
if [ ! -f "$extdir/pgvec_hnsw--$previous.sql" ]; then
    as_root cp "$here/upgrade/pgvec_hnsw--$previous.sql" "$extdir/"
    trap 'rm -rf "$work"; as_root rm -f "$extdir/pgvec_hnsw--$previous.sql"' EXIT
fi
current=$(q postgres -At -c "SELECT default_version FROM pg_available_extensions WHERE name = 'pgvec_hnsw'")
[ "$current" != "$previous" ] || { echo "upgrade: this release is still $previous" >&2; exit 1; }
queries="SELECT string_agg(t.ids, ' ' ORDER BY q.id) FROM (SELECT id, embedding FROM items WHERE id <= 20) q,
    LATERAL (SELECT string_agg(id::text, ',' ORDER BY d, id) ids FROM
        (SELECT id, embedding %s q.embedding d FROM items ORDER BY embedding %s q.embedding LIMIT 10) n) t"
top10() { # DB OPERATOR [exact]: the top-10 ids of the first 20 rows' vectors, through
    # the index at ef_search 400, or by a sequential scan and sort (exact)
    local scan=(-c "SET enable_seqscan = off")
    [ "${3:-}" = exact ] && scan=(-c "SET enable_indexscan = off" -c "SET enable_bitmapscan = off")
    # shellcheck disable=SC2059
    q "$1" -At -c "SET hnsw.ef_search = 400" "${scan[@]}" -c "$(printf "$queries" "$2" "$2")"
}
exact_top10() { # DB OPERATOR LABEL [QUERIES]: fails unless the index gives the exact
    # top-10s (QUERIES: another template, as $queries)
    local template=${4:-$queries}
    [ "$(queries=$template top10 "$1" "$2")" = "$(queries=$template top10 "$1" "$2" exact)" ] ||
        { echo "upgrade: in $1 the index's top-10 for $2 is not the exact one ($3)" >&2; exit 1; }
}
# The queries through the expression indexes: embedding::halfvec(16) <=> q (its index
# orders by the unit vectors rounded to binary16, so a neighbour near the 10th can
# swap with the exact order's: the index's answers are compared between databases),
# and the Hamming distances of binary_quantize(embedding)::bit(16), exact, compared
# with the exact ones (16-bit codes tie: which row of a tie comes first is the index's
# choice).
half_queries=${queries//embedding %s q.embedding/embedding::halfvec(16) %s q.embedding::halfvec(16)}
bit_queries=${queries//embedding %s q.embedding/binary_quantize(embedding)::bit(16) %s binary_quantize(q.embedding)::bit(16)}
bit_queries=${bit_queries//string_agg(id::text, \',\' ORDER BY d, id)/string_agg(d::text, \',\' ORDER BY d)}
q pgvec_upgrade <<SQL
CREATE EXTENSION pgvec_hnsw VERSION '$previous';
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16), note text);
INSERT INTO items SELECT r, array_agg(random() - 0.5)::real[]::vector, 'row ' || r
    FROM generate_series(1, 16) d, generate_series(1, 2000) r GROUP BY r;
INSERT INTO items VALUES (2001, NULL, 'no vector');
CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX items_cos ON items USING hnsw (embedding vector_cosine_ops);
CREATE INDEX items_ip ON items USING hnsw (embedding vector_ip_ops) WITH (m = 12);
CREATE INDEX items_l1 ON items USING hnsw (embedding vector_l1_ops) WITH (ef_construction = 40);
CREATE TABLE plain (id int, v vector(3));
INSERT INTO plain VALUES (1, '[1,2,3]'), (2, '[-1.5,0,2e-3]');
SQL
declare -A before
for op in '<->' '<=>' '<#>' '<+>'; do
    exact_top10 pgvec_upgrade "$op" "under $previous"
    before[$op]=$(top10 pgvec_upgrade "$op")
done
q pgvec_upgrade -c "ALTER EXTENSION pgvec_hnsw UPDATE"
version=$(q pgvec_upgrade -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pgvec_hnsw'")
[ "$version" = "$current" ] || { echo "upgrade: extversion is $version after UPDATE, not $current" >&2; exit 1; }
for op in '<->' '<=>' '<#>' '<+>'; do
    [ "$(top10 pgvec_upgrade "$op")" = "${before[$op]}" ] ||
        { echo "upgrade: top-10 for $op changed across ALTER EXTENSION UPDATE" >&2; exit 1; }
done
# The updated extension holds exactly the objects a fresh install of this release does.
# Each member with its definition: functions (pg_get_functiondef: volatility,
# strictness, parallel safety, body), aggregates (functions, state type, initial
# value), operators (function, commutator, negator, estimators, merges), types (I/O
# functions, storage, alignment), casts (function, context, method), operator class
# members (strategies and support functions).
members="SELECT string_agg(d, E'\\n' ORDER BY d) FROM (
    SELECT pg_describe_object(classid, objid, objsubid) || coalesce(' ' || CASE
        WHEN classid = 'pg_proc'::regclass THEN (SELECT CASE WHEN p.prokind = 'a' THEN
            (SELECT concat_ws(' ', aggtransfn::oid::regprocedure, aggfinalfn::oid::regprocedure,
                aggcombinefn::oid::regprocedure, aggtranstype::regtype, agginitval)
             FROM pg_aggregate WHERE aggfnoid = p.oid) ELSE pg_get_functiondef(p.oid) END
            FROM pg_proc p WHERE p.oid = objid)
        WHEN classid = 'pg_operator'::regclass THEN
            (SELECT concat_ws(' ', oprcode::oid::regprocedure, oprcom::regoperator, oprnegate::regoperator,
                oprrest::oid::regprocedure, oprjoin::oid::regprocedure, oprcanmerge)
             FROM pg_operator WHERE oid = objid)
        WHEN classid = 'pg_type'::regclass THEN
            (SELECT concat_ws(' ', typinput::oid::regprocedure, typoutput::oid::regprocedure,
                typreceive::oid::regprocedure, typsend::oid::regprocedure, typmodin::oid::regprocedure,
                typmodout::oid::regprocedure, typlen, typbyval, typelem::regtype, typstorage, typalign)
             FROM pg_type WHERE oid = objid)
        WHEN classid = 'pg_cast'::regclass THEN
            (SELECT concat_ws(' ', castfunc::regprocedure, castcontext, castmethod) FROM pg_cast WHERE oid = objid)
        WHEN classid = 'pg_opclass'::regclass THEN
            (SELECT string_agg(amopstrategy || ':' || amopopr::regoperator::text, ',' ORDER BY amopstrategy)
             FROM pg_amop a JOIN pg_opclass c ON a.amopfamily = c.opcfamily WHERE c.oid = objid) || ' ' ||
            (SELECT string_agg(amprocnum || ':' || amproc::text, ',' ORDER BY amprocnum)
             FROM pg_amproc a JOIN pg_opclass c ON a.amprocfamily = c.opcfamily WHERE c.oid = objid)
        END, '') d
    FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgvec_hnsw')) m"
q postgres -c "DROP DATABASE IF EXISTS pgvec_fresh" -c "CREATE DATABASE pgvec_fresh"
q pgvec_fresh -c "CREATE EXTENSION pgvec_hnsw"
updated=$(q pgvec_upgrade -At -c "$members") fresh=$(q pgvec_fresh -At -c "$members")
q postgres -c "DROP DATABASE pgvec_fresh"
[ "$updated" = "$fresh" ] && [ -n "$fresh" ] || {
    echo "upgrade: the updated extension's objects differ from a fresh install's:" >&2
    diff <(echo "$updated") <(echo "$fresh") >&2
    exit 1
}
objects=$(q pgvec_upgrade -At -c "SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
    AND deptype = 'e' AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgvec_hnsw')")
q pgvec_upgrade -c "INSERT INTO items SELECT 3000 + r, array_agg(random() - 0.5)::real[]::vector, 'new'
    FROM generate_series(1, 16) d, generate_series(1, 100) r GROUP BY r"
missed=$(q pgvec_upgrade -At -c "SET enable_seqscan = off" -c "SELECT count(*) FROM items i WHERE id > 3000 AND NOT EXISTS (
    SELECT 1 FROM (SELECT id FROM items ORDER BY embedding <-> i.embedding LIMIT 5) n WHERE n.id = i.id)")
[ "$missed" = 0 ] || { echo "upgrade: $missed rows inserted after UPDATE not found" >&2; exit 1; }
q pgvec_upgrade -c "DELETE FROM items WHERE id > 3000" -c "VACUUM items"

# 2. another on-disk format version: a clear error, then REINDEX
file=$(q pgvec_upgrade -At -c "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('items_l1')")
cluster_stop "$host"
# The format version is the u32 after the magic number, at the start of the
# metapage's contents (after the 24-byte page header).
printf '\x63\x00\x00\x00' | as_owner dd of="$file" bs=1 seek=28 conv=notrunc status=none
cluster_restart "$host"
# With data checksums (initdb's default from 18) the page's checksum no longer
# matches: let the read go on to the metapage check.
err=$(q pgvec_upgrade -At -c "SET enable_seqscan = off" -c "SET ignore_checksum_failure = on" \
    -c "SELECT id FROM items ORDER BY embedding <+> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 1" 2>&1 || true)
grep -q "on-disk format version 99" <<<"$err" && grep -q "HINT:  REINDEX" <<<"$err" ||
    { echo "upgrade: a metapage of format version 99 gave: $err" >&2; exit 1; }
# VACUUM fails on it too (as on an nbtree index of another version): skipping it
# would let the heap reuse the slots of dead rows the index still holds.
q pgvec_upgrade -c "DELETE FROM items WHERE id % 100 = 0"
if vacuum=$(q pgvec_upgrade -c "SET ignore_checksum_failure = on" -c "VACUUM items" 2>&1); then
    echo "upgrade: VACUUM went through an index of format version 99: $vacuum" >&2
    exit 1
fi
grep -q 'ERROR:  hnsw index "items_l1" has on-disk format version 99' <<<"$vacuum" && grep -q "HINT:  REINDEX" <<<"$vacuum" ||
    { echo "upgrade: VACUUM beside a format version 99 index said: $vacuum" >&2; exit 1; }
q pgvec_upgrade -c "REINDEX INDEX items_l1" -c "VACUUM items"
exact_top10 pgvec_upgrade '<+>' "after REINDEX"

# 3. pg_dump / pg_restore
q pgvec_upgrade <<SQL
CREATE INDEX items_half ON items USING hnsw ((embedding::halfvec(16)) halfvec_cosine_ops);
CREATE INDEX items_bq ON items USING hnsw ((binary_quantize(embedding)::bit(16)) bit_hamming_ops);
SQL
exact_top10 pgvec_upgrade '<~>' "bit expression index" "$bit_queries"
"$PG_BIN/pg_dump" -h "$host" -p "$port" -U postgres -Fc -f "$work/dump" pgvec_upgrade
q postgres -c "CREATE DATABASE pgvec_restored"
"$PG_BIN/pg_restore" -h "$host" -p "$port" -U postgres --exit-on-error -d pgvec_restored "$work/dump"
same() { # LABEL SQL: the same result in both databases
    [ "$(q pgvec_upgrade -At -c "$2")" = "$(q pgvec_restored -At -c "$2")" ] ||
        { echo "upgrade: $1 differ after pg_restore" >&2; exit 1; }
}
same "rows" "SELECT md5(string_agg(id || ':' || coalesce(embedding::text, '-') || note, ';' ORDER BY id)) FROM items"
same "plain rows" "SELECT string_agg(id || ':' || v::text, ';' ORDER BY id) FROM plain"
same "index definitions" "SELECT string_agg(indexdef, ';' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'items'"
for op in '<->' '<=>' '<#>' '<+>'; do exact_top10 pgvec_restored "$op" "after pg_restore"; done
exact_top10 pgvec_restored '<~>' "bit expression index after pg_restore" "$bit_queries"
# shellcheck disable=SC2059
same "halfvec index top-10s" "SET enable_seqscan = off; SET hnsw.ef_search = 400; $(printf "$half_queries" '<=>' '<=>')"
indexes=$(q pgvec_restored -At -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'items' AND indexdef LIKE '%USING hnsw%'")
for db in pgvec_upgrade pgvec_restored; do q postgres -c "DROP DATABASE $db"; done
echo "upgrade: ok (ALTER EXTENSION UPDATE $previous -> $current gives the $objects objects of a fresh install," \
    "keeps the top-10 of 4 hnsw indexes and takes inserts;" \
    "format version 99: queries and VACUUM fail saying REINDEX, REINDEX works; pg_dump/pg_restore: same rows, $indexes hnsw indexes, same top-10)"
