#!/usr/bin/env bash
# ares serve on PostgreSQL, two replicas, against one embedded (SQLite) server, in one run
# (issue 16's targets: SendMessage returnImmediately through two replicas ≥ 50 % of the
# embedded server's req/s with p99 ≤ 50 ms; GetTask through both ≥ 80 %).
#
#   bash bench/postgres/replicas.sh [DURATION_SECONDS] [CONNECTIONS]     (defaults 10 and 64; ARES=PATH: another build;
#                                                                        REPLICA_WORKERS=N: each replica's --max-running-tasks, default 2)
#
# Load: two wrk processes at once, each -t1 -c(CONNECTIONS/2). Embedded: both on the one
# server; PostgreSQL: one on each replica (what a load balancer in front would do). req/s is
# the sum of the two, p99 the larger of the two. The throwaway cluster comes from
# scripts/postgres-test-cluster.sh (fsync on, synchronous_commit on, the password in a file).
# Everything shares the machine's cores: compare the ratios of one run, not numbers across runs.
#
# Needs: wrk (apt-get install wrk), python3, PostgreSQL 15, a release build
# (swift build -c release --product ares).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
HALF=$(( CONNECTIONS / 2 ))
ARES=${ARES:-.build/release/ares}
WORK=$(mktemp -d /tmp/ares-replica-bench.XXXXXX)
# Its own folder under /tmp: the postgres user must reach it (WORK is private to this user).
CLUSTER=$(mktemp -d /tmp/ares-replica-pg.XXXXXX)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  bash scripts/postgres-test-cluster.sh stop "$CLUSTER" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }

# Two wrk at once; prints one line: name, summed req/s, larger p99.
wrk_pair() { # name urlA urlB script [env...]
  local name=$1 a=$2 b=$3 script=$4; shift 4
  # Each its own MESSAGE_PREFIX: the same messageIds from both would make half the SendMessages repeats.
  env "$@" MESSAGE_PREFIX=wrk-a wrk -t1 -c"$HALF" -d"${DURATION}s" --latency -s "$script" "$a" > "$WORK/$name.a.txt" 2>&1 &
  local first=$!
  env "$@" MESSAGE_PREFIX=wrk-b wrk -t1 -c"$HALF" -d"${DURATION}s" --latency -s "$script" "$b" > "$WORK/$name.b.txt" 2>&1 || true
  wait $first || true
  python3 - "$name" "$WORK/$name.a.txt" "$WORK/$name.b.txt" <<'PY'
import re, sys
name, files = sys.argv[1], sys.argv[2:]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps, p99, errors = 0.0, 0.0, []
for path in files:
    text = open(path).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = max(p99, ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
    errors += re.findall(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", text)
print(f"{name:<52} {rps:10.0f} req/s   p99 {p99:7.2f} ms   {' '.join(errors)}")
PY
}

seed_task() { # url key → id of a finished task
  curl -s "$1/a2a" -H "Authorization: Bearer $2" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])'
}

wait_ready() { # url
  for _ in $(seq 600); do curl -sf "$1/health/ready" >/dev/null && return 0; sleep 0.1; done
  echo "not ready: $1"; exit 1
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB, $(uname -sr), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'); $(date -u +%FT%H:%MZ); 2 × wrk -t1 -c$HALF -d${DURATION}s"

"$ARES" ingest docs --data-dir "$WORK/embedded" > /dev/null 2>&1
cp -r "$WORK/embedded" "$WORK/replica-a"
cp -r "$WORK/embedded" "$WORK/replica-b"
SERVE=(--max-queued-tasks 10000000 --max-running-tasks 2 --rate-limits off)
# Each replica's research workers (REPLICA_WORKERS; default 2, as the embedded server's): with 1,
# the two replicas together run as many tasks at once as the embedded server, on the same cores.
REPLICA_SERVE=(--max-queued-tasks 10000000 --max-running-tasks "${REPLICA_WORKERS:-2}" --rate-limits off)

# The embedded server alone on the machine.
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/embedded" 2>/dev/null)
"$ARES" serve --port 18490 --data-dir "$WORK/embedded" "${SERVE[@]}" > "$WORK/embedded.log" 2>&1 &
EMBEDDED_PID=$!
wait_ready http://127.0.0.1:18490
TASK=$(seed_task http://127.0.0.1:18490 "$KEY")
wrk_pair "embedded GetTask (finished task, with report)" http://127.0.0.1:18490/a2a http://127.0.0.1:18490/a2a \
  bench/server/get_task.lua ARES_KEY="$KEY" ARES_TASK="$TASK"
wrk_pair "embedded SendMessage returnImmediately" http://127.0.0.1:18490/a2a http://127.0.0.1:18490/a2a \
  bench/server/send_message.lua ARES_KEY="$KEY" RETURN_IMMEDIATELY=1
kill "$EMBEDDED_PID"; wait "$EMBEDDED_PID" 2>/dev/null || true

# Two replicas on one throwaway PostgreSQL cluster.
eval "$(bash scripts/postgres-test-cluster.sh start "$CLUSTER" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE
# The same documents in the database's knowledge base, which the replicas serve (their data
# directories' copies are not read with --database): their tasks research as the embedded
# server's do. (Before 2026-12-01 they were not ingested there, and the replicas' tasks ran on
# an empty knowledge base.)
"$ARES" ingest docs --data-dir "$WORK/replica-a" > "$WORK/ingest-database.log" 2>&1 || { cat "$WORK/ingest-database.log"; exit 1; }
PG_KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/replica-a" 2>/dev/null)
"$ARES" serve --port 18491 --data-dir "$WORK/replica-a" --replica-id bench-a "${REPLICA_SERVE[@]}" > "$WORK/replica-a.log" 2>&1 &
"$ARES" serve --port 18492 --data-dir "$WORK/replica-b" --replica-id bench-b "${REPLICA_SERVE[@]}" > "$WORK/replica-b.log" 2>&1 &
wait_ready http://127.0.0.1:18491
wait_ready http://127.0.0.1:18492
PG_TASK=$(seed_task http://127.0.0.1:18491 "$PG_KEY")
wrk_pair "2 replicas on PostgreSQL GetTask (finished task)" http://127.0.0.1:18491/a2a http://127.0.0.1:18492/a2a \
  bench/server/get_task.lua ARES_KEY="$PG_KEY" ARES_TASK="$PG_TASK"
wrk_pair "2 replicas on PostgreSQL SendMessage returnImmediately" http://127.0.0.1:18491/a2a http://127.0.0.1:18492/a2a \
  bench/server/send_message.lua ARES_KEY="$PG_KEY" RETURN_IMMEDIATELY=1
