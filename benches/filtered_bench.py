#!/usr/bin/env python3
"""Filtered queries through iterative index scans: pgvector and pgvec_hnsw in the same
run on the real wordnet-minilm-384 rows (benches/wordnet.py), each row given a
`category` (100 values) and a `tenant` (1,000 values), both uniform from a fixed seed.

For each selectivity (50 %: category < 50, 10 %: category < 10, 1 %: category = 7,
0.1 %: tenant = 7) it runs `SELECT id … WHERE <filter> ORDER BY embedding <=> q LIMIT 10`
through the hnsw index (sequential and bitmap scans off, so the index is what is
measured) at each hnsw.ef_search of --ef-search (default 40 and 100) with
hnsw.iterative_scan = relaxed_order and the other settings at their defaults, and
prints recall@10 against the exact filtered answer (numpy), QPS and p99 latency of:
  pgvector           its iterative scan (the executor filters what it returns);
  ours, iterative    hnsw.filter_in_scan = off: the same protocol;
  ours, in-scan      hnsw.filter_in_scan = on: the scan evaluates the filter itself.
Each query runs in every mode before the next one starts (a connection per mode, the
first mode taken in turn), so that the machine's slow moments cost all modes alike.
Then the QPS of each of ours divided by pgvector's. Usage: benches/main_job.sh
--filtered.
"""
import sys
import time

import numpy as np
import psycopg

from hnsw_bench import common_arguments, connect, pgvector_available, timed_queries_paired
from wordnet import load_dataset, vector_literal

FILTERS = [  # (selectivity label, SQL, numpy mask of (category, tenant))
    ("50%", "category < 50", lambda c, t: c < 50),
    ("10%", "category < 10", lambda c, t: c < 10),
    ("1%", "category = 7", lambda c, t: c == 7),
    ("0.1%", "tenant = 7", lambda c, t: t == 7),
]
MODES = [  # (label, engine, extension's database, filter_in_scan)
    ("pgvector", "pgvector_filtered", "vector", None),
    ("ours, iterative", "pgvec_filtered", "pgvec_hnsw", "off"),
    ("ours, in-scan", "pgvec_filtered", "pgvec_hnsw", "on"),
]


def load(args, dbname, extension, base, category, tenant):
    """A fresh database `dbname` with the extension, the rows and their hnsw index."""
    with connect(args, "postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {dbname}")
        admin.execute(f"CREATE DATABASE {dbname}")
    conn = connect(args, dbname)
    conn.execute(f"CREATE EXTENSION {extension}")
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, category int, tenant int, "
                 f"embedding vector({base.shape[1]}))")
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, category, tenant, embedding) FROM STDIN") as copy:
            for i in range(len(base)):
                copy.write_row((i, int(category[i]), int(tenant[i]), vector_literal(base[i])))
    conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
    t = time.perf_counter()
    conn.execute(f"CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops) "
                 f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
    print(f"{dbname}: loaded {len(base)} rows, index built in {time.perf_counter() - t:.1f} s", flush=True)
    conn.execute("VACUUM ANALYZE items")
    return conn


def prepare(conn, sql, literal, ef_search, filter_in_scan):
    """Sets up `conn` for the filtered query `sql` through the hnsw index."""
    conn.execute("SET enable_seqscan = off")
    conn.execute("SET enable_bitmapscan = off")
    conn.execute(f"SET hnsw.ef_search = {ef_search}")
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    if filter_in_scan is not None:
        conn.execute(f"SET hnsw.filter_in_scan = {filter_in_scan}")
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (literal,)).fetchall())
    assert "Index Scan using items_embedding_idx" in plan, plan


def main():
    ap = common_arguments(__doc__, 300)
    ap.add_argument("--ef-search", default="40,100")
    args = ap.parse_args()
    ef_values = [int(v) for v in args.ef_search.split(",")]

    base, _, queries, _, _ = load_dataset(args.data, args.rows)
    queries = queries[:args.queries]
    rng = np.random.default_rng(11)
    category = rng.integers(0, 100, len(base))
    tenant = rng.integers(0, 1000, len(base))
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    qunit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    distance = 1.0 - qunit @ unit.T  # cosine distance, queries x rows
    truth = {}
    for label, _, mask in FILTERS:
        keep = np.flatnonzero(mask(category, tenant))
        d = distance[:, keep]
        top = np.argsort(d, axis=1)[:, :10]
        truth[label] = [set(keep[row].tolist()) for row in top]
    print(f"dataset: {len(base)} x {base.shape[1]}, {len(queries)} queries; m={args.m} "
          f"ef_construction={args.ef_construction}; relaxed_order, LIMIT 10", flush=True)

    modes = [m for m in MODES if m[0] != "pgvector" or (not args.no_pgvector and pgvector_available(args))]
    loaded = set()
    for _, dbname, extension, _ in modes:
        if dbname not in loaded:
            load(args, dbname, extension, base, category, tenant).close()
            loaded.add(dbname)
    # A connection per mode; each query runs in every mode before the next one.
    conns = [connect(args, dbname) for _, dbname, _, _ in modes]
    literals = [vector_literal(q) for q in queries]
    rows = []
    for ef in ef_values:
        for label, sql_filter, _ in FILTERS:
            sql = f"SELECT id FROM items WHERE {sql_filter} ORDER BY embedding <=> %s::vector LIMIT 10"
            for conn, (_, _, _, filter_in_scan) in zip(conns, modes):
                prepare(conn, sql, literals[0], ef, filter_in_scan)
            measured = timed_queries_paired(conns, sql, literals, 10)
            for (mode, _, _, _), (res, lat) in zip(modes, measured):
                recall = np.mean([len(set(r) & t) / 10 for r, t in zip(res, truth[label])])
                rows.append((ef, label, mode, recall, len(lat) / sum(lat), 1000 * np.percentile(lat, 99)))
                print(f"ef_search {ef} {label:>5} {mode:<16} recall@10 {recall:.3f}", flush=True)
    print()
    print(f"{'ef_search':>9} {'selectivity':>11} {'engine':<16} {'recall@10':>9} {'QPS':>8} {'p99 ms':>8} "
          f"{'QPS / pgvector':>15}")
    peer = {(ef, label): qps for ef, label, mode, _, qps, _ in rows if mode == "pgvector"}
    for ef, label, mode, recall, qps, p99 in rows:
        ratio = f"{qps / peer[ef, label]:.2f}" if (ef, label) in peer and mode != "pgvector" else "-"
        print(f"{ef:>9} {label:>11} {mode:<16} {recall:>9.3f} {qps:>8.0f} {p99:>8.2f} {ratio:>15}")
    for c in conns:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
