#!/usr/bin/env python3
"""Benchmark of the hnsw index against hnswlib on the same data and parameters.

Loads the dataset into a throwaway PostgreSQL (started by benches/main_job.sh or
benches/bench.sh), builds `USING hnsw (embedding vector_cosine_ops) WITH (m, ef_construction)`,
runs every query single-connection at each ef_search and prints one table: build
seconds, index MB, recall@10, QPS, p50/p99 ms — with hnswlib (single-threaded,
in-process) measured in the same run as the reference. Also shows a few query texts
with the texts of their top-5 neighbours.
"""
import argparse
import os
import sys
import threading
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


def proc_status_kb(pid, field):
    """A field of /proc/PID/status in kB (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def dsm_rss_kb(pid):
    """Resident kB of a process's dynamic shared memory segments (the mappings of
    /dev/shm/PostgreSQL.*: a parallel build's graph), from /proc/PID/smaps."""
    total, in_dsm = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
                    in_dsm = "/dev/shm/PostgreSQL." in line
                elif in_dsm and line.startswith("Rss:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


class PeakPrivateMemory:
    """Samples the memory a build holds in a backend every 10 ms and keeps the peak,
    for the backend and its parallel workers (processes titled "parallel worker"):
    private resident memory (RssAnon: heap and memory contexts) plus the resident part
    of its dynamic shared memory segments (a parallel build's graph). Shared buffers
    the build touched are left out (VmHWM counts them too)."""

    def __init__(self, pid):
        self.pid, self.peak, self.dsm, self.stop = pid, {}, {}, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def pids(self):
        out = [self.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.pid:
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if b"parallel worker" in f.read():
                            out.append(int(entry))
                except OSError:
                    pass
        return out

    def run(self):
        tick = 0
        while not self.stop.is_set():
            tick += 1
            for pid in self.pids():
                kb = proc_status_kb(pid, "RssAnon")
                if kb is not None:
                    # smaps walks the page tables (shared buffers too): costly, so the
                    # DSM part (which only grows until the build ends) every 0.25 s.
                    if tick % 25 == 1 or pid not in self.dsm:
                        self.dsm[pid] = dsm_rss_kb(pid)
                    self.peak[pid] = max(self.peak.get(pid, 0), kb + self.dsm[pid])
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--rows", type=int, default=0, help="first N base rows (0 = all)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--ef-search", default="10,20,40,80,160")
    ap.add_argument("--workers", type=int, default=0, help="max_parallel_maintenance_workers")
    ap.add_argument("--maintenance-work-mem", default="2GB")
    ap.add_argument("--no-hnswlib", action="store_true")
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--scale-ip", action="store_true",
                    help="scale every base row by a random factor in [0.5, 2] (fixed seed) and "
                         "index it with vector_ip_ops: inner product on vectors of unequal length")
    args = ap.parse_args()
    ef_values = [int(x) for x in args.ef_search.split(",")]

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

    conn = psycopg.connect(host=args.host, port=args.port, dbname="postgres", user="postgres", autocommit=True)
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute("DROP EXTENSION IF EXISTS pgvec_hnsw CASCADE")
    conn.execute("CREATE EXTENSION pgvec_hnsw")
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
    conn.execute("SET client_min_messages = debug1")  # the build's workers and timings
    conn.add_notice_handler(lambda d: "hnsw" in d.message_primary and print(
        f"{d.severity}: {d.message_primary} {d.message_detail or ''}", flush=True))
    anon_before = proc_status_kb(pid, "RssAnon") or 0
    t0 = time.perf_counter()
    with PeakPrivateMemory(pid) as peak:
        conn.execute(f"CREATE INDEX items_embedding_idx ON items USING hnsw (embedding {opclass}) "
                     f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
    build = time.perf_counter() - t0
    conn.execute("RESET client_min_messages")
    hwm = proc_status_kb(pid, "VmHWM")
    workers = {p: kb for p, kb in peak.peak.items() if p != pid}
    size_mb = conn.execute("SELECT pg_relation_size('items_embedding_idx')").fetchone()[0] / 2**20
    plan = "\n".join(r[0] for r in conn.execute(
        f"EXPLAIN SELECT id FROM items ORDER BY embedding {op} %s::vector LIMIT 10",
        (vector_literal(queries[0]),)).fetchall())
    uses_index = "Index Scan using items_embedding_idx" in plan
    print(f"build {build:.1f} s, index {size_mb:.0f} MB, plan uses index: {uses_index}; "
          f"leader peak build memory (RssAnon + DSM) {peak.peak.get(pid, 0) / 1024:.0f} MB "
          f"({anon_before / 1024:.0f} MB before the build), VmHWM {(hwm or 0) / 1024:.0f} MB "
          f"(includes shared buffers touched)"
          + "".join(f"; worker {p} peak RssAnon + DSM {kb / 1024:.0f} MB" for p, kb in workers.items()),
          flush=True)

    rows = []
    literals = [vector_literal(q) for q in queries]
    for ef in ef_values:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        lat, res = [], []
        with conn.cursor() as cur:
            for lit in literals[:20]:  # warm-up and server-side prepare
                cur.execute(f"SELECT id FROM items ORDER BY embedding {op} %s::vector LIMIT 10", (lit,), prepare=True)
                cur.fetchall()
            for lit in literals:
                t = time.perf_counter()
                cur.execute(f"SELECT id FROM items ORDER BY embedding {op} %s::vector LIMIT 10", (lit,), prepare=True)
                ids = [r[0] for r in cur.fetchall()]
                lat.append(time.perf_counter() - t)
                res.append(ids)
        rows.append(("pgvec_hnsw", ef, recall(res, truth, 10), len(lat) / sum(lat),
                     1000 * np.percentile(lat, 50), 1000 * np.percentile(lat, 99)))

    ref_build = None
    if not args.no_hnswlib:
        ref_build, ref_rows = bench_hnswlib(base, queries, truth, args, ef_values)
        rows += ref_rows

    print()
    print(f"{'engine':<11} {'build s':>8} {'index MB':>9} {'ef_search':>9} {'recall@10':>9} "
          f"{'QPS':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, ef, r, qps, p50, p99 in rows:
        b = build if name == "pgvec_hnsw" else ref_build
        mb = f"{size_mb:.0f}" if name == "pgvec_hnsw" else "-"
        print(f"{name:<11} {b:>8.1f} {mb:>9} {ef:>9} {r:>9.3f} {qps:>8.0f} {p50:>7.3f} {p99:>7.3f}")
    if ref_build:
        print(f"\nbuild time ratio pgvec_hnsw / hnswlib: {build / ref_build:.2f}")

    conn.execute("SET hnsw.ef_search = 40")
    for qi in range(min(args.show, len(queries))):
        top = conn.execute(f"SELECT text, embedding {op} %s::vector FROM items "
                           f"ORDER BY embedding {op} %s::vector LIMIT 5",
                           (literals[qi], literals[qi])).fetchall()
        print(f"\nquery: {qtexts[qi]}")
        for rank, (text, dist) in enumerate(top, 1):
            print(f"  {rank}. {dist:.4f}  {text[:100]}")
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
