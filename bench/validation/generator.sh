#!/usr/bin/env bash
# How fast the load generator of `ares validate` is: open loop at fixed arrival rates against a
# trivial endpoint, the generator pinned to one core and the endpoint to the other, side by side
# with wrk's closed-loop maximum on the same core against the same endpoint, in the same run.
# The endpoint is HAProxy answering a fixed JSON body itself (`http-request return`, one thread):
# `ares serve` on one core tops out near wrk's maximum and would measure the server, not the
# generator. ENDPOINT=ares uses the agent card of `ares serve --dev --no-request-log` instead.
#
#   bash bench/validation/generator.sh [DURATION_SECONDS] [RATES]     (defaults 10 and "10000 20000 30000")
#
# Needs: wrk (apt-get install wrk), haproxy (apt-get install haproxy), taskset (util-linux) and a release build
# (swift build -c release --product ares; or ARES=path/to/ares). Prints one line per rate:
# asked, achieved (successful answers/s), p50/p99 from the due time, unsent, and the
# generator's own send lag (how late it sent behind schedule: large means the generator,
# not the server, was the limit).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
RATES=${2:-"10000 20000 30000"}
ARES=${ARES:-.build/release/ares}
PORT=18490
WORK=$(mktemp -d /tmp/ares-generator-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
command -v taskset >/dev/null || { echo "taskset is missing: apt-get install util-linux"; exit 2; }
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares (or set ARES)"; exit 2; }

ENDPOINT=${ENDPOINT:-haproxy}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB; $(date -u +%F); generator and wrk on core 0, $ENDPOINT on core 1"
mkdir -p "$WORK/data"
if [ "$ENDPOINT" = ares ]; then
  taskset -c 1 "$ARES" serve --dev --no-request-log --port "$PORT" --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
else
  command -v haproxy >/dev/null || { echo "haproxy is missing: apt-get install haproxy (or ENDPOINT=ares)"; exit 2; }
  cat > "$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  timeout client 30s
  timeout server 30s
  timeout connect 5s
frontend trivial
  bind 127.0.0.1:$PORT
  http-request return status 200 content-type application/json string "{\"name\":\"trivial\",\"version\":\"0\"}"
CFG
  taskset -c 1 haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
fi
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/.well-known/agent-card.json" >/dev/null 2>&1 && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

for rate in $RATES; do
  cat > "$WORK/plan.json" <<JSON
{"name": "generator-$rate", "mix": {"AgentCard": 1}, "maximumInFlight": 256,
 "phases": [{"name": "open-loop-$rate", "kind": "load", "rate": $rate, "durationSeconds": $DURATION}]}
JSON
  taskset -c 0 "$ARES" validate --target "$URL" --plan "$WORK/plan.json" --skip-probes --task-loss-deadline 1 \
    --out "$WORK/out-$rate" > /dev/null 2> "$WORK/validate-$rate.log" || true
  python3 - "$WORK/out-$rate/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
m = report["phases"][0]["measurement"]
ok = m["outcomes"].get("ok", 0)
seconds = max(m["durationSeconds"], m["elapsedSeconds"])
print(f'ares validate open loop  asked {m["askedRate"]:>8.0f}/s  achieved {ok / seconds:>9.1f}/s  '
      f'p50 {m["latency"]["p50"]:.2f} ms  p99 {m["latency"]["p99"]:.2f} ms  max {m["latency"]["max"]:.1f} ms  '
      f'unsent {m["outcomes"].get("unsent", 0)}  other failures {sum(v for k, v in m["outcomes"].items() if k not in ("ok", "unsent"))}  '
      f'send lag p50/p99 {m["sendLag"]["p50"]:.2f}/{m["sendLag"]["p99"]:.2f} ms')
PY
done

taskset -c 0 wrk -t1 -c64 -d"${DURATION}s" --latency "$URL/.well-known/agent-card.json" > "$WORK/wrk.txt" 2>&1 || true
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
echo "wrk closed loop (-t1 -c64)  max ${rps}/s  p50 ${p50}  p99 ${p99}"
