#!/usr/bin/env python3
"""Writes the HNSW benchmark data set: base vectors, query vectors and exact top-k ground truth.

The vectors are shaped like real sentence embeddings: they live near a low-dimensional
subspace (intrinsic dimension 24) of the 384-dimensional space, plus a little isotropic
noise, and every row is normalized to unit length:

    X = normalize_rows(Z @ W + noise * E),  Z ~ N(0,1)^(n x 24), W ~ N(0,1)^(24 x 384), E ~ N(0,1)^(n x 384)

Queries use the same W with fresh Z and E. The seed is fixed, so every run writes the
same bytes. Files use the common TEXMEX formats, read by both ares-bench and
hnswlib_reference.py:

    base.fvecs, query.fvecs   per row: int32 dimension, then dimension float32 values
    groundtruth.ivecs         per query row: int32 k, then k int32 base row numbers, nearest first

The ground truth is exact: brute-force inner products (= 1 - cosine distance on unit
vectors) computed in float64 blocks with numpy.
"""
import argparse
import os
import sys
import time

import numpy as np


def embedding_like(rng, count, mixing, noise):
    latent = rng.standard_normal((count, mixing.shape[0]), dtype=np.float64)
    vectors = latent @ mixing + noise * rng.standard_normal((count, mixing.shape[1]), dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def write_fvecs(path, vectors):
    rows, dimension = vectors.shape
    out = np.empty((rows, dimension + 1), dtype=np.float32)
    out.view(np.int32)[:, 0] = dimension
    out[:, 1:] = vectors
    out.tofile(path)


def write_ivecs(path, table):
    rows, width = table.shape
    out = np.empty((rows, width + 1), dtype=np.int32)
    out[:, 0] = width
    out[:, 1:] = table
    out.tofile(path)


def exact_top_k(base, queries, k, block=256):
    # float64 so that near-ties are ordered the way an exact search would order them.
    base64 = base.astype(np.float64)
    result = np.empty((queries.shape[0], k), dtype=np.int32)
    for start in range(0, queries.shape[0], block):
        similarities = queries[start:start + block].astype(np.float64) @ base64.T
        candidates = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
        candidate_scores = np.take_along_axis(similarities, candidates, axis=1)
        order = np.argsort(-candidate_scores, axis=1, kind="stable")
        result[start:start + block] = np.take_along_axis(candidates, order, axis=1)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (keep it out of git, e.g. under /tmp)")
    parser.add_argument("--count", type=int, default=100_000, help="base vectors")
    parser.add_argument("--queries", type=int, default=1_000, help="query vectors")
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--intrinsic", type=int, default=24, help="intrinsic dimension of the data")
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--k", type=int, default=10, help="ground-truth neighbours per query")
    parser.add_argument("--seed", type=int, default=20240607)
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    mixing = rng.standard_normal((args.intrinsic, args.dimension), dtype=np.float64)
    base = embedding_like(rng, args.count, mixing, args.noise)
    queries = embedding_like(rng, args.queries, mixing, args.noise)
    truth = exact_top_k(base, queries, args.k)

    write_fvecs(os.path.join(args.out, "base.fvecs"), base)
    write_fvecs(os.path.join(args.out, "query.fvecs"), queries)
    write_ivecs(os.path.join(args.out, "groundtruth.ivecs"), truth)
    print(f"wrote {args.count} base and {args.queries} query vectors of dimension {args.dimension} "
          f"and top-{args.k} ground truth to {args.out} in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
