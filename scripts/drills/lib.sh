# Helpers the PostgreSQL drills share (patroni-failover.sh, rolling-upgrade.sh,
# postgres-restore.sh): sourced, never run. One copy, so that a fix to how a drill finds a
# server's port or waits for readiness reaches every drill.
# Expects `set -euo pipefail` and the repository root as the working directory.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

now() { date +%s.%N; }
seconds() { awk "BEGIN{printf \"%.2f\", $2 - $1}"; } # from to → the seconds between, 2 decimals
say() { echo "[$(date -u +%H:%M:%S)] $*"; }

# PostgreSQL's binaries refuse to run as root: as root they run as the postgres OS user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# [path] → the absolute path of the ares binary (the path given, else $ARES_BINARY, else
# .build/debug/ares); fails saying what to do when there is none. Absolute, because drills hand
# it to processes that run in other directories.
ares_binary() {
  local path="${1:-${ARES_BINARY:-.build/debug/ares}}"
  [ -x "$path" ] || { echo "no ares binary at $path: run swift build first" >&2; return 1; }
  realpath "$path"
}

# log pid [timeout_s] → the port from the server's "listening" log line; fails with the log's
# tail when the server exits or the line does not come within the timeout (default 60 s).
port_of() {
  local log="$1" pid="$2" deadline=$((SECONDS + ${3:-60})) port=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    port="$(grep -o '"msg":"listening".*127.0.0.1:[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | head -1 || true)"
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "ares serve did not start: $(tail -20 "$log" 2>/dev/null)" >&2
  return 1
}

# port pid log [timeout_s] → returns once /health/ready answers 200; fails with the log's tail
# when the server exits first or is not ready within the timeout (default 300 s: a server that
# loads a knowledge base from the database on a loaded machine can take minutes).
wait_ready() {
  local port="$1" pid="$2" log="$3" deadline=$((SECONDS + ${4:-300}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "ares serve on :$port exited before it was ready:" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.05
  done
  echo "ares serve on :$port was not ready within ${4:-300} s" >&2
  return 1
}

# binary data_dir log_prefix → this project's docs/ ingested into the database
# ($ARES_DATABASE_URL, shared by the replicas) and into data_dir (for a server that still
# searches its data directory's knowledge base); on failure prints the ingest's log.
ingest_docs() {
  local binary="$1" data_dir="$2" log="$3"
  "$binary" ingest docs >"$log-database.log" 2>&1 || { cat "$log-database.log" >&2; return 1; }
  env -u ARES_DATABASE_URL -u ARES_DATABASE_PASSWORD_FILE "$binary" ingest docs --data-dir "$data_dir" >"$log.log" 2>&1 \
    || { cat "$log.log" >&2; return 1; }
}
