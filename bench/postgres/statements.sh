#!/usr/bin/env bash
# What PostgreSQL runs per research task on ares replicas: N SendMessage (returnImmediately)
# spread over the replicas, then, once every task has ended, pg_stat_statements' calls and
# execution time per task, by statement. Counts, not timings: it may run beside other work.
#
#   bash bench/postgres/statements.sh [N] [REPLICAS]       (defaults 1000 and 2; ARES=PATH: another build;
#                                                           LOCKED_STREAMS=1: also name the streams the locked
#                                                           transaction appended to, from the server's statement log)
#
# The throwaway cluster of scripts/postgres-test-cluster.sh (fsync on, synchronous_commit on, the
# password in a file) with pg_stat_statements loaded; the project's docs ingested into the
# database, so that the tasks research as in bench/postgres/replicas.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
REPLICAS=${2:-2}
ARES=${ARES:-.build/release/ares}
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }
[ "$REPLICAS" = 1 ] || [ "$REPLICAS" = 2 ] || { echo "REPLICAS: 1 or 2"; exit 2; }
WORK=$(mktemp -d /tmp/ares-statements.XXXXXX)
CLUSTER=$(mktemp -d /tmp/ares-statements-pg.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash scripts/postgres-test-cluster.sh stop "$CLUSTER" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

eval "$(bash scripts/postgres-test-cluster.sh start "$CLUSTER" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE
cat >> "$CLUSTER/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 5000
CONF
# Restarted (same port) to load the extension.
bash scripts/postgres-test-cluster.sh pause "$CLUSTER"
bash scripts/postgres-test-cluster.sh resume "$CLUSTER"
sql() { bash scripts/postgres-test-cluster.sh psql "$CLUSTER" -d ares -A -t -c "$1"; }
sql "CREATE EXTENSION pg_stat_statements"

mkdir -p "$WORK/a" "$WORK/b"
"$ARES" ingest docs --data-dir "$WORK/a" > "$WORK/ingest.log" 2>&1 || { cat "$WORK/ingest.log"; exit 1; }
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/a" 2>/dev/null)
OPTS=(--max-queued-tasks 10000000 --max-running-tasks 2 --rate-limits off)
"$ARES" serve --port 18591 --data-dir "$WORK/a" --replica-id a "${OPTS[@]}" > "$WORK/a.log" 2>&1 &
PIDS+=($!)
if [ "$REPLICAS" = 2 ]; then
  "$ARES" serve --port 18592 --data-dir "$WORK/b" --replica-id b "${OPTS[@]}" > "$WORK/b.log" 2>&1 &
  PIDS+=($!)
fi
for port in $(seq 18591 $((18590 + REPLICAS))); do
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
done
sleep 2
sql "SELECT pg_stat_statements_reset()" >/dev/null
if [ -n "${LOCKED_STREAMS:-}" ]; then
  sql "ALTER SYSTEM SET log_statement = 'all'"
  sql "SELECT pg_reload_conf()" >/dev/null
fi

ARES_KEY="$KEY" python3 - "$N" "$REPLICAS" <<'PY'
import http.client, json, os, sys, threading
n, replicas, key = int(sys.argv[1]), int(sys.argv[2]), os.environ["ARES_KEY"]
failures = []
def client(worker):
    connection = http.client.HTTPConnection("127.0.0.1", 18591 + worker % replicas)
    for i in range(worker, n, 16):
        body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {
            "message": {"messageId": f"m-{i}", "role": "ROLE_USER", "parts": [{"text": f"How does the event store make a commit durable? ({i})"}]},
            "configuration": {"returnImmediately": True}}})
        connection.request("POST", "/a2a", body, {"Authorization": "Bearer " + key, "A2A-Version": "1.0", "Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200 or b'"error"' in data: failures.append(data[:200])
threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
if failures:
    print(f"{len(failures)} of {n} submissions failed, e.g. {failures[0]!r}")
    sys.exit(1)
PY
started=$(date +%s)
for _ in $(seq 2400); do
  [ "$(sql "SELECT count(*) FROM ares_task_queue")" = 0 ] && break
  sleep 0.5
done
echo "machine: $(nproc) cores, PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), $(date -u +%FT%H:%MZ); $N tasks through $REPLICAS replica(s), all ended $(( $(date +%s) - started )) s after the last submission"
sleep 3
echo "events per task: $(sql "SELECT round(count(*)::numeric / $N, 2) FROM ares_events WHERE stream LIKE 'task-%'")"
echo "statements per task: $(sql "SELECT round(sum(calls)::numeric / $N, 2) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'")"
echo "calls/task | exec ms/task | statement"
sql "SELECT to_char(calls::numeric / $N, 'FM990.000') || ' | ' || to_char(total_exec_time::numeric / $N, 'FM990.000') || ' | '
     || regexp_replace(left(query, 100), '\s+', ' ', 'g') FROM pg_stat_statements
     WHERE calls >= $N / 100 AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC"
if [ -n "${LOCKED_STREAMS:-}" ]; then
  echo "streams the locked transaction appended to (count):"
  grep -A1 "FOR UPDATE" "$CLUSTER/server.log" | grep -o "parameters: \$1 = '[^']*'" | sed "s/parameters: \$1 = //" \
    | sed -E 's/task-[0-9a-f-]+/task-…/g' | sort | uniq -c | sort -rn | head -5
fi
