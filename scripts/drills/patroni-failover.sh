#!/usr/bin/env bash
# Drill: the database primary is lost (issue 12). Starts, all on loopback with ports and data in a
# temporary directory: etcd, two Patroni-managed PostgreSQL 15 nodes in synchronous mode, and
# HAProxy routing to whichever node Patroni's REST API says is the primary. Two `ares serve
# --database` replicas reach the database through HAProxy (the password from a generated file
# via ARES_DATABASE_PASSWORD_FILE, never in argv). A Python client submits research tasks
# (SendMessage, returnImmediately: the answer means the submission is durable) at a steady rate,
# alternating between the replicas; after a warm-up it SIGKILLs the primary's postmaster and
# keeps submitting. Prints its measurements:
#   recovery: seconds from the kill until SendMessage succeeds again (and stays succeeding),
#             overall and per replica; goal ≤ 30 s (the review's criterion), aim ≤ 15 s; and
#             when Patroni promoted the standby (the database's share of the gap);
#   errors:   what clients saw during the gap, by kind: retryable (HTTP 503 / JSON-RPC -32050)
#             or anything else (connection refused or reset, other codes, client time-outs);
#   loss:     acknowledged tasks that GetTask cannot find after the failover (goal 0), and how
#             many of them finished (every acknowledged task must reach COMPLETED);
#   then `ares db verify` (every stream's hash chain) through HAProxy on the new primary.
# Exits 1 when an acknowledged task is missing or does not complete, recovery takes longer than
# --max-recovery-seconds (default 30), a client saw a non-retryable error, or verify fails.
#
# Usage: bash scripts/drills/patroni-failover.sh [--rate R] [--warmup S] [--after S] [--max-recovery-seconds S]
#        (defaults: 4 submissions/s, 15 s of load before the kill, 40 s after it; uses
#        .build/debug/ares unless $ARES_BINARY). Takes about 2 minutes.
# Needs (Debian): postgresql-15, patroni, python3-etcd, etcd-server, haproxy, curl; run as root
# (PostgreSQL and Patroni run as the `postgres` OS user) or as a user that can run PostgreSQL.
# ARES_DRILL_KEEP=1 keeps the work directory (every process's log, the load's records) for a look.
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=4
WARMUP=15
AFTER=40
MAX_RECOVERY_SECONDS=30
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) RATE="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --after) AFTER="$2"; shift 2 ;;
    --max-recovery-seconds) MAX_RECOVERY_SECONDS="$2"; shift 2 ;;
    *) echo "usage: $0 [--rate R] [--warmup S] [--after S] [--max-recovery-seconds S]" >&2; exit 2 ;;
  esac
done
. scripts/drills/lib.sh
ARES="$(ares_binary)"
for tool in etcd patroni haproxy curl "$PG_BIN/postgres"; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y postgresql-15 patroni python3-etcd etcd-server haproxy curl" >&2; exit 1; }
done
/usr/bin/python3 -c 'import etcd' 2>/dev/null || { echo "Patroni's etcd client is missing: apt-get install -y python3-etcd" >&2; exit 1; }

# The work directory is reachable by the postgres OS user (Patroni and PostgreSQL run as it), but
# each node's data directory and the password files are private to their owner.
WORK="$(mktemp -d /tmp/ares-drill-patroni.XXXXXX)"
chmod 711 "$WORK"
PIDS=()
cleanup() {
  local pid
  # Patroni first (SIGTERM: it stops its PostgreSQL), then everything else; a node's postmaster
  # that Patroni could not stop is stopped by pg_ctl, so nothing outlives the drill.
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for node in node1 node2; do
    if [ -f "$WORK/$node/data/postmaster.pid" ]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$WORK/$node/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
  done
  if [ -n "${ARES_DRILL_KEEP:-}" ]; then echo "kept: $WORK (logs, load.json)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # a signal ends the script through the EXIT trap too
# For the daemons: setpriv execs the command in place (runuser would fork and outlive a SIGTERM
# to itself), so the PID in PIDS is Patroni's own and the cleanup reaches it.
if [ "$(id -u)" = 0 ]; then AS_POSTGRES_EXEC=(setpriv --reuid=postgres --regid=postgres --init-groups --); else AS_POSTGRES_EXEC=(); fi
secret() { head -c 24 /dev/urandom | base64 | tr '+/' '-_'; }

ETCD_CLIENT=$(free_port); ETCD_PEER=$(free_port)
REST1=$(free_port); REST2=$(free_port); PG1=$(free_port); PG2=$(free_port); HAPROXY=$(free_port); HAPROXY_STATS=$(free_port)

# Passwords generated now, each in a file of its own (mode 600); they reach Patroni in its
# configuration file (mode 600, owned by postgres) and psql on stdin, never a command line.
umask 077
secret >"$WORK/superuser.password"
secret >"$WORK/replication.password"
secret >"$WORK/ares.password"
umask 022

# etcd: one member, the DCS that holds Patroni's leader key.
etcd --name drill --data-dir "$WORK/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "drill=http://127.0.0.1:$ETCD_PEER" >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$ETCD_CLIENT/health" >/dev/null || { cat "$WORK/etcd.log" >&2; echo "etcd did not start" >&2; exit 1; }

# Patroni, one per node. Why these settings:
# - synchronous_mode: a commit is acknowledged only once the standby has it, so the standby that
#   Patroni promotes holds every acknowledged task (the drill checks that it does);
# - primary_start_timeout 0: a crashed primary fails over at once to the synchronous standby
#   instead of first trying crash recovery in place (which could take up to 5 minutes);
# - loop_wait 1, ttl 20, retry_timeout 5: the crash is noticed within a second; the leader key
#   would expire after 20 s if the old primary's Patroni itself were lost.
write_patroni_config() { # node rest_port pg_port
  local node=$1 rest=$2 pg=$3
  mkdir -p "$WORK/$node/socket"
  cat >"$WORK/$node/patroni.yml" <<EOF
scope: ares-drill
name: $node
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    primary_start_timeout: 0
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        shared_buffers: 64MB
        fsync: "on"
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - no-locale
    - auth-local: trust
    - auth-host: scram-sha-256
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $WORK/$node/data
  bin_dir: $PG_BIN
  pgpass: $WORK/$node/pgpass
  # The standby's clone starts from a fast checkpoint, not a spread one (minutes on a busy machine).
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: postgres
      password: "$(cat "$WORK/superuser.password")"
    replication:
      username: replicator
      password: "$(cat "$WORK/replication.password")"
  parameters:
    unix_socket_directories: $WORK/$node/socket
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
EOF
  chmod 600 "$WORK/$node/patroni.yml"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$WORK/$node"; fi
  chmod 700 "$WORK/$node"
}
write_patroni_config node1 "$REST1" "$PG1"
write_patroni_config node2 "$REST2" "$PG2"
role_of() { # rest_port → primary | replica | (nothing)
  curl -s --max-time 1 "http://127.0.0.1:$1/patroni" | /usr/bin/python3 -c 'import json,sys
try: print({"master": "primary"}.get(*[json.load(sys.stdin).get("role", "")] * 2))  # Patroni < 3.1 says master
except Exception: pass' || true
}
# node1 first, so that it bootstraps the cluster; node2 then clones it with pg_basebackup.
"${AS_POSTGRES_EXEC[@]}" patroni "$WORK/node1/patroni.yml" >"$WORK/node1.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do [ "$(role_of "$REST1")" = primary ] && break; sleep 0.2; done
[ "$(role_of "$REST1")" = primary ] || { tail -30 "$WORK/node1.log" >&2; echo "node1 did not become primary" >&2; exit 1; }
"${AS_POSTGRES_EXEC[@]}" patroni "$WORK/node2/patroni.yml" >"$WORK/node2.log" 2>&1 &
PIDS+=($!)

# ares's role and database, created on the primary over its private socket (psql, as the
# postgres OS user, reads the password file itself).
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$WORK/ares.password"; fi
{
  printf '\\set pw `cat %q`\n' "$WORK/ares.password"
  cat <<'EOF'
CREATE ROLE ares LOGIN PASSWORD :'pw';
CREATE DATABASE ares OWNER ares;
EOF
} | as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK/node1/socket" -p "$PG1" -U postgres -d postgres >/dev/null

# Wait until node2 streams and is the synchronous standby: only then is the drill's promise
# (every acknowledged commit is on the node that takes over) in force.
sync_standby() {
  curl -s --max-time 1 "http://127.0.0.1:$REST1/cluster" | /usr/bin/python3 -c 'import json,sys
try:
    print(" ".join(m["name"] for m in json.load(sys.stdin)["members"] if m.get("role") == "sync_standby" and m.get("state") in ("streaming", "running")))
except Exception: pass' || true
}
for _ in $(seq 1 900); do [ "$(sync_standby)" = node2 ] && break; sleep 0.2; done
[ "$(sync_standby)" = node2 ] || { tail -30 "$WORK/node2.log" >&2; echo "node2 did not become the synchronous standby" >&2; exit 1; }

# HAProxy: one TCP frontend; a node is in service while Patroni's REST API answers 200 to
# /primary on it. Checked every 500 ms, out after 2 failures, in after 1 success; the sessions
# of a node marked down are cut, so clients reconnect to the new primary at once.
cat >"$WORK/haproxy.cfg" <<EOF
global
  maxconn 400
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
listen postgres-primary
  bind 127.0.0.1:$HAPROXY
  option httpchk
  http-check send meth GET uri /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
  server node1 127.0.0.1:$PG1 maxconn 200 check port $REST1
  server node2 127.0.0.1:$PG2 maxconn 200 check port $REST2
listen stats
  mode http
  bind 127.0.0.1:$HAPROXY_STATS
  stats enable
  stats uri /
EOF
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
# HAProxy 2.6 counts a server as up until its checks say otherwise: wait until the standby is
# marked down, or the first connections could reach a read-only node.
haproxy_state() { # node → UP | DOWN | ...
  curl -s --max-time 1 "http://127.0.0.1:$HAPROXY_STATS/;csv" | awk -F, -v node="$1" '$1 == "postgres-primary" && $2 == node { print $18 }' || true
}
for _ in $(seq 1 100); do
  [ "$(haproxy_state node1)" = UP ] && [ "$(haproxy_state node2)" = DOWN ] && break
  sleep 0.1
done
[ "$(haproxy_state node2)" = DOWN ] || { cat "$WORK/haproxy.log" >&2; echo "HAProxy did not mark the standby down" >&2; exit 1; }

export ARES_DATABASE_URL="postgres://ares@127.0.0.1:$HAPROXY/ares?sslmode=disable"
export ARES_DATABASE_PASSWORD_FILE="$WORK/ares.password"
say "etcd :$ETCD_CLIENT, Patroni node1 (PostgreSQL :$PG1, primary) and node2 (:$PG2, synchronous standby), HAProxy :$HAPROXY"

# Two ares replicas. This project's docs are the knowledge base the built-in agents search:
# ingested into the database (shared by the replicas) and, for a server that still searches
# its data directory's knowledge base, into each replica's data directory too.
ingest_docs "$ARES" "$WORK/replica-a" "$WORK/ingest"
cp -r "$WORK/replica-a" "$WORK/replica-b"
PORTS=()
REPLICA_PIDS=()
for replica in a b; do
  "$ARES" serve --dev --port 0 --data-dir "$WORK/replica-$replica" --replica-id "drill-$replica" \
    --rate-limits off >"$WORK/replica-$replica.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  REPLICA_PIDS+=("$pid")
  PORTS+=("$(port_of "$WORK/replica-$replica.log" "$pid")")
done
wait_ready "${PORTS[0]}" "${REPLICA_PIDS[0]}" "$WORK/replica-a.log"
wait_ready "${PORTS[1]}" "${REPLICA_PIDS[1]}" "$WORK/replica-b.log"
say "ares replicas ready on :${PORTS[0]} and :${PORTS[1]}"

# The node that is primary now (node1 bootstrapped the cluster and should still be): the
# first line of its postmaster.pid is the postmaster's PID, what the load SIGKILLs.
OLD_PRIMARY=node1
[ "$(role_of "$REST2")" = primary ] && OLD_PRIMARY=node2
PRIMARY_PID="$(head -1 "$WORK/$OLD_PRIMARY/data/postmaster.pid")"
say "load: $RATE submissions/s for ${WARMUP} s, then SIGKILL of $OLD_PRIMARY's postmaster (PID $PRIMARY_PID), then ${AFTER} s more"
/usr/bin/python3 - "${PORTS[0]}" "${PORTS[1]}" "$RATE" "$WARMUP" "$AFTER" "$PRIMARY_PID" "$WORK/load.json" <<'PY'
import concurrent.futures, json, os, signal, sys, threading, time, urllib.error, urllib.request
port_a, port_b, rate, warmup, after, primary_pid, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
ports = [port_a, port_b]
questions = ["How are tasks resumed?", "Where does ares keep its data?", "What does ares verify check?", "How are API keys stored?"]
records, lock = [], threading.Lock()

def classify(status, reply):
    if status == 200 and isinstance(reply, dict) and "result" in reply:
        task_id = reply["result"].get("task", {}).get("id")
        return ("ok", task_id) if task_id else ("other: a result without a task", None)
    code = reply.get("error", {}).get("code") if isinstance(reply, dict) else None
    if status == 503 or code == -32050:
        return ("retryable", None)
    return (f"other: HTTP {status}, JSON-RPC {code}", None)

def send(i):
    port = ports[i % 2]
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {
        "message": {"messageId": f"patroni-drill-{i}", "role": "ROLE_USER", "parts": [{"text": f"{questions[i % len(questions)]} (drill {i})"}]},
        "configuration": {"returnImmediately": True}}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
    started = time.time()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            outcome, task_id = classify(response.status, json.load(response))
    except urllib.error.HTTPError as error:
        try: reply = json.load(error)
        except Exception: reply = None
        outcome, task_id = classify(error.code, reply)
    except Exception as error:  # refused, reset, time-out: the client saw no answer
        outcome, task_id = f"other: {type(error).__name__}: {error}", None
    with lock:
        records.append({"i": i, "replica": "ab"[i % 2], "start": started, "end": time.time(), "outcome": outcome, "task": task_id})

# Open loop: one submission every 1/rate s whatever the answers take (a slow answer does not
# slow the arrivals), so the gap is measured at a steady offered rate.
start = time.time()
kill_at = start + warmup
stop_at = kill_at + after
killed = None
with concurrent.futures.ThreadPoolExecutor(max_workers=256) as pool:
    i = 0
    while True:
        due = start + i / rate
        if killed is None and due >= kill_at:
            os.kill(primary_pid, signal.SIGKILL)  # the primary's postmaster; Patroni fails over
            killed = time.time()
        if due >= stop_at: break
        time.sleep(max(0.0, due - time.time()))
        pool.submit(send, i)
        i += 1
json.dump({"killed": killed, "start": start, "records": records}, open(out, "w"))
PY
say "load done; reading every acknowledged task back"
NEW_PRIMARY=""
for _ in $(seq 1 100); do
  [ "$(role_of "$REST2")" = primary ] && { NEW_PRIMARY=node2; break; }
  [ "$(role_of "$REST1")" = primary ] && { NEW_PRIMARY=node1; break; }
  sleep 0.1
done
say "primary now: ${NEW_PRIMARY:-none}; node1 is $(role_of "$REST1" || true), node2 is $(role_of "$REST2" || true)"

set +e
/usr/bin/python3 - "${PORTS[0]}" "${PORTS[1]}" "$WORK/load.json" "$MAX_RECOVERY_SECONDS" "$WORK/${NEW_PRIMARY:-node2}.log" <<'PY'
import collections, datetime, json, re, sys, time, urllib.request
port_a, port_b, path, max_recovery, patroni_log = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
load = json.load(open(path))
killed, records = load["killed"], sorted(load["records"], key=lambda r: r["start"])
# When Patroni promoted the standby (its log's local time): the database's share of the gap.
for line in open(patroni_log, errors="replace"):
    match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO: (promoted self to leader|cleared rewind state after becoming the leader)", line)
    if match:
        promoted = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(match.group(2)) / 1000
        if promoted >= killed - 1:
            print(f"patroni: the standby was promoted (took the leader key) {promoted - killed:.2f} s after the kill")
            break
ports = [port_a, port_b]
failures_after = [r for r in records if r["outcome"] != "ok" and r["end"] >= killed]
kinds = collections.Counter(r["outcome"] for r in records if r["outcome"] != "ok")
before = [r for r in records if r["start"] < killed]
print(f"load: {len(records)} SendMessage (returnImmediately) at a steady rate over {max(r['end'] for r in records) - load['start']:.0f} s, "
      f"{len(before)} before the kill; {sum(r['outcome'] == 'ok' for r in records)} acknowledged")
if failures_after:
    last_failure = max(r["start"] for r in failures_after)
    later_ok = [r for r in records if r["outcome"] == "ok" and r["start"] > last_failure]
    recovered = min((r["end"] for r in later_ok), default=None)
    first_failure = min(r["end"] for r in failures_after)
    print(f"errors after the kill: first answered {first_failure - killed:.2f} s after it, last sent {last_failure - killed:.2f} s after it")
else:
    recovered = min((r["end"] for r in records if r["outcome"] == "ok" and r["start"] >= killed), default=None)
slowest = max((r["end"] - r["start"] for r in records if r["outcome"] == "ok" and r["end"] >= killed), default=0.0)
recovery = (recovered - killed) if recovered is not None else float("inf")
print(f"recovery: SendMessage succeeded again {recovery:.2f} s after the primary's postmaster was SIGKILLed (goal ≤ 30 s, aim ≤ 15 s); "
      f"slowest acknowledged answer after the kill took {slowest:.2f} s")
# Each replica on its own: a replica whose reconnect fails is not hidden behind the other's success.
for replica in "ab":
    mine = [r for r in records if r["replica"] == replica and r["start"] >= killed]
    mine_failures = [r for r in mine if r["outcome"] != "ok"]
    after = [r for r in mine if r["outcome"] == "ok" and (not mine_failures or r["start"] > max(f["start"] for f in mine_failures))]
    if after:
        print(f"replica {replica}: SendMessage succeeded again {min(r['end'] for r in after) - killed:.2f} s after the kill "
              f"({len(mine_failures)} of {len(mine)} calls after the kill failed)")
    else:
        print(f"replica {replica}: never answered SendMessage successfully again ({len(mine_failures)} of {len(mine)} calls after the kill failed)")
for kind, count in sorted(kinds.items()):
    print(f"client errors: {count} × {kind}")
non_retryable = sum(count for kind, count in kinds.items() if kind != "retryable")

# Every acknowledged task, read back after the failover (alternating replicas), then followed to
# its end: a task acknowledged before the kill was committed on the synchronous standby too.
acknowledged = [r["task"] for r in records if r["outcome"] == "ok"]
def get(i, task_id):
    """GetTask through one replica, else the other; None when neither answers in time."""
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "GetTask", "params": {"id": task_id}}).encode()
    for port in (ports[i % 2], ports[(i + 1) % 2]):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
        try:
            return json.load(urllib.request.urlopen(request, timeout=5))
        except urllib.error.HTTPError as error:
            reply = json.load(error)
            if reply.get("error", {}).get("code") != -32050: return reply
        except Exception:
            pass
    return None
missing, unread = [], []
states = {}
for i, task_id in enumerate(acknowledged):
    reply = get(i, task_id)
    if reply is None: unread.append(task_id)
    elif "error" in reply: missing.append(task_id)
    else: states[task_id] = reply["result"]["status"]["state"]
if unread: print(f"read-back: {len(unread)} acknowledged tasks could not be read through either replica (no answer within 5 s)")
terminal = {"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"}
deadline = time.time() + 120
while time.time() < deadline and any(s not in terminal for s in states.values()):
    time.sleep(1)
    for i, task_id in enumerate([t for t, s in states.items() if s not in terminal]):
        reply = get(i, task_id)
        if reply and "result" in reply: states[task_id] = reply["result"]["status"]["state"]
counts = collections.Counter(states.values())
unfinished = sorted(task_id for task_id, state in states.items() if state != "TASK_STATE_COMPLETED")
for task_id in unfinished: print(f"not completed: {task_id} {states[task_id]}")
open(path + ".unfinished", "w").write("".join(f"{task_id}\n" for task_id in unfinished))
print(f"loss: {len(missing)} of {len(acknowledged)} acknowledged tasks missing after the failover (goal 0); "
      f"end states: {', '.join(str(n) + ' ' + s.replace('TASK_STATE_', '') for s, n in sorted(counts.items()))}")
failed = bool(missing) or bool(unread) or counts.get("TASK_STATE_COMPLETED", 0) != len(acknowledged) or recovery > max_recovery or non_retryable > 0
sys.exit(1 if failed else 0)
PY
STATUS=$?
set -e
# A task that did not complete: where the work queue says it is (owner, lease), for the report.
if [ -s "$WORK/load.json.unfinished" ] && [ -n "$NEW_PRIMARY" ]; then
  NEW_PG=$([ "$NEW_PRIMARY" = node1 ] && echo "$PG1" || echo "$PG2")
  while read -r task_id; do
    as_postgres "$PG_BIN/psql" -X -q -A -h "$WORK/$NEW_PRIMARY/socket" -p "$NEW_PG" -U postgres -d ares \
      -c "SELECT * FROM ares_task_queue WHERE task_id = '$task_id'" | sed 's/^/queue: /' || true
  done <"$WORK/load.json.unfinished"
fi
if "$ARES" db verify >"$WORK/verify.txt" 2>&1; then
  sed 's/^/verify: /' "$WORK/verify.txt"
else
  sed 's/^/verify: /' "$WORK/verify.txt"; STATUS=1
fi
say "drill finished ($([ "$STATUS" = 0 ] && echo passed || echo FAILED))"
exit "$STATUS"
