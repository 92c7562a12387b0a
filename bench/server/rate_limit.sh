#!/usr/bin/env bash
# What the per-principal rate limiter costs `ares serve` (issue 11): GetTask under wrk with the
# limiter off and with a limit far above what wrk can reach (so every request takes a token and
# none is refused), alternating in one run, on the same data directory and task.
#
#   bash bench/server/rate_limit.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]   (defaults 10, 64, 2)
#
# Needs: wrk, curl, python3 and a release build (swift build -c release --product ares).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${3:-2}
ARES=${ARES:-.build/release/ares}
PORT=18495
WORK=$(mktemp -d /tmp/ares-rate-bench.XXXXXX)
ARES_PID=
stop_ares() { if [ -n "$ARES_PID" ]; then kill "$ARES_PID" 2>/dev/null || true; wait "$ARES_PID" 2>/dev/null || true; ARES_PID=; fi; }
trap 'stop_ares; rm -rf "$WORK"' EXIT
for tool in wrk curl python3; do command -v $tool >/dev/null || { echo "$tool is missing: apt-get install $tool"; exit 2; }; done
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }

"$ARES" ingest docs --data-dir "$WORK/data" > /dev/null 2>&1
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/data" 2>/dev/null)

start_ares() { # rules
  "$ARES" serve --port $PORT --data-dir "$WORK/data" --rate-limits "$1" > "$WORK/ares.log" 2>&1 &
  ARES_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && return; sleep 0.1; done
  echo "ares did not start: $(tail -3 "$WORK/ares.log")"; exit 1
}

start_ares off
TASK=$(curl -s "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
stop_ares

echo "machine: $(nproc) cores; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d${DURATION}s; $ROUNDS rounds, alternating"
for round in $(seq "$ROUNDS"); do
  for rules in off "read=1000000/s:10000000,write=1000000/s:10000000"; do
    start_ares "$rules"
    ARES_KEY=$KEY ARES_TASK=$TASK wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/server/get_task.lua "http://127.0.0.1:$PORT/a2a" > "$WORK/wrk.txt" 2>&1 || true
    printf 'round %s  rate limits %-50s %10s req/s  p99 %-8s %s\n' "$round" "$rules" \
      "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")" "$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")" \
      "$(awk '/Non-2xx/ {print $5" non-2xx"}' "$WORK/wrk.txt")"
    stop_ares
  done
done
