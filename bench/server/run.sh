#!/usr/bin/env bash
# Server benchmark: ares serve (release build) under wrk, side by side with the official Python
# A2A SDK server (a2a-sdk 1.3.0, one uvicorn worker, an echo agent) in the same run.
#
#   bash bench/server/run.sh [DURATION_SECONDS] [CONNECTIONS]      (defaults 15 and 64)
#
# Needs: wrk (apt-get install wrk), a release build (swift build -c release --product ares),
# and the interop venv (bash scripts/install-interop-clients.sh). wrk, the servers and this
# script share the machine's cores: compare the ratios of one run, not numbers across runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15}
CONNECTIONS=${2:-64}
ARES=.build/release/ares
PYTHON=.venv-interop/bin/python
PORT=18480
PY_PORT=18481
WORK=$(mktemp -d /tmp/ares-server-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }
[ -x "$PYTHON" ] || { echo "no interop venv: bash scripts/install-interop-clients.sh"; exit 2; }

rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/"$1"/status; }
wrk_run() { # name url script [env...]
  local name=$1 url=$2 script=$3; shift 3
  env "$@" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" > "$WORK/$name.txt" 2>&1 || true
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")
  errors=$(awk '/Non-2xx/ {print $5} /Socket errors/ {print $0}' "$WORK/$name.txt" | tr '\n' ' ')
  printf '%-44s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d${DURATION}s"

# ares: a data directory with the project's docs, one admin key, one finished task.
"$ARES" ingest docs --data-dir "$WORK/data" > /dev/null 2>&1
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/data" 2>/dev/null)
# Rate limits off: one key makes every request here, and this measures the server, not the
# per-principal limiter (bench/server/rate_limit.sh measures that).
"$ARES" serve --port $PORT --data-dir "$WORK/data" --max-queued-tasks 10000000 --max-running-tasks 2 --rate-limits off \
  > "$WORK/ares.log" 2>&1 &
ARES_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
TASK=$(curl -s "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
  | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
sleep 1
echo "ares idle RSS: $(rss $ARES_PID) MB"

# The reference: the Python SDK server with an echo agent, one uvicorn worker.
"$PYTHON" bench/server/python_sdk_echo_server.py --port $PY_PORT --no-tck > "$WORK/python.log" 2>&1 &
PY_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PY_PORT/.well-known/agent-card.json" >/dev/null && break; sleep 0.1; done
PY_TASK=$(curl -s "http://127.0.0.1:$PY_PORT/" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"hello"}]}}}' \
  | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
echo "python SDK idle RSS: $(rss $PY_PID) MB"
echo

wrk_run "ares GetTask (finished task, with report)" "http://127.0.0.1:$PORT/a2a" bench/server/get_task.lua ARES_KEY="$KEY" ARES_TASK="$TASK"
wrk_run "python-sdk GetTask (echo task)" "http://127.0.0.1:$PY_PORT/" bench/server/get_task.lua ARES_KEY= ARES_TASK="$PY_TASK"
wrk_run "ares agent card" "http://127.0.0.1:$PORT/.well-known/agent-card.json" bench/server/card.lua
wrk_run "python-sdk agent card" "http://127.0.0.1:$PY_PORT/.well-known/agent-card.json" bench/server/card.lua
wrk_run "ares SendMessage returnImmediately" "http://127.0.0.1:$PORT/a2a" bench/server/send_message.lua ARES_KEY="$KEY" RETURN_IMMEDIATELY=1
wrk_run "python-sdk SendMessage (echo, blocking)" "http://127.0.0.1:$PY_PORT/" bench/server/send_message.lua ARES_KEY= RETURN_IMMEDIATELY=0
wrk_run "python-sdk SendMessage returnImmediately" "http://127.0.0.1:$PY_PORT/" bench/server/send_message.lua ARES_KEY= RETURN_IMMEDIATELY=1
echo
echo "ares RSS after load: $(rss $ARES_PID) MB (tasks still queued: $(curl -s "http://127.0.0.1:$PORT/health/ready" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["checks"]["tasks"])'))"
echo "python SDK RSS after load: $(rss $PY_PID) MB"
echo "ares request log lines: $(grep -c '"msg":"request"' "$WORK/ares.log")"
