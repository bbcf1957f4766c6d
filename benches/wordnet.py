#!/usr/bin/env python3
"""Dataset helpers of the benchmark (benches/hnsw_bench.py): read the wordnet-minilm-384
embeddings and their texts, and build a binary COPY stream of them.

Reads the TEXMEX files of ../shared/data/wordnet-minilm-384 (override with --data or
PGVEC_HNSW_DATA); where they are absent it says so and uses generated unit vectors.
Vectors are loaded with `COPY … (FORMAT binary)`, i.e. through `vector_recv`.
"""
import os
import struct

import numpy as np

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


