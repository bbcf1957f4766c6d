#!/usr/bin/env python3
"""The main job's client: load the wordnet-minilm-384 embeddings into a `vector(384)`
column and show exact nearest neighbours of query texts by sequential scan.

Reads the TEXMEX files of ../shared/data/wordnet-minilm-384 (override with --data or
PGVEC_HNSW_DATA); where they are absent it says so and uses generated unit vectors.
Vectors are loaded with `COPY … (FORMAT binary)`, i.e. through `vector_recv`.
"""
import argparse
import os
import struct
import sys
import time

import numpy as np
import psycopg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.environ.get(
    "PGVEC_HNSW_DATA", os.path.join(REPO, "..", "shared", "data", "wordnet-minilm-384")
)


def read_vecs(path, dtype):
    """TEXMEX .fvecs/.ivecs: each row is int32 d, then d values."""
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def load_dataset(data_dir, rows):
    base_path = os.path.join(data_dir, "base.fvecs")
    if not os.path.exists(base_path):
        print(f"dataset not found at {data_dir}: using {rows or 10000} generated unit vectors")
        rng = np.random.default_rng(0)
        n = rows or 10000
        base = rng.standard_normal((n, 384)).astype(np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries = rng.standard_normal((10, 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        texts = [f"generated vector {i}" for i in range(n)]
        qtexts = [f"generated query {i}" for i in range(len(queries))]
        return base, texts, queries, qtexts, None
    base = read_vecs(base_path, np.float32)
    queries = read_vecs(os.path.join(data_dir, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(data_dir, "groundtruth.ivecs"), np.int32)
    with open(os.path.join(data_dir, "base.txt"), encoding="utf-8") as f:
        texts = f.read().splitlines()
    with open(os.path.join(data_dir, "query.txt"), encoding="utf-8") as f:
        qtexts = f.read().splitlines()
    if rows:
        base, texts, gt = base[:rows], texts[:rows], None
    return base, texts, queries, qtexts, gt


def copy_binary_rows(ids, texts, vectors):
    """A PostgreSQL binary COPY stream of (int4, text, vector) rows."""
    out = [b"PGCOPY\n\xff\r\n\x00", struct.pack("!ii", 0, 0)]
    dim = vectors.shape[1]
    vec_header = struct.pack("!ihh", 4 + 4 * dim, dim, 0)
    big_endian = vectors.astype(">f4")
    for i, t, v in zip(ids, texts, big_endian):
        tb = t.encode("utf-8")
        out.append(struct.pack("!hii", 3, 4, int(i)))
        out.append(struct.pack("!i", len(tb)) + tb)
        out.append(vec_header + v.tobytes())
    out.append(struct.pack("!h", -1))
    return b"".join(out)


def vector_literal(v):
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", required=True, help="socket directory or host")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--data", default=DEFAULT_DATA, help="dataset directory")
    ap.add_argument("--rows", type=int, default=0, help="load only the first N rows")
    ap.add_argument("--show", type=int, default=3, help="query texts to show")
    ap.add_argument("--k", type=int, default=5, help="neighbours shown per query")
    args = ap.parse_args()

    base, texts, queries, qtexts, gt = load_dataset(args.data, args.rows)
    print(f"dataset: {len(base)} base vectors, {len(queries)} queries, {base.shape[1]} dimensions")

    with psycopg.connect(host=args.host, port=args.port, dbname=args.dbname, user="postgres",
                         autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("DROP EXTENSION IF EXISTS pgvec_hnsw CASCADE")
        conn.execute("CREATE EXTENSION pgvec_hnsw")
        simd = conn.execute("SELECT pgvec_hnsw_simd()").fetchone()[0]
        print(f"distance kernels: {simd}")
        conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, text text, embedding vector({base.shape[1]}))")
        t0 = time.perf_counter()
        stream = copy_binary_rows(range(len(base)), texts, base)
        with conn.cursor() as cur:
            with cur.copy("COPY items (id, text, embedding) FROM STDIN (FORMAT binary)") as copy:
                for off in range(0, len(stream), 1 << 20):
                    copy.write(stream[off:off + (1 << 20)])
        conn.execute("VACUUM ANALYZE items")
        print(f"loaded {len(base)} rows in {time.perf_counter() - t0:.1f} s")

        # Exact nearest neighbours by sequential scan (no index yet).
        conn.execute("SET max_parallel_workers_per_gather = 0")
        times = []
        hits = 0
        for qi in range(min(args.show, len(queries))):
            q = vector_literal(queries[qi])
            t0 = time.perf_counter()
            rows = conn.execute(
                "SELECT id, text, embedding <=> %s::vector AS distance FROM items "
                "ORDER BY embedding <=> %s::vector LIMIT %s", (q, q, args.k)).fetchall()
            times.append(time.perf_counter() - t0)
            print(f"\nquery {qi}: {qtexts[qi]}")
            for rank, (rid, text, dist) in enumerate(rows, 1):
                print(f"  {rank}. {dist:.4f}  {text[:100]}")
            if gt is not None:
                hits += len({r[0] for r in rows} & set(gt[qi][:args.k].tolist()))
        print(f"\nsequential scan: {1000 * np.mean(times):.0f} ms per query over {len(base)} rows")
        if gt is not None:
            print(f"agreement with the dataset's exact top-{args.k}: "
                  f"{hits}/{args.k * min(args.show, len(queries))}")


if __name__ == "__main__":
    sys.exit(main())
