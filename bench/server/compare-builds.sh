#!/usr/bin/env bash
# The embedded server's SendMessage (returnImmediately, durable) for two or more builds,
# alternating, ROUNDS times: "the embedded default must not get slower", measured in pairs
# because this machine's speed drifts within minutes (compare builds within a round, and the
# medians over many rounds; one pair proves nothing).
#
#   bash bench/server/compare-builds.sh ROUNDS BINARY BINARY...     e.g. 10 /tmp/bins/ares-3f283ab .build/release/ares
#
# Each run: a fresh copy of one data directory with docs/ ingested (by the first binary), a new
# admin key, `ares serve` with the queue limits off, two `wrk -t1 -c32 -d10s` at once (as
# bench/postgres/replicas.sh loads the embedded server), then the server killed. Prints one line
# per run (round, build, req/s, load average) and the medians at the end.
#
# Needs: wrk (apt-get install wrk), python3, release builds (swift build -c release --product ares).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:?rounds}; shift
[ $# -ge 2 ] || { echo "give two or more ares binaries"; exit 2; }
for bin in "$@"; do [ -x "$bin" ] || { echo "not an executable: $bin"; exit 2; }; done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
WORK=$(mktemp -d /tmp/ares-compare-builds.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=18493

"$1" ingest docs --data-dir "$WORK/seed" > /dev/null 2>&1
echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%FT%H:%MZ); $ROUNDS rounds of $#  builds"
for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$WORK/data"; cp -r "$WORK/seed" "$WORK/data"
    key=$("$bin" keys create --role admin --name bench --data-dir "$WORK/data" 2>/dev/null)
    "$bin" serve --port "$PORT" --data-dir "$WORK/data" --max-queued-tasks 10000000 --max-running-tasks 2 --rate-limits off > "$WORK/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
    ARES_KEY="$key" RETURN_IMMEDIATELY=1 MESSAGE_PREFIX=wrk-a wrk -t1 -c32 -d10s --latency -s bench/server/send_message.lua "http://127.0.0.1:$PORT/a2a" > "$WORK/a.txt" 2>&1 &
    first=$!
    ARES_KEY="$key" RETURN_IMMEDIATELY=1 MESSAGE_PREFIX=wrk-b wrk -t1 -c32 -d10s --latency -s bench/server/send_message.lua "http://127.0.0.1:$PORT/a2a" > "$WORK/b.txt" 2>&1 || true
    wait "$first" || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rps=$(awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}' "$WORK/a.txt" "$WORK/b.txt")
    echo "round $round $bin $rps req/s load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$WORK/results"
  done
done
python3 - "$WORK/results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    fields = line.split()
    runs[fields[2]].append(int(fields[3]))
for build, values in runs.items():
    print(f"{build}: median {statistics.median(values):.0f} req/s, mean {statistics.mean(values):.0f}, range {min(values)}-{max(values)} over {len(values)} runs")
PY
