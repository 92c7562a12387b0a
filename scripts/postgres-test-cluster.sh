#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks (issue 16): its own data folder,
# free port and private unix socket folder, TCP on 127.0.0.1 only (scram-sha-256), fsync on.
# The one implementation: Tests/AresTestSupport/TestPostgresCluster.swift runs this script too.
#
#   scripts/postgres-test-cluster.sh start DIR [OWNER_PID]
#       initdb into DIR/data, start it, create the role `ares` with a password generated now and
#       the database `ares` it owns. Prints shell assignments on stdout (PGPORT, PGSOCKET,
#       ARES_DATABASE_URL, ARES_DATABASE_PASSWORD_FILE): the password itself is only in
#       DIR/password (mode 600), never in argv, stdout or a log. With OWNER_PID, a watchdog
#       stops the cluster and removes DIR once that process has ended (a test run that crashes
#       leaves nothing running).
#   scripts/postgres-test-cluster.sh stop DIR
#       stops the cluster (immediate: a throwaway cluster needs no checkpoint) and removes DIR.
#   scripts/postgres-test-cluster.sh pause DIR | resume DIR
#       stops the server (fast shutdown) and keeps DIR; starts it again on the same port: a
#       database that is away and comes back (start-up retries, lost connections).
#   scripts/postgres-test-cluster.sh psql DIR [psql arguments...]
#       psql as the superuser over the private socket (SQL on stdin or with -c).
#
# Runs the server as the `postgres` OS user when started as root (PostgreSQL refuses root).
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Descriptors inherited from the caller are closed first: the server and the watchdog outlive
# this script, and a caller that learns of its child's exit from a descriptor closing (Swift's
# Foundation.Process does) would otherwise wait for the cluster to stop instead of this script.
# Closing it early can also keep Foundation from noticing this script's end at all, so the Swift
# callers wait with ChildProcessExit (Sources/Resilience), which asks the kernel.
for fd in $(ls /proc/$$/fd); do
  case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

die() { echo "postgres-test-cluster: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir="$1" owner="${2:-}"
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed ($PG_BIN/initdb missing): apt-get install postgresql-15"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  mkdir -p "$dir/socket"
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi

  # The superuser logs in over the private socket only (its folder is mode 700: only the
  # postgres OS user and root reach it); TCP needs a password (scram-sha-256).
  as_postgres "$PG_BIN/initdb" -D "$dir/data" --username=postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --no-locale --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  local attempt port=""
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    cat >>"$dir/data/postgresql.conf" <<EOF
# postgres-test-cluster.sh (attempt $attempt)
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 64MB
EOF
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    # Another process took the port between the probe and the start: try another.
    port=""
  done
  [ -n "$port" ] || { tail -20 "$dir/server.log" >&2 || true; die "the cluster did not start"; }

  # A password generated now (URL-safe, 32 characters), kept in a file only the owner reads.
  umask 077
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$dir/password"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir/password"; fi
  chmod 600 "$dir/password"
  # The password reaches psql on stdin (a psql variable), never on a command line.
  {
    printf '\\set pw `cat %q`\n' "$dir/password"
    cat <<'EOF'
CREATE ROLE ares LOGIN PASSWORD :'pw';
CREATE DATABASE ares OWNER ares;
EOF
  } | as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$port" -U postgres -d postgres >/dev/null \
    || die "could not create the role and database"

  echo "$port" >"$dir/port"
  if [ -n "$owner" ]; then
    # The watchdog: detached, it outlives this script and stops the cluster after its owner.
    nohup bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2/data" ]; do sleep 1; done; exec bash "$0" stop "$2"' \
      "$0" "$owner" "$dir" >/dev/null 2>&1 &
  fi
  echo "PGPORT=$port"
  echo "PGSOCKET=$dir/socket"
  echo "ARES_DATABASE_URL=postgres://ares@127.0.0.1:$port/ares?sslmode=disable"
  echo "ARES_DATABASE_PASSWORD_FILE=$dir/password"
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

pause() {
  as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null
}

resume() {
  as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start >/dev/null
}

run_psql() {
  local dir="$1"; shift
  as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$(cat "$dir/port")" -U postgres "$@"
}

case "${1:-}" in
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [OWNER_PID]"; start "$2" "${3:-}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  pause) [ $# -eq 2 ] || die "usage: $0 pause DIR"; pause "$2" ;;
  resume) [ $# -eq 2 ] || die "usage: $0 resume DIR"; resume "$2" ;;
  psql) [ $# -ge 2 ] || die "usage: $0 psql DIR [psql arguments]"; dir="$2"; shift 2; run_psql "$dir" "$@" ;;
  *) die "usage: $0 start DIR [OWNER_PID] | stop DIR | pause DIR | resume DIR | psql DIR [arguments]" ;;
esac
