#!/usr/bin/env python3
"""Benchmark of the hnsw index against pgvector and hnswlib on the same data and parameters.

Loads the dataset into a throwaway PostgreSQL (started by benches/main_job.sh), builds
`USING hnsw (embedding vector_cosine_ops) WITH (m, ef_construction)`, runs every query
single-connection at each ef_search; then the same for an index on
`embedding::halfvec(n)` (halfvec_cosine_ops) and for binary quantization with
re-ranking (bit_hamming_ops on `binary_quantize(embedding)::bit(n)`, 100 candidates
re-ranked by `<=>`), unless --vector-only. With --generated DxN: N generated
clustered D-dimensional rows and 200 queries instead (e.g. 3072x20000, as a
text-embedding-3-large table), `vector` against `halfvec` only (pgvector's index refuses
`vector` past 2,000 dimensions; its halfvec row is measured). Prints one table: build seconds, index MB,
recall@10 (against the exact cosine top-10), QPS, p50/p99 ms. The peers are measured in the same run: pgvector (the same
steps in a database of its own, when benches/pgvector_peer.sh installed it) and hnswlib
(single-threaded, in-process); then our figures as ratios to theirs. Also shows a few
query texts with the texts of their top-5 neighbours.
"""
import argparse
import os
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procmem import PeakPrivateMemory, proc_status_kb  # noqa: E402
from wordnet import DEFAULT_DATA, copy_binary_rows, load_dataset, vector_literal  # noqa: E402


def exact_topk(base, queries, k, inner_product=False):
    """Ground truth by brute force: cosine (vectors need not be normalised), or the
    largest inner product."""
    b, q = base, queries
    if not inner_product:
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    out = np.empty((len(q), k), dtype=np.int64)
    for i in range(0, len(q), 100):
        sims = q[i:i + 100] @ b.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[i:i + 100] = np.take_along_axis(part, order, axis=1)
    return out


def recall(results, truth, k):
    return float(np.mean([len(set(r[:k]) & set(t[:k].tolist())) / k for r, t in zip(results, truth)]))


def bench_hnswlib(base, queries, truth, args, ef_values):
    import hnswlib
    index = hnswlib.Index(space="ip" if args.scale_ip else "cosine", dim=base.shape[1])
    index.init_index(max_elements=len(base), ef_construction=args.ef_construction, M=args.m, random_seed=1)
    index.set_num_threads(1)
    t0 = time.perf_counter()
    index.add_items(base, np.arange(len(base)))
    build = time.perf_counter() - t0
    rows = []
    for ef in ef_values:
        index.set_ef(ef)
        lat, res = [], []
        for q in queries:
            t = time.perf_counter()
            labels, _ = index.knn_query(q, k=10)
            lat.append(time.perf_counter() - t)
            res.append(labels[0].tolist())
        rows.append(("hnswlib", ef, recall(res, truth, 10), len(lat) / sum(lat),
                     1000 * np.percentile(lat, 50), 1000 * np.percentile(lat, 99)))
    return build, rows


ENGINES = {  # engine name -> (database, extension)
    "pgvec_hnsw": ("postgres", "pgvec_hnsw"),
    "pgvector": ("pgvector_peer", "vector"),
}


def connect(args, dbname):
    return psycopg.connect(host=args.host, port=args.port, dbname=dbname, user="postgres", autocommit=True)


def generated(spec, queries, seed=11):
    """`spec` "DxN": N rows and `queries` queries of D dimensions, unit vectors near
    one of N / 100 random centres (Gaussian noise of a third of a centre's length), as
    embeddings cluster by topic; ids 0..N-1 and empty texts."""
    dim, rows = (int(x) for x in spec.lower().split("x"))
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(rows // 100, 1), dim)).astype(np.float32)

    def draw(n):
        v = centres[rng.integers(0, len(centres), n)]
        v = v + rng.standard_normal((n, dim)).astype(np.float32) * 0.33
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return draw(rows), [""] * rows, draw(queries)


def variants(dim, opclass, op, ef_values, vector_only):
    """The indexes each engine builds on the table, one after the other: (name, the
    indexed expression with its operator class, the top-10 query with %s for the query
    vector, the ef_search values). Besides `vector`: `halfvec` (an expression index on
    the cast, half the bytes per element) and `bit+rerank` (binary quantization: 100
    candidates by Hamming distance on the bit index, re-ranked by exact cosine; the
    scan returns at most ef_search rows, so ef_search starts at 100)."""
    out = [("vector", f"embedding {opclass}",
            f"SELECT id FROM items ORDER BY embedding {op} %s::vector LIMIT 10", ef_values)]
    if vector_only:
        return out
    half = f"halfvec({dim})"
    out.append(("halfvec", f"(embedding::{half}) halfvec_cosine_ops",
                f"SELECT id FROM items ORDER BY embedding::{half} <=> %s::{half} LIMIT 10", ef_values))
    bits = f"bit({dim})"
    out.append(("bit+rerank", f"(binary_quantize(embedding)::{bits}) bit_hamming_ops",
                f"SELECT id FROM (SELECT id, embedding FROM items ORDER BY binary_quantize(embedding)::{bits} "
                f"<~> binary_quantize(%s::vector) LIMIT 100) c ORDER BY embedding <=> %s::vector LIMIT 10",
                [100, 200, 400]))
    return out


def bench_postgres(engine, base, texts, queries, truth, args, kinds):
    """Loads the rows into a table of its own database, then for each of `kinds`
    (`variants`) builds its hnsw index with the engine's extension and runs every query
    at each ef_search. Returns ({kind: build seconds}, {kind: index MB}, result rows,
    the connection for the sample queries, with the first kind's index)."""
    dbname, extension = ENGINES[engine]
    if dbname != "postgres":
        with connect(args, "postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {dbname}")
            admin.execute(f"CREATE DATABASE {dbname}")
    conn = connect(args, dbname)
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"DROP EXTENSION IF EXISTS {extension} CASCADE")
    conn.execute(f"CREATE EXTENSION {extension}")
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, text text, embedding vector({base.shape[1]}))")
    stream = copy_binary_rows(range(len(base)), texts, base)
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, text, embedding) FROM STDIN (FORMAT binary)") as copy:
            for off in range(0, len(stream), 1 << 20):
                copy.write(stream[off:off + (1 << 20)])
    conn.execute("VACUUM ANALYZE items")
    conn.execute("CHECKPOINT")

    conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {args.workers}")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    conn.add_notice_handler(lambda d: "hnsw" in d.message_primary and print(
        f"{engine} {d.severity}: {d.message_primary} {d.message_detail or ''}", flush=True))
    literals = [vector_literal(q) for q in queries]
    builds, sizes, rows = {}, {}, []
    for kind, indexed, sql, ef_values in reversed(kinds):  # the first kind's index stays
        conn.execute("DROP INDEX IF EXISTS items_embedding_idx")
        conn.execute("CHECKPOINT")
        conn.execute("SET client_min_messages = debug1")  # the build's workers and timings
        anon_before = proc_status_kb(pid, "RssAnon") or 0
        t0 = time.perf_counter()
        try:
            with PeakPrivateMemory(pid) as peak:
                conn.execute(f"CREATE INDEX items_embedding_idx ON items USING hnsw ({indexed}) "
                             f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
        except psycopg.Error as e:  # a pgvector before 0.7 (no halfvec, no bit classes), or
            # past its 2,000 dimensions for vector
            if engine == "pgvec_hnsw":
                raise
            print(f"{engine} {kind}: not measured: {e}", flush=True)
            conn.execute("RESET client_min_messages")
            continue
        builds[kind] = time.perf_counter() - t0
        conn.execute("RESET client_min_messages")
        hwm = proc_status_kb(pid, "VmHWM")
        workers = {p: kb for p, kb in peak.peak.items() if p != pid}
        sizes[kind] = conn.execute("SELECT pg_relation_size('items_embedding_idx')").fetchone()[0] / 2**20
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN " + sql, (literals[0],) * sql.count("%s")).fetchall())
        uses_index = "Index Scan using items_embedding_idx" in plan
        print(f"{engine} {kind}: build {builds[kind]:.1f} s, index {sizes[kind]:.0f} MB, "
              f"plan uses index: {uses_index}; "
              f"leader peak build memory (RssAnon + DSM) {peak.peak.get(pid, 0) / 1024:.0f} MB "
              f"({anon_before / 1024:.0f} MB before the build), VmHWM {(hwm or 0) / 1024:.0f} MB "
              f"(includes shared buffers touched)"
              + "".join(f"; worker {p} peak RssAnon + DSM {kb / 1024:.0f} MB" for p, kb in workers.items()),
              flush=True)
        kind_rows = []
        for ef in ef_values:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            res, lat = timed_queries(conn, sql, literals, 20)
            kind_rows.append((engine, kind, ef, recall(res, truth, 10), len(lat) / sum(lat),
                              1000 * np.percentile(lat, 50), 1000 * np.percentile(lat, 99)))
        rows = kind_rows + rows
    return builds, sizes, rows, conn


def timed_queries(conn, sql, literals, warm_up):
    """Runs `sql` (each %s: a vector literal) for each of `literals`, prepared on the
    server, after `warm_up` untimed runs; returns (first-column ids per query,
    latencies in s)."""
    return timed_queries_paired([conn], sql, literals, warm_up)[0]


def timed_queries_paired(conns, sql, literals, warm_up):
    """`timed_queries` on each of `conns`, query by query in turn (each query runs on
    every connection before the next one starts, starting on each connection in turn),
    so that a slow moment of the machine costs them all alike; returns a (ids per
    query, latencies in s) per connection."""
    cursors = [conn.cursor() for conn in conns]
    out = [([], []) for _ in conns]
    try:
        for lit in literals[:warm_up]:  # warm-up and server-side prepare
            for cur in cursors:
                cur.execute(sql, (lit,) * sql.count("%s"), prepare=True)
                cur.fetchall()
        for i, lit in enumerate(literals):
            # Each query starts on the next connection in turn: none always runs
            # right after another one warmed the same pages.
            turn = [(i + k) % len(conns) for k in range(len(conns))]
            for cur, (res, lat) in ((cursors[k], out[k]) for k in turn):
                t = time.perf_counter()
                cur.execute(sql, (lit,) * sql.count("%s"), prepare=True)
                ids = [r[0] for r in cur.fetchall()]
                lat.append(time.perf_counter() - t)
                res.append(ids)
    finally:
        for cur in cursors:
            cur.close()
    return out


def pgvector_available(args):
    with connect(args, "postgres") as conn:
        row = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if row is None:
        print("pgvector: not installed (benches/pgvector_peer.sh installs it); measured without it")
        return False
    major, minor = (int(x) for x in row[0].split(".")[:2])
    if (major, minor) < (0, 5):
        print(f"pgvector {row[0]} has no hnsw; measured without it")
        return False
    print(f"peer: pgvector {row[0]}")
    return True


def common_arguments(doc, queries):
    """The arguments both benchmarks take (this one and filtered_bench.py)."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--rows", type=int, default=0, help="first N base rows (0 = all)")
    ap.add_argument("--queries", type=int, default=queries)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--maintenance-work-mem", default="2GB")
    ap.add_argument("--no-pgvector", action="store_true")
    return ap


def main():
    ap = common_arguments(__doc__, 1000)
    ap.add_argument("--ef-search", default="10,20,40,80,160")
    ap.add_argument("--workers", type=int, default=0, help="max_parallel_maintenance_workers")
    ap.add_argument("--no-hnswlib", action="store_true")
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--generated", metavar="DxN",
                    help="N generated clustered rows of D dimensions instead of the dataset "
                         "(vector and halfvec rows only)")
    ap.add_argument("--vector-only", action="store_true",
                    help="only the vector index (no halfvec and bit+rerank rows)")
    ap.add_argument("--scale-ip", action="store_true",
                    help="scale every base row by a random factor in [0.5, 2] (fixed seed) and "
                         "index it with vector_ip_ops: inner product on vectors of unequal length")
    args = ap.parse_args()
    ef_values = [int(x) for x in args.ef_search.split(",")]

    if args.generated:
        base, texts, queries = generated(args.generated, min(args.queries, 200))
        qtexts, gt, args.show = [], None, 0
    else:
        base, texts, queries, qtexts, gt = load_dataset(args.data, args.rows)
    queries = queries[:args.queries]
    opclass, op = "vector_cosine_ops", "<=>"
    if args.scale_ip:
        factors = np.random.default_rng(7).uniform(0.5, 2.0, len(base)).astype(np.float32)
        base = base * factors[:, None]
        opclass, op = "vector_ip_ops", "<#>"
        truth = exact_topk(base, queries, 10, inner_product=True)
    else:
        truth = gt[:len(queries)] if gt is not None else exact_topk(base, queries, 10)
    print(f"dataset: {len(base)} x {base.shape[1]}, {len(queries)} queries; "
          f"m={args.m} ef_construction={args.ef_construction} workers={args.workers} "
          f"maintenance_work_mem={args.maintenance_work_mem} opclass={opclass}", flush=True)

    with connect(args, "postgres") as c:
        print(f"server: PostgreSQL {c.execute('SHOW server_version').fetchone()[0]}", flush=True)
    engines = ["pgvec_hnsw"] + (["pgvector"] if not args.no_pgvector and pgvector_available(args) else [])
    kinds = variants(base.shape[1], opclass, op, ef_values, args.scale_ip or args.vector_only)
    if args.generated:
        kinds = kinds[:2]
    builds, sizes, rows, conn = {}, {}, [], None
    for engine in engines:
        try:
            engine_builds, engine_sizes, engine_rows, engine_conn = bench_postgres(
                engine, base, texts, queries, truth, args, kinds)
        except psycopg.Error as e:
            if engine == "pgvec_hnsw":
                raise
            print(f"{engine} failed, measured without it: {e}", flush=True)
            continue
        rows += engine_rows
        builds.update({(engine, k): b for k, b in engine_builds.items()})
        sizes.update({(engine, k): mb for k, mb in engine_sizes.items()})
        if conn is None:
            conn = engine_conn
        else:
            engine_conn.close()
    if not args.no_hnswlib:
        builds[("hnswlib", "vector")], hnswlib_rows = bench_hnswlib(base, queries, truth, args, ef_values)
        rows += [(name, "vector", *rest) for name, *rest in hnswlib_rows]

    print()
    print(f"{'engine':<11} {'index':<10} {'build s':>8} {'index MB':>9} {'ef_search':>9} {'recall@10':>9} "
          f"{'QPS':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, kind, ef, r, qps, p50, p99 in rows:
        mb = f"{sizes[(name, kind)]:.0f}" if (name, kind) in sizes else "-"
        print(f"{name:<11} {kind:<10} {builds[(name, kind)]:>8.1f} {mb:>9} {ef:>9} {r:>9.3f} {qps:>8.0f} "
              f"{p50:>7.3f} {p99:>7.3f}")
    ours = {(kind, ef): (r, qps) for name, kind, ef, r, qps, _, _ in rows if name == "pgvec_hnsw"}
    for peer in ("pgvector", "hnswlib"):
        for kind, *_ in kinds:
            if (peer, kind) not in builds or ("pgvec_hnsw", kind) not in builds:
                continue
            print(f"\npgvec_hnsw / {peer}, {kind}: build time "
                  f"{builds[('pgvec_hnsw', kind)] / builds[(peer, kind)]:.2f}"
                  + (f", index size {sizes[('pgvec_hnsw', kind)] / sizes[(peer, kind)]:.2f}"
                     if (peer, kind) in sizes else ""))
            for name, k, ef, r, qps, _, _ in rows:
                if name == peer and k == kind:
                    print(f"  ef_search {ef:>4}: QPS {ours[(kind, ef)][1] / qps:.2f}, "
                          f"recall@10 {ours[(kind, ef)][0] - r:+.3f}")

    conn.execute("SET hnsw.ef_search = 40")
    literals = [vector_literal(q) for q in queries[:args.show]]
    for qi, lit in enumerate(literals):
        top = conn.execute(f"SELECT text, embedding {op} %s::vector FROM items "
                           f"ORDER BY embedding {op} %s::vector LIMIT 5", (lit, lit)).fetchall()
        print(f"\nquery: {qtexts[qi]}")
        for rank, (text, dist) in enumerate(top, 1):
            print(f"  {rank}. {dist:.4f}  {text[:100]}")
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
