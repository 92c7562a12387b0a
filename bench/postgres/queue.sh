#!/usr/bin/env bash
# No-op jobs through the work queue (issue 16): the shared PostgreSQL queue (PostgresTaskQueue:
# SKIP LOCKED claims with leases) against the in-process queue, and a no-op task's whole life
# (durable submitted event, enqueue, claim, durable completed event, release) on PostgreSQL
# against the embedded default (SQLite + in-process queue), in one run. Starts a throwaway
# PostgreSQL 15 cluster (scripts/postgres-test-cluster.sh: fsync on, synchronous_commit on, the
# password in a file), builds ares-bench in release (incremental), runs
# `ares-bench queue-postgres`, and stops the cluster.
#
#   bash bench/postgres/queue.sh [ares-bench queue-postgres options, e.g. --rounds 5 --workers 16]
set -euo pipefail
cd "$(dirname "$0")/../.."

swift build -c release --product ares-bench >/dev/null
cluster="$(mktemp -d /tmp/ares-bench-pg.XXXXXX)"
trap 'bash scripts/postgres-test-cluster.sh stop "$cluster"' EXIT
# Prints PGPORT, PGSOCKET, ARES_DATABASE_URL and ARES_DATABASE_PASSWORD_FILE (a path, not the password).
eval "$(bash scripts/postgres-test-cluster.sh start "$cluster" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE

echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("/usr/lib/postgresql/15/bin/postgres" --version | awk '{print $3}'), $(date -u +%Y-%m-%dT%H:%MZ)"
.build/release/ares-bench queue-postgres "$@"
