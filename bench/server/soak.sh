#!/usr/bin/env bash
# Soak: ares serve under a steady mixed load for DURATION seconds (default 600), its resident
# memory sampled every 10 s. The load: GetTask at full speed (wrk -t1 -c16) and research
# tasks through blocking SendMessage (wrk -t1 -c4: at most 4 tasks at once, so the server
# keeps up and nothing queues). Prints the RSS series and first/last-minute means.
#
#   bash bench/server/soak.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-600}
ARES=.build/release/ares
PORT=18490
WORK=$(mktemp -d /tmp/ares-soak.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }

"$ARES" ingest docs --data-dir "$WORK/data" > /dev/null 2>&1
KEY=$("$ARES" keys create --role admin --name soak --data-dir "$WORK/data" 2>/dev/null)
"$ARES" serve --port $PORT --data-dir "$WORK/data" --rate-limits off > "$WORK/ares.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
TASK=$(curl -s "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/"$PID"/status; }
echo "machine: $(nproc) cores; $(date -u +%FT%TZ); duration ${DURATION}s; idle RSS $(rss) MB"

ARES_KEY=$KEY ARES_TASK=$TASK wrk -t1 -c16 -d"${DURATION}s" --latency -s bench/server/get_task.lua "http://127.0.0.1:$PORT/a2a" > "$WORK/get.txt" 2>&1 &
ARES_KEY=$KEY RETURN_IMMEDIATELY=0 wrk -t1 -c4 -d"${DURATION}s" --latency -s bench/server/send_message.lua "http://127.0.0.1:$PORT/a2a" > "$WORK/send.txt" 2>&1 &
SAMPLES=()
for ((t = 10; t <= DURATION; t += 10)); do
  sleep 10
  SAMPLES+=("$(rss)")
  printf 't=%4ds RSS %s MB\n' "$t" "${SAMPLES[-1]}"
done
wait %2 %3 2>/dev/null || true
n=${#SAMPLES[@]}
first=$(printf '%s\n' "${SAMPLES[@]:0:6}" | awk '{s+=$1} END {printf "%.1f", s/NR}')
last=$(printf '%s\n' "${SAMPLES[@]:$((n-6)):6}" | awk '{s+=$1} END {printf "%.1f", s/NR}')
max=$(printf '%s\n' "${SAMPLES[@]}" | sort -n | tail -1)
echo "RSS mean first minute ${first} MB, last minute ${last} MB, max ${max} MB"
echo "GetTask:      $(awk '/Requests\/sec/ {print $2}' "$WORK/get.txt") req/s, p99 $(awk '$1=="99%" {print $2}' "$WORK/get.txt")"
echo "SendMessage:  $(awk '/Requests\/sec/ {print $2}' "$WORK/send.txt") tasks/s (blocking, research to the end), p99 $(awk '$1=="99%" {print $2}' "$WORK/send.txt")"
grep -h "Non-2xx\|Socket errors\|unexpected answer" "$WORK/get.txt" "$WORK/send.txt" || echo "errors: none"
ls -la "$WORK/data" | awk '{print "  " $5, $9}'
grep -E "^(Rss|Pss_Anon|Pss_File|Pss_Shmem)" /proc/$PID/smaps_rollup || true
echo "tasks completed: $(curl -s "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $KEY" | awk -F' ' '/^ares_tasks_ended_total\{state="completed"\}/ {print $2}')"
