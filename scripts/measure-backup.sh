#!/usr/bin/env bash
# Measures `ares backup`, `ares verify --backup` and `ares restore` on a data directory with
# this project's docs ingested plus TASKS finished research tasks (default 1000), submitted
# over A2A to a running `ares serve --dev`; the backup is taken while that server still runs.
# Usage: bash scripts/measure-backup.sh [TASKS]   (uses .build/debug/ares unless $ARES_BINARY)
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS="${1:-1000}"
ARES="${ARES_BINARY:-.build/debug/ares}"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$ARES" ingest docs --data-dir "$WORK/data" >/dev/null 2>&1
"$ARES" serve --dev --port 0 --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
  PORT="$(grep -o '"msg":"listening".*127.0.0.1:[0-9]*' "$WORK/serve.log" | grep -o '[0-9]*$' | head -1 || true)"
  [ -n "$PORT" ] && break; sleep 0.1
done
[ -n "$PORT" ] || { echo "ares serve did not start: $(cat "$WORK/serve.log")" >&2; exit 1; }
python3 - "$PORT" "$TASKS" <<'PY'
import json, sys, time, urllib.request, concurrent.futures
port, count = sys.argv[1], int(sys.argv[2])
questions = ["How are tasks resumed?", "Where does ares keep its data?", "What does ares verify check?", "How are API keys stored?"]
def send(i):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {"messageId": str(i), "role": "ROLE_USER",
        "parts": [{"text": f"{questions[i % len(questions)]} (variant {i})"}]}}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", body, {"Content-Type": "application/json", "A2A-Version": "1.0"})
    reply = json.load(urllib.request.urlopen(request, timeout=120))
    return reply.get("result", {}).get("task", {}).get("status", {}).get("state")
start = time.time()
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    states = list(pool.map(send, range(count)))
done = sum(1 for s in states if s == "TASK_STATE_COMPLETED")
print(f"tasks: {done}/{count} completed in {time.time() - start:.1f} s", file=sys.stderr)
PY
echo "data directory: $(du -sb "$WORK/data" | cut -f1) bytes"
now() { date +%s.%N; }
t0=$(now); "$ARES" backup "$WORK/backup" --data-dir "$WORK/data" 2>/dev/null; t1=$(now)
echo "backup (server running): $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s wall, $(du -sb "$WORK/backup" | cut -f1) bytes"
t0=$(now); "$ARES" verify --backup "$WORK/backup"; t1=$(now)
echo "verify --backup: $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s wall"
t0=$(now); "$ARES" restore "$WORK/backup" --data-dir "$WORK/restored" 2>/dev/null; t1=$(now)
echo "restore: $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s wall, $(du -sb "$WORK/restored" | cut -f1) bytes"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
: >"$WORK/serve2.log"
t0=$(now)
"$ARES" serve --dev --port 0 --data-dir "$WORK/restored" >"$WORK/serve2.log" 2>&1 &
SERVER=$!
until grep -q '"msg":"listening"' "$WORK/serve2.log"; do sleep 0.05; kill -0 "$SERVER" || { cat "$WORK/serve2.log" >&2; exit 1; }; done
t1=$(now)
echo "restored server listening (restore to serving: add the restore time) after: $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"
