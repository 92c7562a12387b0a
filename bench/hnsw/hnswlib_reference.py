#!/usr/bin/env python3
"""hnswlib side of the HNSW benchmark: builds (or loads) an hnswlib index over the same
files as `ares-bench hnsw` and measures the same things the same way.

    build      seconds for add_items with --threads threads (M, efConstruction as given)
    recall@10  mean fraction of the exact top-10 found in the returned top-10
    QPS        single-thread: knn_query over all queries at once with num_threads=1 (hnswlib's
               fastest single-thread path: one Python call for the whole batch); median of --rounds
    p50/p99    per-query latency from one knn_query call per query, so it includes a few
               microseconds of Python call overhead that the QPS figure does not

Space 'ip' (distance = 1 - dot product) on the unit vectors, which is exactly ares's cosine
distance. --json writes a machine-readable summary that run.sh merges with ares's.
"""
import argparse
import importlib.metadata
import json
import statistics
import sys
import time

import numpy as np

try:
    import hnswlib
except ImportError:  # run.sh installs it; say so plainly when run by hand
    sys.exit("hnswlib is not installed: pip install hnswlib")


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        sys.exit(f"{path}: empty file")
    dimension = int(raw[0])
    if dimension <= 0 or raw.size % (dimension + 1) != 0:
        sys.exit(f"{path}: not a .fvecs/.ivecs file (dimension {dimension}, {raw.size} words)")
    rows = raw.reshape(-1, dimension + 1)
    if not np.all(rows[:, 0] == dimension):
        sys.exit(f"{path}: rows of different dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def recall_at(results, truth, k):
    hits = sum(len(set(found[:k]) & set(expected[:k])) for found, expected in zip(results, truth))
    return hits / (len(truth) * k)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", default="32,64,128,256", help="comma-separated list")
    parser.add_argument("--threads", default="1", help="build threads; a comma-separated list builds once per value")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="query passes per efSearch (median reported)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--save-index", help="write the (last) built index here")
    parser.add_argument("--load-index", help="skip the build and load this index")
    parser.add_argument("--skip-search", action="store_true", help="only build (and save)")
    parser.add_argument("--json", help="write a summary as JSON to this file")
    args = parser.parse_args()

    base = read_vecs(args.base, np.float32)
    queries = read_vecs(args.queries, np.float32)
    truth = read_vecs(args.truth, np.int32)
    count, dimension = base.shape
    ef_values = [int(value) for value in args.ef_search.split(",") if value]
    try:
        version = importlib.metadata.version("hnswlib")
    except importlib.metadata.PackageNotFoundError:  # e.g. installed with --target
        version = getattr(hnswlib, "__version__", "unknown")
    summary = {"library": "hnswlib", "version": version,
               "count": count, "dimension": dimension, "m": args.m,
               "efConstruction": args.ef_construction, "builds": [], "search": []}
    print(f"hnswlib: {count} x {dimension} base, {len(queries)} queries, M={args.m}, efC={args.ef_construction}")

    index = None
    if args.load_index:
        index = hnswlib.Index(space="ip", dim=dimension)
        started = time.perf_counter()
        index.load_index(args.load_index, max_elements=count)
        summary["loadSeconds"] = time.perf_counter() - started
        print(f"  load: {summary['loadSeconds']:.3f} s")
    else:
        for threads in [int(value) for value in args.threads.split(",") if value]:
            index = hnswlib.Index(space="ip", dim=dimension)
            index.init_index(max_elements=count, ef_construction=args.ef_construction, M=args.m,
                             random_seed=args.seed)
            started = time.perf_counter()
            index.add_items(base, np.arange(count), num_threads=threads)
            seconds = time.perf_counter() - started
            summary["builds"].append({"threads": threads, "seconds": seconds})
            print(f"  build ({threads} thread{'s' if threads != 1 else ''}): {seconds:.2f} s")
        if args.save_index and index is not None:
            index.save_index(args.save_index)

    if not args.skip_search and index is not None:
        print(f"  {'efSearch':>8} {'recall@10':>9} {'QPS':>9} {'p50 us':>8} {'p99 us':>8}")
        for ef in ef_values:
            index.set_ef(ef)
            rates = []
            labels = None
            for _ in range(max(args.rounds, 1)):
                started = time.perf_counter()
                labels, _ = index.knn_query(queries, k=args.k, num_threads=1)
                rates.append(len(queries) / (time.perf_counter() - started))
            latencies = []
            for row in range(len(queries)):
                started = time.perf_counter_ns()
                index.knn_query(queries[row:row + 1], k=args.k, num_threads=1)
                latencies.append((time.perf_counter_ns() - started) / 1000)
            latencies.sort()
            entry = {"ef": ef, "recall": recall_at(labels, truth, 10), "qps": statistics.median(rates),
                     "qpsRounds": rates, "p50us": latencies[len(latencies) // 2],
                     "p99us": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}
            summary["search"].append(entry)
            print(f"  {ef:>8} {entry['recall']:>9.4f} {entry['qps']:>9.0f} {entry['p50us']:>8.0f} {entry['p99us']:>8.0f}")

    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=1)


if __name__ == "__main__":
    main()
