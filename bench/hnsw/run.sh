#!/usr/bin/env bash
# Benchmarks the ares HNSW index against hnswlib on the same data, side by side, and prints
# one table: build seconds per thread count, then per efSearch recall@10, single-thread QPS
# and p50/p99 latency, plus index load times.
#
# Usage (from anywhere): bench/hnsw/run.sh
# Settings, by environment variable:
#   ARES_HNSW_DATA  folder for vectors, indexes and results (default /tmp/ares-hnsw-bench; keep it out of git)
#   COUNT           base vectors (default 100000; 20000 for a quick run)
#   THREADS         build thread counts, comma-separated (default 1,2)
#   EF_SEARCH       efSearch values (default 32,64,128,256)
#   ROUNDS          interleaved query rounds per library (default 3); each round is 3 timed passes
#   TARGET_CPU      -target-cpu for the Swift build (default native, matching hnswlib's pip build,
#                   which compiles with -march=native). Set it empty (TARGET_CPU=) for a portable
#                   comparison: the default Swift build against hnswlib compiled with
#                   HNSWLIB_NO_NATIVE=1 (installed once under $ARES_HNSW_DATA/hnswlib-portable).
#
# The machine may be shared and noisy: builds alternate library by library, query rounds
# alternate between the libraries, and the table reports medians.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA_ROOT="${ARES_HNSW_DATA:-/tmp/ares-hnsw-bench}"
COUNT="${COUNT:-100000}"
THREADS="${THREADS:-1,2}"
EF_SEARCH="${EF_SEARCH:-32,64,128,256}"
ROUNDS="${ROUNDS:-3}"
TARGET_CPU="${TARGET_CPU-native}"
M=16
EF_CONSTRUCTION=200

DATA="$DATA_ROOT/n$COUNT"
RESULTS="$DATA/results"
mkdir -p "$DATA" "$RESULTS"
rm -f "$RESULTS"/*.json

if [[ -n "$TARGET_CPU" ]]; then
    if ! python3 -c "import hnswlib" 2>/dev/null; then
        echo "== installing hnswlib (pip)" >&2
        python3 -m pip install --quiet hnswlib >&2
    fi
    HNSWLIB_BUILD="pip, -march=native"
else
    # Portable: hnswlib without -march=native, kept apart from the regular install.
    PORTABLE="$DATA_ROOT/hnswlib-portable"
    # The regular install is importable too, so check that the module really comes from $PORTABLE.
    if ! PYTHONPATH="$PORTABLE" python3 -c "import hnswlib, sys; sys.exit(not hnswlib.__file__.startswith('$PORTABLE'))" 2>/dev/null; then
        echo "== building a portable hnswlib (HNSWLIB_NO_NATIVE=1) into $PORTABLE" >&2
        HNSWLIB_NO_NATIVE=1 python3 -m pip install --quiet --no-cache-dir --no-deps --target "$PORTABLE" hnswlib >&2
    fi
    export PYTHONPATH="$PORTABLE${PYTHONPATH:+:$PYTHONPATH}"
    HNSWLIB_BUILD="pip, HNSWLIB_NO_NATIVE=1"
fi

if [[ ! -f "$DATA/base.fvecs" || ! -f "$DATA/query.fvecs" || ! -f "$DATA/groundtruth.ivecs" ]]; then
    echo "== writing $COUNT vectors and exact ground truth to $DATA" >&2
    python3 "$HERE/make_vectors.py" --out "$DATA" --count "$COUNT"
fi

SWIFT_FLAGS=(-c release --product ares-bench)
if [[ -n "$TARGET_CPU" ]]; then
    SWIFT_FLAGS+=(-Xswiftc -target-cpu -Xswiftc "$TARGET_CPU" --scratch-path "$ROOT/.build-bench-$TARGET_CPU")
fi
echo "== swift build ${SWIFT_FLAGS[*]}" >&2
(cd "$ROOT" && swift build "${SWIFT_FLAGS[@]}" >&2)
ARES_BENCH="$(cd "$ROOT" && swift build "${SWIFT_FLAGS[@]}" --show-bin-path)/ares-bench"

FILES=(--base "$DATA/base.fvecs" --queries "$DATA/query.fvecs" --truth "$DATA/groundtruth.ivecs")
COMMON=(--m "$M" --ef-construction "$EF_CONSTRUCTION" --ef-search "$EF_SEARCH")
FIRST_THREADS="${THREADS%%,*}"

# Builds: one per library per thread count, alternating. The index built with the first thread
# count is saved, and every query round below loads it.
for threads in ${THREADS//,/ }; do
    save_hnswlib=() save_ares=()
    if [[ "$threads" == "$FIRST_THREADS" ]]; then
        save_hnswlib=(--save-index "$DATA/hnswlib.index")
        save_ares=(--save-index "$DATA/ares.index")
    fi
    echo "== build, $threads thread(s): hnswlib" >&2
    python3 "$HERE/hnswlib_reference.py" "${FILES[@]}" "${COMMON[@]}" --threads "$threads" --skip-search \
        "${save_hnswlib[@]}" --json "$RESULTS/build-hnswlib-$threads.json" >&2
    echo "== build, $threads thread(s): ares" >&2
    "$ARES_BENCH" hnsw "${FILES[@]}" "${COMMON[@]}" --threads "$threads" --skip-search \
        "${save_ares[@]}" --json "$RESULTS/build-ares-$threads.json" >&2
done

# Queries: rounds alternate between the libraries so that both see the same machine noise.
for round in $(seq 1 "$ROUNDS"); do
    echo "== query round $round/$ROUNDS: hnswlib" >&2
    python3 "$HERE/hnswlib_reference.py" "${FILES[@]}" "${COMMON[@]}" --load-index "$DATA/hnswlib.index" \
        --rounds 3 --json "$RESULTS/search-hnswlib-$round.json" >&2
    echo "== query round $round/$ROUNDS: ares" >&2
    "$ARES_BENCH" hnsw "${FILES[@]}" "${COMMON[@]}" --load-index "$DATA/ares.index" \
        --rounds 3 --json "$RESULTS/search-ares-$round.json" >&2
done

python3 - "$RESULTS" "$TARGET_CPU" "$HNSWLIB_BUILD" <<'EOF'
import glob
import json
import os
import statistics
import sys

results, target_cpu, hnswlib_build = sys.argv[1], sys.argv[2], sys.argv[3]

def load(pattern):
    return [json.load(open(path)) for path in sorted(glob.glob(os.path.join(results, pattern)))]

builds = {library: {} for library in ("hnswlib", "ares")}
for summary in load("build-*.json"):
    for build in summary["builds"]:
        builds[summary["library"]][build["threads"]] = build["seconds"]
searches = {library: load(f"search-{library}-*.json") for library in ("hnswlib", "ares")}
first = searches["ares"][0]
print()
print(f"HNSW benchmark: {first['count']} x {first['dimension']} unit vectors, M={first['m']}, "
      f"efConstruction={first['efConstruction']}")
print(f"ares: swift build -c release{' -Xswiftc -target-cpu -Xswiftc ' + target_cpu if target_cpu else ' (portable default)'}; "
      f"hnswlib {searches['hnswlib'][0].get('version', '')} ({hnswlib_build})")
print()
print("Build (seconds; ratio < 1 means ares is faster)")
print(f"  {'threads':>7} {'hnswlib':>9} {'ares':>9} {'ares/hnswlib':>13}")
for threads in sorted(builds["ares"]):
    h, a = builds["hnswlib"].get(threads), builds["ares"][threads]
    ratio = f"{a / h:13.2f}" if h else f"{'-':>13}"
    print(f"  {threads:>7} {h or float('nan'):9.2f} {a:9.2f} {ratio}")
print()
rounds = len(searches["ares"])
print(f"Search, one thread, k=10 (median over {rounds} interleaved rounds x 3 passes; QPS ratio > 1 means ares is faster)")
print(f"  {'efSearch':>8} | {'recall@10':>9} {'':>6} | {'QPS':>7} {'':>7} {'ares/':>6} | {'p50 us':>6} {'':>6} | {'p99 us':>6} {'':>6}")
print(f"  {'':>8} | {'hnswlib':>9} {'ares':>6} | {'hnswlib':>7} {'ares':>7} {'hnsw':>6} | {'hnswlib':>6} {'ares':>6} | {'hnswlib':>6} {'ares':>6}")

def median_of(library, ef, key):
    values = []
    for summary in searches[library]:
        for entry in summary["search"]:
            if entry["ef"] == ef:
                values.extend(entry["qpsRounds"] if key == "qps" else [entry[key]])
    return statistics.median(values)

for entry in first["search"]:
    ef = entry["ef"]
    hq, aq = median_of("hnswlib", ef, "qps"), median_of("ares", ef, "qps")
    print(f"  {ef:>8} | {median_of('hnswlib', ef, 'recall'):9.4f} {median_of('ares', ef, 'recall'):6.4f} | "
          f"{hq:7.0f} {aq:7.0f} {aq / hq:6.2f} | "
          f"{median_of('hnswlib', ef, 'p50us'):6.0f} {median_of('ares', ef, 'p50us'):6.0f} | "
          f"{median_of('hnswlib', ef, 'p99us'):6.0f} {median_of('ares', ef, 'p99us'):6.0f}")
print()
load_h = statistics.median(s["loadSeconds"] for s in searches["hnswlib"])
load_a = statistics.median(s["loadSeconds"] for s in searches["ares"])
print(f"Index load from file (median): hnswlib {load_h:.3f} s, ares {load_a:.3f} s (ares also verifies an XXH64 checksum "
      f"and every link)")
serialization = [s.get("serialization") for s in load("build-ares-*.json") if s.get("serialization")]
if serialization:
    s = serialization[0]
    print(f"ares round trip: serialized() {s['serializeSeconds']:.3f} s, {s['bytes'] / 1e6:.1f} MB; reload {s['loadSeconds']:.3f} s; "
          f"identical results on {s['identicalResults']}/{s['queries']} queries")
print("hnswlib p50/p99 include ~5-10 us of Python call overhead per query (one knn_query call each); "
      "its QPS does not (one batched call, num_threads=1).")
EOF
