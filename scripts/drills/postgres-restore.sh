#!/usr/bin/env bash
# Drill: restore a PostgreSQL deployment to a point in time (issue 12, "Restore drill for
# PostgreSQL"). PostgreSQL's own tools do the work, as docs/operations.md describes them:
#   1. a throwaway cluster (scripts/postgres-test-cluster.sh) with WAL archiving on
#      (archive_mode=on, archive_command copying each finished WAL segment into an archive folder);
#   2. this project's docs/ ingested into it, a key, `ares serve --database` on it;
#   3. a base backup with pg_basebackup (-X stream: it is consistent on its own);
#   4. research tasks under load from a Python client (SendMessage, answered COMPLETED = acknowledged);
#      once --before tasks are acknowledged the drill notes the target time T, while the clients keep
#      going for --after more;
#   5. point-in-time recovery into a new cluster: the base backup copied, recovery.signal,
#      restore_command reading the archive, recovery_target_time = T, promote at the target;
#      `ares serve --database` on it until /health/ready answers 200.
# Prints its measurements:
#   RTO: seconds from the recovery's start (copying the base backup) to /health/ready on the
#        recovered cluster, with its parts (copy, replay and promotion, ares start);
#   which acknowledged tasks exist after the recovery: every task acknowledged before T must be
#        there and COMPLETED (the gate); of those acknowledged after T, how many are there (their
#        commit came before T and only the answer after it) and how many are not (after T: gone,
#        as a point-in-time recovery should leave them);
#   `ares db verify` on the recovered database (every hash chain intact; the gate).
# Exits 1 when a task acknowledged before T is missing or not COMPLETED, or a chain is broken.
# Usage: bash scripts/drills/postgres-restore.sh [--before N] [--after N] [--concurrency C]
#        (default 200 before, 100 after, 4 clients; uses .build/debug/ares unless $ARES_BINARY;
#        needs postgresql-15, run as root or as a user who can run PostgreSQL's binaries)
set -euo pipefail
cd "$(dirname "$0")/../.."
BEFORE=200
AFTER=100
CONCURRENCY=4
while [ $# -gt 0 ]; do
  case "$1" in
    --before) BEFORE="$2"; shift 2 ;;
    --after) AFTER="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    *) echo "usage: $0 [--before N] [--after N] [--concurrency C]" >&2; exit 2 ;;
  esac
done
. scripts/drills/lib.sh
ARES="$(ares_binary)"
[ -x "$PG_BIN/pg_basebackup" ] || { echo "PostgreSQL 15 is not installed ($PG_BIN/pg_basebackup missing): apt-get install postgresql-15" >&2; exit 1; }
CLUSTER_SCRIPT="$(pwd)/scripts/postgres-test-cluster.sh"

WORK="$(mktemp -d /tmp/ares-drill-pg-restore.XXXXXX)"
chmod 755 "$WORK"   # the postgres OS user reaches the archive, the base backup and the new cluster below it
SERVER=""
RECOVERED_STARTED=""
cleanup() {
  [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null || true
  [ -n "$RECOVERED_STARTED" ] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/recovered/data" -m immediate -w stop >/dev/null 2>&1 || true
  bash "$CLUSTER_SCRIPT" stop "$WORK/primary" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. The primary, with WAL archiving. archive_timeout bounds how old the newest archived WAL can
#    be (the RPO of the archive alone); the drill also switches WAL files itself before recovering.
mkdir -p "$WORK/archive"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/archive"
eval "$(bash "$CLUSTER_SCRIPT" start "$WORK/primary" $$)"
PRIMARY_URL="$ARES_DATABASE_URL"
# The role's password outlives the primary (the recovered cluster has the same roles).
install -m 600 "$ARES_DATABASE_PASSWORD_FILE" "$WORK/password"
export ARES_DATABASE_PASSWORD_FILE="$WORK/password"
as_postgres tee -a "$WORK/primary/data/postgresql.conf" >/dev/null <<EOF
# postgres-restore.sh: WAL archiving
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $WORK/archive/%f && cp %p $WORK/archive/%f'
archive_timeout = 60
EOF
bash "$CLUSTER_SCRIPT" pause "$WORK/primary"
bash "$CLUSTER_SCRIPT" resume "$WORK/primary"
psql_primary() { bash "$CLUSTER_SCRIPT" psql "$WORK/primary" -d ares -A -t "$@"; }
echo "primary: PostgreSQL $(psql_primary -c 'SHOW server_version'), archive_mode=$(psql_primary -c 'SHOW archive_mode'), archiving into $WORK/archive"

# 2. ares on it: the docs as the knowledge base, a key, a server.
mkdir -p "$WORK/data"
t=$(now)
"$ARES" ingest docs --database "$PRIMARY_URL" --data-dir "$WORK/data" >/dev/null 2>"$WORK/ingest.err" || { cat "$WORK/ingest.err" >&2; exit 1; }
echo "ingested docs/ into the database in $(seconds "$t" "$(now)") s"
KEY="$("$ARES" keys create --role researcher --name drill --database "$PRIMARY_URL" --data-dir "$WORK/data" 2>/dev/null)"
printf '%s' "$KEY" >"$WORK/key"; chmod 600 "$WORK/key"; unset KEY
"$ARES" serve --port 0 --data-dir "$WORK/data" --database "$PRIMARY_URL" --replica-id drill-primary >"$WORK/serve.log" 2>&1 &
SERVER=$!
PORT="$(port_of "$WORK/serve.log" "$SERVER")"
wait_ready "$PORT" "$SERVER" "$WORK/serve.log"

# 3. The base backup (the cluster's files plus the WAL written meanwhile).
t=$(now)
mkdir -p "$WORK/base" && [ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/base"
as_postgres "$PG_BIN/pg_basebackup" -h "$WORK/primary/socket" -p "$PGPORT" -U postgres -D "$WORK/base/data" -X stream -c fast
echo "pg_basebackup: $(du -sb "$WORK/base" | cut -f1) bytes in $(seconds "$t" "$(now)") s"

# 4. Load; the target time T is noted while the clients keep going.
python3 - "$PORT" "$WORK/key" "$BEFORE" "$AFTER" "$CONCURRENCY" "$WORK/acknowledged.txt" "$WORK/target" <<'PY'
import datetime, json, sys, threading, time, urllib.request
port, key_file, before, after, concurrency, out, target_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
key = open(key_file).read().strip()
questions = ["How are tasks resumed?", "How is a backup restored?", "What does ares verify check?", "How are API keys stored?"]
acknowledged, lock, stop = [], threading.Lock(), threading.Event()
target = []
def send(i):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {"messageId": f"pitr-{i}", "role": "ROLE_USER",
        "parts": [{"text": f"{questions[i % len(questions)]} (drill {i})"}]}}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0",
                                                                          "Authorization": f"Bearer {key}"})
    task = json.load(urllib.request.urlopen(request, timeout=120)).get("result", {}).get("task", {})
    return task.get("id"), task.get("status", {}).get("state")
def client(k):
    i = k
    while not stop.is_set():
        submitted = time.time()
        task_id, state = send(i)
        if state == "TASK_STATE_COMPLETED":
            with lock:
                acknowledged.append((task_id, submitted, time.time()))
                if len(acknowledged) == before:
                    target.append(time.time())
                if len(acknowledged) >= before + after:
                    stop.set()
        i += concurrency
start = time.time()
threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.time() - start
t_target = target[0]
with open(out, "w") as f:
    f.write("".join(f"{task_id} {submitted:.6f} {acked:.6f}\n" for task_id, submitted, acked in acknowledged))
with open(target_file, "w") as f:
    f.write(datetime.datetime.fromtimestamp(t_target, datetime.timezone.utc).isoformat(timespec="microseconds"))
print(f"load: {len(acknowledged)} tasks acknowledged in {elapsed:.1f} s ({len(acknowledged) / elapsed:.1f}/s, {concurrency} clients); "
      f"target time noted after {before}, {after} more after it")
PY
TARGET="$(cat "$WORK/target")"
echo "target time T: $TARGET"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=""
# Every WAL record up to now into the archive: switch to a new WAL file and wait for the old one.
LAST_WAL="$(psql_primary -c 'SELECT pg_walfile_name(pg_switch_wal())')"
for _ in $(seq 1 600); do
  [ -f "$WORK/archive/$LAST_WAL" ] && break
  sleep 0.1
done
[ -f "$WORK/archive/$LAST_WAL" ] || { echo "WAL file $LAST_WAL was never archived" >&2; exit 1; }
echo "archive: $(ls "$WORK/archive" | wc -l) WAL files, $(du -sb "$WORK/archive" | cut -f1) bytes, up to $LAST_WAL"
# The primary is lost.
bash "$CLUSTER_SCRIPT" stop "$WORK/primary"

# 5. Point-in-time recovery into a new cluster, then ares on it.
RECOVERED_PORT="$(free_port)"
t0=$(now)
mkdir -p "$WORK/recovered/socket"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/recovered"
chmod 700 "$WORK/recovered"
as_postgres cp -a "$WORK/base/data" "$WORK/recovered/data"
as_postgres tee -a "$WORK/recovered/data/postgresql.conf" >/dev/null <<EOF
# postgres-restore.sh: point-in-time recovery (a new cluster: its own port and socket, no archiving into the old archive)
port = $RECOVERED_PORT
unix_socket_directories = '$WORK/recovered/socket'
archive_mode = off
restore_command = 'cp $WORK/archive/%f %p'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
EOF
as_postgres touch "$WORK/recovered/data/recovery.signal"
t1=$(now)
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/recovered/data" -l "$WORK/recovered/server.log" -w -t 300 start >/dev/null
RECOVERED_STARTED=1
psql_recovered() { as_postgres "$PG_BIN/psql" -X -q -h "$WORK/recovered/socket" -p "$RECOVERED_PORT" -U postgres -d ares -A -t "$@"; }
until [ "$(psql_recovered -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = "f" ]; do sleep 0.05; done
t2=$(now)
RECOVERED_URL="postgres://ares@127.0.0.1:$RECOVERED_PORT/ares?sslmode=disable"
"$ARES" serve --port 0 --data-dir "$WORK/data" --database "$RECOVERED_URL" --replica-id drill-recovered >"$WORK/serve2.log" 2>&1 &
SERVER=$!
PORT="$(port_of "$WORK/serve2.log" "$SERVER")"
wait_ready "$PORT" "$SERVER" "$WORK/serve2.log"
t3=$(now)
echo "RTO: $(seconds "$t0" "$t3") s from recovery start to /health/ready (copy of the base backup $(seconds "$t0" "$t1") s," \
  "WAL replay to T and promotion $(seconds "$t1" "$t2") s, ares start to ready $(seconds "$t2" "$t3") s)"
grep -E "recovery stopping|last completed transaction" "$WORK/recovered/server.log" | sed 's/^.*LOG: */postgres: /' | head -2

python3 - "$PORT" "$WORK/key" "$WORK/acknowledged.txt" "$TARGET" <<'PY'
import datetime, json, sys, urllib.request
port, key_file, path, target_text = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
key = open(key_file).read().strip()
target = datetime.datetime.fromisoformat(target_text).timestamp()
entries = [line.split() for line in open(path) if line.strip()]
def state(i, task_id):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task_id}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0",
                                                                          "Authorization": f"Bearer {key}"})
    reply = json.load(urllib.request.urlopen(request, timeout=60))
    return None if "error" in reply else reply["result"]["status"]["state"]
before = [(i, e) for i, e in enumerate(entries) if float(e[2]) <= target]
after = [(i, e) for i, e in enumerate(entries) if float(e[2]) > target]
missing = [e[0] for i, e in before if state(i, e[0]) is None]
unfinished = [e[0] for i, e in before if (s := state(i, e[0])) is not None and s != "TASK_STATE_COMPLETED"]
after_states = [state(i, e[0]) for i, e in after]
present_after = sum(1 for s in after_states if s is not None)
completed_after = sum(1 for s in after_states if s == "TASK_STATE_COMPLETED")
submitted_after = [e for i, e in after if float(e[1]) > target]
present_submitted_after = sum(1 for (i, e), s in zip(after, after_states) if float(e[1]) > target and s is not None)
print(f"acknowledged before T: {len(before)}; present after the recovery: {len(before) - len(missing)}, "
      f"COMPLETED: {len(before) - len(missing) - len(unfinished)} (missing {len(missing)}, not completed {len(unfinished)})")
print(f"acknowledged after T: {len(after)}; present: {present_after} ({completed_after} COMPLETED: committed before T, answered after), "
      f"absent: {len(after) - present_after}; of the {len(submitted_after)} submitted after T, present: {present_submitted_after}")
sys.exit(1 if missing or unfinished or present_submitted_after else 0)
PY
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=""
"$ARES" db verify --database "$RECOVERED_URL" | sed 's/^/ares db verify: /'

# ares's own logical backup of the recovered database, checked and restored into a new database
# (`ares backup --database`: ares's tables only, one snapshot, checked offline; see docs/operations.md).
t=$(now)
"$ARES" backup "$WORK/logical" --database "$RECOVERED_URL" 2>/dev/null | sed 's/^/ares backup --database: /'
"$ARES" verify --backup "$WORK/logical" | sed 's/^/ares verify --backup: /'
psql_recovered -c 'CREATE DATABASE ares_restored OWNER ares' >/dev/null
"$ARES" restore "$WORK/logical" --database "postgres://ares@127.0.0.1:$RECOVERED_PORT/ares_restored?sslmode=disable" 2>/dev/null \
  | sed 's/^/ares restore --database: /'
echo "logical backup, check and restore: $(seconds "$t" "$(now)") s in all, backup $(du -sb "$WORK/logical" | cut -f1) bytes"
