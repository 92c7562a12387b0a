#!/usr/bin/env bash
# How soon a search on one `ares serve --database` replica sees a document ingested through
# another (issue 16's target: within 2 s), across real processes. Two replicas on one throwaway
# PostgreSQL 15 cluster (scripts/postgres-test-cluster.sh: fsync and synchronous_commit on, the
# password generated now and kept in a file), the knowledge base first filled with a corpus by
# `ares ingest --database` (default: the PostgreSQL 15 HTML docs, ~6,000 passages; "" for none).
# Then SAMPLES times: a new one-page document is ingested with `ares/ingest` on replica A; from
# A's acknowledgement, `ares/search` on replica B is polled every 10 ms until the document is
# among its results. Prints each sample, then p50 and max of the lag and of the ingest call.
#
#   bash bench/postgres/knowledge-lag.sh [SAMPLES] [CORPUS]      (defaults 10 and the PostgreSQL docs)
#   ARES=/path/to/ares bash bench/postgres/knowledge-lag.sh       # a given binary (default: release build, incremental)
set -euo pipefail
cd "$(dirname "$0")/../.."
samples="${1:-10}"
corpus="${2-/usr/share/doc/postgresql-doc-15/html}"
ares="${ARES:-.build/release/ares}"
[ -n "${ARES:-}" ] || swift build -c release --product ares >/dev/null

work="$(mktemp -d /tmp/ares-bench-kblag.XXXXXX)"
cluster="$(mktemp -d /tmp/ares-bench-kblagpg.XXXXXX)"   # its own folder: the script hands it to the postgres user
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash scripts/postgres-test-cluster.sh stop "$cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
eval "$(bash scripts/postgres-test-cluster.sh start "$cluster" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE

mkdir -p "$work/cli" "$work/a" "$work/b"
echo "machine: $(nproc) cores, $(uname -sr), PostgreSQL $("/usr/lib/postgresql/15/bin/postgres" --version | awk '{print $3}'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
if [ -n "$corpus" ]; then
  echo "corpus: $corpus ($(find "$corpus" -type f | wc -l) files)"
  "$ares" ingest "$corpus" --data-dir "$work/cli" | grep -E "^Knowledge base" || true
fi
key="$("$ares" keys create --role admin --name knowledge-lag --data-dir "$work/cli")"
printf '%s' "$key" >"$work/key"
unset key

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port_a="$(free_port)"; port_b="$(free_port)"
"$ares" serve --port "$port_a" --data-dir "$work/a" --replica-id lag-a >"$work/a.log" 2>&1 & pids+=($!)
"$ares" serve --port "$port_b" --data-dir "$work/b" --replica-id lag-b >"$work/b.log" 2>&1 & pids+=($!)

python3 - "$samples" "$port_a" "$port_b" "$work" <<'PY'
import json, os, statistics, sys, time, urllib.error, urllib.request, uuid
samples, port_a, port_b, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
key = open(os.path.join(work, "key")).read().strip()

def call(port, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/a2a", data=body, headers={
        "Content-Type": "application/json", "A2A-Version": "1.0", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)

def wait_ready(port):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    sys.exit(f"replica on port {port} not ready within 120 s")

started = time.monotonic()
wait_ready(port_a); wait_ready(port_b)
print(f"both replicas ready after {time.monotonic() - started:.1f} s (indexes loaded from the database's snapshot)")
lags, ingests = [], []
for sample in range(1, samples + 1):
    marker = "lagmark" + "".join(c for c in uuid.uuid4().hex if c.isalpha())[:8]
    path = os.path.join(work, f"{marker}.md")
    with open(path, "w") as f:
        f.write(f"# The {marker} note\n\nThe {marker} note says that replica lag is measured from the acknowledgement of the ingest.\n")
    t0 = time.monotonic()
    answer = call(port_a, "ares/ingest", {"paths": [path]})
    acknowledged = time.monotonic()
    if answer.get("result", {}).get("added") != 1:
        sys.exit(f"ingest failed: {answer}")
    while True:
        results = call(port_b, "ares/search", {"query": marker, "mode": "keyword", "limit": 3}).get("result", {}).get("results", [])
        if any(marker in r.get("source", "") for r in results):
            break
        if time.monotonic() - acknowledged > 30:
            sys.exit(f"sample {sample}: replica B never found the document")
        time.sleep(0.01)
    found = time.monotonic()
    lags.append(found - acknowledged); ingests.append(acknowledged - t0)
    print(f"sample {sample:2d}: ingest on A {1000 * (acknowledged - t0):7.1f} ms   found on B {1000 * (found - acknowledged):7.1f} ms after the acknowledgement")
    time.sleep(0.2)
print(f"lag, acknowledged on A -> found on B: p50 {1000 * statistics.median(lags):.0f} ms, max {1000 * max(lags):.0f} ms over {len(lags)} samples (target: 2000 ms)")
print(f"ares/ingest of one document on A:     p50 {1000 * statistics.median(ingests):.0f} ms, max {1000 * max(ingests):.0f} ms")
PY
bash scripts/postgres-test-cluster.sh psql "$cluster" -d ares -A -t -c \
  "SELECT 'store generation ' || (SELECT generation FROM ares_knowledge_state) || ', snapshot generation ' || coalesce((SELECT generation::text FROM ares_knowledge_snapshot), 'none') || ' (the ingests above did not rewrite it; the schedule or shutdown does)'"
