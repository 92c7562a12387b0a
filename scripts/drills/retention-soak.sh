#!/usr/bin/env bash
# Drill: retention soak (issue 12). Serves a data directory (this project's docs ingested) with
# `--retention` on, runs research tasks under a steady load from a Python client for DURATION
# seconds, and samples the data directory's size every SAMPLE seconds, printing a table:
# elapsed time, tasks finished, tasks pruned so far (summaries kept), the data directory's bytes
# and the event store's (tasks.sqlite with its WAL).
# Each sample also reads the event store: the task streams still kept and their payload bytes,
# the pruned tasks' summaries, the episodic memory's bytes (`memory-episodes`).
# It passes when, after a warm-up of two retention periods plus a minute (every task written by
# then has had its chance to be pruned): the kept task streams' bytes level off (their largest
# in the last third of the samples is at most 1.5 times their largest in the first third), and
# the data directory grows by at most --max-bytes-per-task (default 2048; least squares over the
# samples, as the WAL comes and goes with checkpoints) per task finished: what a pruned task
# leaves on purpose (its summary and chain checkpoint, and its episode in episodic memory, which
# retention does not forget) instead of the ~7-10 kB a kept task stores. Then `ares verify`
# must find every chain intact. Exits 1 otherwise.
# At the end it prints where tasks.sqlite's bytes are, per table and index (SQLite's dbstat:
# pages, and the bytes of those pages left unused), so that growth can be attributed.
# Usage: bash scripts/drills/retention-soak.sh [DURATION_S] [--retention 60s] [--clients 2]
#        [--sample 30] [--max-bytes-per-task 2048] [--keep-data DIR]
#        (--keep-data: copy the data directory to DIR at the end, for inspection)
#        (default 600 s; uses .build/debug/ares unless $ARES_BINARY, copied so that builds during
#        the soak do not change it)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=600
RETENTION=60s
CLIENTS=2
SAMPLE=30
MAX_PER_TASK=2048
KEEP_DATA=""
while [ $# -gt 0 ]; do
  case "$1" in
    --retention) RETENTION="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    --max-bytes-per-task) MAX_PER_TASK="$2"; shift 2 ;;
    --keep-data) KEEP_DATA="$2"; shift 2 ;;
    [0-9]*) DURATION="$1"; shift ;;
    *) echo "usage: $0 [DURATION_S] [--retention 60s] [--clients N] [--sample S] [--max-bytes-per-task B] [--keep-data DIR]" >&2; exit 2 ;;
  esac
done
. scripts/drills/lib.sh
WORK="$(mktemp -d /tmp/ares-drill-retention-soak.XXXXXX)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -n "$KEEP_DATA" ]; then rm -rf "$KEEP_DATA"; cp -r "$WORK/data" "$KEEP_DATA"; echo "data directory kept in $KEEP_DATA"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp "$(ares_binary)" "$WORK/ares"
ARES="$WORK/ares"

"$ARES" ingest docs --data-dir "$WORK/data" >/dev/null 2>&1
"$ARES" serve --dev --port 0 --data-dir "$WORK/data" --retention "$RETENTION" >"$WORK/serve.log" 2>&1 &
SERVER=$!
PORT="$(port_of "$WORK/serve.log" "$SERVER")"
wait_ready "$PORT" "$SERVER" "$WORK/serve.log"
echo "ares serve --retention $RETENTION on :$PORT; $CLIENTS clients for $DURATION s, a sample every $SAMPLE s"

python3 - "$PORT" "$DURATION" "$CLIENTS" "$SAMPLE" "$WORK/data" "$RETENTION" "$MAX_PER_TASK" "$SERVER" <<'PY'
import json, os, re, sqlite3, sys, threading, time, urllib.request
port, duration, clients, sample, data = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
retention_text, max_per_task, pid = sys.argv[6], float(sys.argv[7]), int(sys.argv[8])
units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
retention = int(retention_text[:-1]) * units[retention_text[-1]]
questions = ["How are tasks resumed?", "Where does ares keep its data?", "What does ares verify check?", "How are API keys stored?"]
finished, failed, lock, stop = [0], [0], threading.Lock(), threading.Event()

def send(i):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {"messageId": f"soak-{i}", "role": "ROLE_USER",
        "parts": [{"text": f"{questions[i % len(questions)]} (soak {i})"}]}}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
    return json.load(urllib.request.urlopen(request, timeout=120)).get("result", {}).get("task", {}).get("status", {}).get("state")

def client(k):
    i = k
    while not stop.is_set():
        try:
            state = send(i)
        except Exception:
            state = None
        with lock:
            if state == "TASK_STATE_COMPLETED": finished[0] += 1
            else: failed[0] += 1
        i += clients

def size(*names):
    total = 0
    for root, _, files in os.walk(data):
        for name in files:
            if not names or name in names:
                try: total += os.path.getsize(os.path.join(root, name))
                except OSError: pass
    return total

def store_counts():
    # Read-only, beside the server (SQLite in WAL mode: readers do not block the writer).
    try:
        db = sqlite3.connect(f"file:{os.path.join(data, 'tasks.sqlite')}?mode=ro", uri=True, timeout=10)
        kept, kept_bytes = db.execute("SELECT count(DISTINCT stream), coalesce(sum(length(payload)), 0) FROM event WHERE stream LIKE 'task-%'").fetchone()
        summaries = db.execute("SELECT count(*) FROM prunedStream").fetchone()[0]
        memory = db.execute("SELECT coalesce(sum(length(payload)), 0) FROM event WHERE stream = 'memory-episodes'").fetchone()[0]
        db.close()
        return kept, kept_bytes, summaries, memory
    except sqlite3.Error:
        return -1, -1, -1, -1

def pruned():
    # The server's retention passes log how many tasks they removed.
    total = 0
    try:
        for line in open(os.path.join(os.path.dirname(data), "serve.log")):
            if "retention pruned ended tasks" in line:
                match = re.search(r'"pruned":"?([0-9]+)', line)
                if match: total += int(match.group(1))
    except OSError: pass
    return total

threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
start = time.time()
for t in threads: t.start()
rows = []
print(f"{'elapsed s':>9} {'finished':>9} {'failed':>7} {'pruned':>7} {'tasks kept':>10} {'their bytes':>12} {'summaries':>9} "
      f"{'memory bytes':>12} {'data dir bytes':>15} {'tasks.sqlite':>13} {'its WAL':>11}")
def record():
    with lock: done, bad = finished[0], failed[0]
    row = (time.time() - start, done, bad, pruned(), size(), size("tasks.sqlite"), size("tasks.sqlite-wal")) + store_counts()
    rows.append(row)
    print(f"{row[0]:9.0f} {row[1]:9d} {row[2]:7d} {row[3]:7d} {row[7]:10d} {row[8]:12,d} {row[9]:9d} {row[10]:12,d} "
          f"{row[4]:15,d} {row[5]:13,d} {row[6]:11,d}", flush=True)
record()
while time.time() - start < duration:
    time.sleep(max(0, min(sample, duration - (time.time() - start))))
    record()
stop.set()
for t in threads: t.join()
warm = 2 * retention + 60
after = [r for r in rows if r[0] >= warm]
if len(after) < 2:
    print(f"FAIL: the soak is too short to judge: {duration:.0f} s leaves fewer than two samples after the warm-up of {warm} s")
    sys.exit(1)
first, last = after[0], after[-1]
tasks = last[1] - first[1]
# Least squares slope of the data directory's bytes over tasks finished, after the warm-up.
xs, ys = [r[1] for r in after], [r[4] for r in after]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
variance = sum((x - mx) ** 2 for x in xs)
per_task = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / variance if variance > 0 else float("inf")
third = max(1, len(after) // 3)
kept_early, kept_late = max(r[8] for r in after[:third]), max(r[8] for r in after[-third:])
summaries = last[9] - first[9]
memory = last[10] - first[10]
print(f"load: {last[1]} tasks finished in {last[0]:.0f} s ({last[1] / last[0]:.1f}/s), {last[2]} failed; pruned (retention log): {last[3]}")
print(f"after the warm-up ({warm} s), over {tasks} tasks: the data directory grows {per_task:,.0f} bytes per task (least squares; "
      f"limit {max_per_task:,.0f}); kept task streams' bytes, largest in the first / last third: {kept_early:,} / {kept_late:,}; "
      f"{summaries} summaries added; episodic memory +{memory:,} bytes ({memory / tasks if tasks else 0:,.0f} per task, not pruned by retention)")
def breakdown():
    # Where tasks.sqlite's bytes are: pages per table and index, and how much of them is unused.
    try:
        db = sqlite3.connect(f"file:{os.path.join(data, 'tasks.sqlite')}?mode=ro", uri=True, timeout=10)
        rows = db.execute("SELECT name, count(*), sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC").fetchall()
        free, page = db.execute("PRAGMA freelist_count").fetchone()[0], db.execute("PRAGMA page_size").fetchone()[0]
        db.close()
    except sqlite3.Error as error:
        print(f"(no breakdown: {error})")
        return
    print(f"tasks.sqlite by table and index (pages of {page} bytes; {free} free pages):")
    print(f"  {'name':<40} {'pages':>7} {'bytes':>12} {'unused':>12}")
    for name, pages, size, unused in rows:
        print(f"  {name:<40} {pages:7d} {size:12,d} {unused:12,d}")
breakdown()
if last[2] > 0:
    print(f"FAIL: {last[2]} tasks did not complete")
    sys.exit(1)
if kept_late > 1.5 * kept_early:
    print("FAIL: the kept task streams keep growing: retention does not keep up")
    sys.exit(1)
if tasks <= 0 or per_task > max_per_task:
    print("FAIL: the data directory keeps growing faster than what pruned tasks leave on purpose")
    sys.exit(1)
print("PASS: the kept task streams level off; the data directory grows only by what pruned tasks leave on purpose")
PY
kill "$SERVER" 2>/dev/null || true
{ wait "$SERVER"; } 2>/dev/null || true
SERVER=""
"$ARES" verify --data-dir "$WORK/data" | tail -3
