#!/usr/bin/env bash
# Drill: a rolling upgrade on PostgreSQL (issues 14 and 16). The previous release and this one
# run side by side on one database while tasks are in flight:
#   1. a throwaway PostgreSQL 15 cluster (scripts/postgres-test-cluster.sh), this project's docs
#      ingested by the previous release (into the database and into each replica's data directory);
#   2. two replicas of the previous release; a Python client submits research tasks (SendMessage,
#      returnImmediately) at a steady rate and reads tasks back (GetTask) through every replica in
#      service, as a load balancer would: a replica is taken out of service before it is drained,
#      and a refused or failed call is retried on another replica (counted);
#   3. the replicas are replaced one at a time: out of service, SIGTERM (drain: it stops claiming,
#      hands back its running tasks, exits), the current release started on a new data directory
#      (a copy of the previous one's), back in service once /health/ready answers; while one of
#      each runs, both serve reads and writes (the overlap);
#   4. after the roll, the load stops and the drill checks: every acknowledged task completed,
#      exactly once (one TaskSubmitted and one ending event in its stream), tasks submitted to
#      one release were read through the other, both releases served reads during the overlap,
#      and `ares db verify` (the current release) finds every hash chain intact.
# Prints its measurements and exits 1 when any check fails.
#
# Usage: bash scripts/drills/rolling-upgrade.sh [--previous PATH] [--current PATH] [--rate R] [--overlap S]
#        [--event-format compatible|compact]  (what the current release writes during the roll;
#        compact shows why a roll from a release before compact events needs compatible)
#   --previous  the previous release's binary; without it, the last landed commit
#               (`git rev-parse HEAD`) is built in a temporary git worktree (swift build, slow:
#               about 10 minutes on 2 cores) and removed at the end
#   --current   this release's binary (default .build/debug/ares)
#   --rate      submissions per second (default 4); --overlap: seconds each stage lasts (default 12)
# Both binaries are copied into the work directory first, so a build running meanwhile does not
# change them. Takes about 1.5 minutes with --previous. Needs PostgreSQL 15, python3, curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$(pwd)"
PREVIOUS=""
CURRENT=".build/debug/ares"
EVENT_FORMAT="compatible"
RATE=4
OVERLAP=12
while [ $# -gt 0 ]; do
  case "$1" in
    --previous) PREVIOUS="$2"; shift 2 ;;
    --current) CURRENT="$2"; shift 2 ;;
    --event-format) EVENT_FORMAT="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --overlap) OVERLAP="$2"; shift 2 ;;
    *) echo "usage: $0 [--previous PATH] [--current PATH] [--rate R] [--overlap S] [--event-format F]" >&2; exit 2 ;;
  esac
done
. scripts/drills/lib.sh
CURRENT="$(ares_binary "$CURRENT")"

WORK="$(mktemp -d /tmp/ares-drill-upgrade.XXXXXX)"
# The cluster's own folder under /tmp: the postgres OS user must reach it (WORK is private).
CLUSTER="$(mktemp -d /tmp/ares-drill-upgrade-pg.XXXXXX)"
WORKTREE=""
REPLICA_PIDS=()
LOAD_PID=""
cleanup() {
  local pid
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  for pid in "${REPLICA_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  bash "$REPO/scripts/postgres-test-cluster.sh" stop "$CLUSTER" || true
  if [ -n "$WORKTREE" ]; then git -C "$REPO" worktree remove --force "$WORKTREE" >/dev/null 2>&1 || true; fi
  if [ -n "${ARES_DRILL_KEEP:-}" ]; then echo "kept: $WORK (logs, load records)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # a signal ends the script through the EXIT trap too

if [ -z "$PREVIOUS" ]; then
  COMMIT="$(git rev-parse HEAD)"
  WORKTREE="$WORK/previous-source"
  say "no --previous: building the last landed commit ${COMMIT:0:7} in $WORKTREE (slow)"
  git worktree add --detach "$WORKTREE" "$COMMIT" >/dev/null
  (cd "$WORKTREE" && swift build --product ares 2>&1 | tail -3)
  PREVIOUS="$WORKTREE/.build/debug/ares"
fi
[ -x "$PREVIOUS" ] || { echo "no previous ares binary at $PREVIOUS" >&2; exit 1; }
cp "$PREVIOUS" "$WORK/ares-previous"
cp "$CURRENT" "$WORK/ares-current"
OLD="$WORK/ares-previous"
NEW="$WORK/ares-current"
say "previous: $("$OLD" --version 2>/dev/null || echo '?'); current: $("$NEW" --version 2>/dev/null || echo '?')"

eval "$(bash scripts/postgres-test-cluster.sh start "$CLUSTER" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE
ingest_docs "$OLD" "$WORK/data-template" "$WORK/ingest"
say "PostgreSQL on :$PGPORT, schema: $("$OLD" db status 2>&1 | grep -i -m1 'version\|migration' || true)"

# The replicas in service, one line each: "PORT LABEL" (what the load balancer routes to).
SERVICE="$WORK/in-service.txt"
: >"$SERVICE"
declare -A PID_OF PORT_OF
start_replica() { # name binary label
  local name=$1 binary=$2 label=$3 pid port
  cp -r "$WORK/data-template" "$WORK/data-$name"
  # The current release writes the event tags the previous one reads while both run
  # (docs/operations.md, "Upgrades"): --event-format compatible, the default of this drill.
  local format=()
  [ "$label" = current ] && format=(--event-format "$EVENT_FORMAT")
  "$binary" serve --dev --port 0 --data-dir "$WORK/data-$name" --replica-id "upgrade-$name" --rate-limits off "${format[@]}" \
    >"$WORK/$name.log" 2>&1 &
  pid=$!
  REPLICA_PIDS+=("$pid")
  port="$(port_of "$WORK/$name.log" "$pid")"
  wait_ready "$port" "$pid" "$WORK/$name.log"
  PID_OF[$name]=$pid
  PORT_OF[$name]=$port
  echo "$port $label" >>"$SERVICE"
  say "replica $name ($label release) in service on :$port"
}
drain_replica() { # name
  local name=$1 pid=${PID_OF[$1]} port=${PORT_OF[$1]} t0 t1
  grep -v "^$port " "$SERVICE" >"$SERVICE.new" || true
  mv "$SERVICE.new" "$SERVICE"
  sleep 1   # calls already routed to it finish (the client re-reads the list before each call)
  t0=$(now)
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  t1=$(now)
  say "replica $name drained (SIGTERM) and exited with status $status in $(seconds "$t0" "$t1") s"
}

start_replica a1 "$OLD" previous
start_replica b1 "$OLD" previous

/usr/bin/python3 - "$SERVICE" "$RATE" "$WORK/load.json" "$WORK/stop" <<'PY' &
import concurrent.futures, json, os, random, sys, threading, time, urllib.error, urllib.request
service_path, rate, out, stop_path = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
questions = ["How are tasks resumed?", "Where does ares keep its data?", "What does ares verify check?", "How are API keys stored?"]
lock = threading.Lock()
submissions, reads, errors = [], [], []
acknowledged = []  # (task id, label of the release that acknowledged it)

def in_service():
    try:
        return [tuple(line.split()) for line in open(service_path) if line.strip()]
    except FileNotFoundError:
        return []

def call(port, payload):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", json.dumps(payload).encode(),
                                     {"Content-Type": "application/json", "A2A-Version": "1.0"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try: return error.code, json.load(error)
        except Exception: return error.code, None

def balanced(i, payload):
    """One call as a load balancer makes it: to a replica in service, retried on another when
    refused or failed (a replica that stopped between reading the list and the call)."""
    for attempt in range(4):
        replicas = in_service()
        if not replicas:
            time.sleep(0.2); continue
        port, label = replicas[(i + attempt) % len(replicas)]
        try:
            status, reply = call(port, payload)
        except Exception as error:
            with lock: errors.append({"time": time.time(), "label": label, "kind": f"{type(error).__name__}: {error}"})
            continue
        if status == 200 and isinstance(reply, dict) and "result" in reply:
            return label, reply["result"]
        code = reply.get("error", {}).get("code") if isinstance(reply, dict) else None
        with lock: errors.append({"time": time.time(), "label": label, "kind": f"HTTP {status}, JSON-RPC {code}"})
        if status != 503 and code != -32050:
            return label, None  # an answer that is not "retry later": not retried
        time.sleep(0.2)
    return None, None

def submit(i):
    payload = {"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {
        "message": {"messageId": f"upgrade-drill-{i}", "role": "ROLE_USER", "parts": [{"text": f"{questions[i % len(questions)]} (drill {i})"}]},
        "configuration": {"returnImmediately": True}}}
    label, result = balanced(i, payload)
    task_id = (result or {}).get("task", {}).get("id")
    with lock:
        submissions.append({"i": i, "time": time.time(), "label": label, "task": task_id})
        if task_id: acknowledged.append((task_id, label))

def read(i):
    with lock:
        if not acknowledged: return
        task_id, submitted_by = random.choice(acknowledged)
    label, result = balanced(i, {"jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task_id}})
    with lock:
        reads.append({"time": time.time(), "label": label, "submitted_by": submitted_by, "ok": result is not None and result.get("id") == task_id})

start = time.time()
with concurrent.futures.ThreadPoolExecutor(max_workers=128) as pool:
    i = 0
    while not os.path.exists(stop_path):
        time.sleep(max(0.0, start + i / rate - time.time()))
        pool.submit(submit, i)
        pool.submit(read, i)
        pool.submit(read, i + 1)
        i += 1
json.dump({"submissions": submissions, "reads": reads, "errors": errors}, open(out, "w"))
PY
LOAD_PID=$!

# The roll: each stage lasts OVERLAP seconds of load. Marks in phases.txt let the summary tell
# which releases were in service when.
phase() { echo "$(now) $1" >>"$WORK/phases.txt"; }
phase "previous-only"
sleep "$OVERLAP"
drain_replica a1
start_replica a2 "$NEW" current
phase "overlap"
sleep "$OVERLAP"
drain_replica b1
start_replica b2 "$NEW" current
phase "current-only"
sleep "$OVERLAP"
touch "$WORK/stop"
wait "$LOAD_PID"
LOAD_PID=""
phase "end"
say "load stopped; following every acknowledged task to its end"

set +e
/usr/bin/python3 - "$WORK/load.json" "$WORK/phases.txt" "${PORT_OF[a2]}" "${PORT_OF[b2]}" "$WORK/acknowledged.txt" <<'PY'
import collections, json, sys, time, urllib.request
load, phases_path, ports, acknowledged_path = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:5], sys.argv[5]
phases = [(float(t), name) for t, name in (line.split() for line in open(phases_path))]
def phase_of(t):
    name = None
    for start, phase in phases:
        if t >= start: name = phase
    return name
subs = load["submissions"]
acked = [s for s in subs if s["task"]]
print(f"load: {len(subs)} submissions, {len(acked)} acknowledged "
      f"({sum(s['label'] == 'previous' for s in acked)} by the previous release, {sum(s['label'] == 'current' for s in acked)} by the current one); "
      f"{len(load['reads'])} GetTask")
by_phase = collections.defaultdict(collections.Counter)
for r in load["reads"]:
    if r["ok"]: by_phase[phase_of(r["time"])][r["label"]] += 1
for name in ("previous-only", "overlap", "current-only"):
    print(f"reads answered during {name}: " + ", ".join(f"{n} by the {label} release" for label, n in sorted(by_phase[name].items())))
cross = collections.Counter((r["submitted_by"], r["label"]) for r in load["reads"] if r["ok"] and r["submitted_by"] != r["label"])
print("cross-release reads: " + (", ".join(f"{n} submitted to the {a} release and read through the {b}" for (a, b), n in sorted(cross.items())) or "none"))
kinds = collections.Counter(f"{e['kind']} (at the {e['label']} release)" for e in load["errors"])
for kind, n in sorted(kinds.items()): print(f"calls retried on another replica: {n} × {kind}")
failed_reads = sum(not r["ok"] for r in load["reads"])
unanswered = sum(not s["task"] for s in subs)

def get(i, task_id):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task_id}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{ports[i % 2]}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
    try: return json.load(urllib.request.urlopen(request, timeout=30))
    except urllib.error.HTTPError as error: return json.load(error)
terminal = {"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"}
states, missing, messages = {}, [], {}
def note(task_id, result):
    states[task_id] = result["status"]["state"]
    parts = (result["status"].get("message") or {}).get("parts") or []
    messages[task_id] = " ".join(p.get("text", "") for p in parts)[:300]
for i, s in enumerate(acked):
    reply = get(i, s["task"])
    if "result" in reply: note(s["task"], reply["result"])
    else: missing.append(s["task"])
deadline = time.time() + 180
while time.time() < deadline and any(v not in terminal for v in states.values()):
    time.sleep(1)
    for i, task_id in enumerate([t for t, v in states.items() if v not in terminal]):
        reply = get(i, task_id)
        if "result" in reply: note(task_id, reply["result"])
counts = collections.Counter(states.values())
print(f"tasks: {len(missing)} acknowledged tasks missing; end states: " + ", ".join(f"{n} {s.replace('TASK_STATE_', '')}" for s, n in sorted(counts.items())))
for task_id, state in sorted(states.items()):
    if state != "TASK_STATE_COMPLETED":
        submitted_by = next(s["label"] for s in acked if s["task"] == task_id)
        print(f"not completed: {task_id} (submitted to the {submitted_by} release) {state}: {messages.get(task_id, '')}")
open(acknowledged_path, "w").write("".join(s["task"] + "\n" for s in acked))
overlap = by_phase["overlap"]
ok = (not missing and counts.get("TASK_STATE_COMPLETED", 0) == len(acked) and unanswered == 0 and failed_reads == 0
      and overlap["previous"] > 0 and overlap["current"] > 0)
if unanswered: print(f"FAILED: {unanswered} submissions were never acknowledged, even after retries")
if failed_reads: print(f"FAILED: {failed_reads} GetTask calls did not return their task")
if not (overlap["previous"] > 0 and overlap["current"] > 0): print("FAILED: the two releases did not both serve reads during the overlap")
sys.exit(0 if ok else 1)
PY
STATUS=$?

# Exactly once, from the database itself: every acknowledged task's stream has one TaskSubmitted
# and one ending event.
# (The ids reach psql on stdin: psql runs as the postgres OS user, which cannot read WORK.)
{
  echo "CREATE TEMP TABLE acknowledged(stream text);"
  echo "COPY acknowledged FROM STDIN;"
  cat "$WORK/acknowledged.txt"
  echo '\.'
  echo "SELECT count(*) FILTER (WHERE submitted = 1 AND ended = 1), count(*) FILTER (WHERE submitted <> 1 OR ended <> 1) FROM (
          SELECT a.stream, count(*) FILTER (WHERE e.type = 'TaskSubmitted') AS submitted,
                 count(*) FILTER (WHERE e.type IN ('TaskCompleted', 'TaskFailed', 'TaskCanceled')) AS ended
          FROM acknowledged a LEFT JOIN ares_events e ON e.stream = a.stream GROUP BY a.stream) s;"
} | bash scripts/postgres-test-cluster.sh psql "$CLUSTER" -d ares -At >"$WORK/once.txt" 2>&1 || true
set -e
if IFS='|' read -r once other <"$WORK/once.txt" && [ "${other:-1}" = 0 ]; then
  say "exactly once: $once acknowledged tasks have one TaskSubmitted and one ending event each"
else
  say "FAILED: exactly-once check: $(cat "$WORK/once.txt")"; STATUS=1
fi
say "schema after the roll: $("$NEW" db status 2>&1 | grep -i -m1 'schema version' || true)"
if "$NEW" db verify >"$WORK/verify.txt" 2>&1; then sed 's/^/verify: /' "$WORK/verify.txt"; else sed 's/^/verify: /' "$WORK/verify.txt"; STATUS=1; fi
for name in a2 b2; do kill -TERM "${PID_OF[$name]}" 2>/dev/null || true; wait "${PID_OF[$name]}" 2>/dev/null || true; done
say "drill finished ($([ "$STATUS" = 0 ] && echo passed || echo FAILED))"
exit "$STATUS"
