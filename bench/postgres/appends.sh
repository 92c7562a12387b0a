#!/usr/bin/env bash
# Durable event appends with 64 appenders: PostgreSQL against SQLite in one run (issue 16's
# target: PostgreSQL at 50 % of SQLite's rate or better). Starts a throwaway PostgreSQL 15
# cluster (scripts/postgres-test-cluster.sh: fsync on, synchronous_commit on, its password
# generated now and kept in a file, never in argv or a log), builds ares-bench in release
# (incremental), runs `ares-bench eventstore-postgres`, and stops the cluster.
#
#   bash bench/postgres/appends.sh [ares-bench eventstore-postgres options, e.g. --rounds 5]
set -euo pipefail
cd "$(dirname "$0")/../.."

# ARES_BENCH=PATH: another build's ares-bench (no build).
[ -n "${ARES_BENCH:-}" ] || swift build -c release --product ares-bench >/dev/null
BENCH=${ARES_BENCH:-.build/release/ares-bench}
cluster="$(mktemp -d /tmp/ares-bench-pg.XXXXXX)"
trap 'bash scripts/postgres-test-cluster.sh stop "$cluster"' EXIT
# Prints PGPORT, PGSOCKET, ARES_DATABASE_URL and ARES_DATABASE_PASSWORD_FILE (a path, not the password).
eval "$(bash scripts/postgres-test-cluster.sh start "$cluster" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE

echo "machine: $(nproc) cores, $(uname -sr), PostgreSQL $("/usr/lib/postgresql/15/bin/postgres" --version | awk '{print $3}'), $(date -u +%Y-%m-%dT%H:%MZ)"
"$BENCH" eventstore-postgres "$@"
