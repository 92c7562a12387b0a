#!/usr/bin/env bash
# ares no-op tasks against PgQueuer no-op jobs on the same throwaway PostgreSQL 15 cluster, in one
# run (issue 16's reference: ares ≥ 1.5× PgQueuer with the same durability settings).
#
#   bash bench/postgres/pgqueuer.sh [ROUNDS] [JOBS]          (defaults 3 and 4000; SKIP_BUILD=1 skips the build;
#                                                              ARES_BENCH=PATH: another build's ares-bench, no build)
#
# ares: `ares-bench queue-postgres --shape task-postgres`: 8 producers submit no-op tasks (the
# TaskSubmitted event appended durably and the queue row inserted, in one group-committed
# transaction, as `ares serve --database` does) while 16 workers claim them (SKIP LOCKED, lease),
# append TaskCompleted durably and release the row.
# PgQueuer (PyPI pgqueuer 1.6.0 on asyncpg, in a bench-only venv .venv-pgqueuer): 8 producers
# enqueue while one QueueManager (batch_size 10, LISTEN/NOTIFY) runs a no-op entrypoint; a round
# ends when every job ran and PgQueuer's queue table is empty. Two enqueue shapes: one job per
# call (a commit each, like one ares submission per request) and 100 jobs per call.
# Both on the cluster of scripts/postgres-test-cluster.sh: fsync on, synchronous_commit on (the
# script refuses to run otherwise). Rounds alternate ares and PgQueuer, so both see the same
# machine; the medians and their ratios are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
JOBS=${2:-4000}
VENV=.venv-pgqueuer

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --disable-pip-version-check -q "pgqueuer[asyncpg]==1.6.0" "asyncpg==0.32.0"
# SKIP_BUILD=1: use the ares-bench already built (another build may hold .build's lock for long).
[ -n "${SKIP_BUILD:-}${ARES_BENCH:-}" ] || swift build -c release --product ares-bench >/dev/null
BENCH=${ARES_BENCH:-.build/release/ares-bench}

cluster="$(mktemp -d /tmp/ares-bench-pgq.XXXXXX)"
out="$(mktemp -d /tmp/ares-bench-pgq-out.XXXXXX)"
trap 'bash scripts/postgres-test-cluster.sh stop "$cluster"; rm -rf "$out"' EXIT
# Prints PGPORT, PGSOCKET, ARES_DATABASE_URL and ARES_DATABASE_PASSWORD_FILE (a path, not the password).
eval "$(bash scripts/postgres-test-cluster.sh start "$cluster" $$)"
export ARES_DATABASE_URL ARES_DATABASE_PASSWORD_FILE

echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("/usr/lib/postgresql/15/bin/postgres" --version | awk '{print $3}'), pgqueuer $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pgqueuer"))'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "synchronous_commit: $(bash scripts/postgres-test-cluster.sh psql "$cluster" -At -c 'SHOW synchronous_commit'), fsync: $(bash scripts/postgres-test-cluster.sh psql "$cluster" -At -c 'SHOW fsync')"
for round in $(seq "$ROUNDS"); do
  "$BENCH" queue-postgres --shape task-postgres --rounds 1 --jobs "$JOBS" \
    | grep '^round' | sed "s/^round 1/round $round ares/" | tee -a "$out/ares.txt"
  "$VENV/bin/python" bench/postgres/pgqueuer_noop.py --jobs "$JOBS" | sed "s/^/round $round /" | tee -a "$out/pgqueuer.txt"
done
python3 - "$out" <<'PY'
import re, statistics, sys
out = sys.argv[1]
def rates(path, pattern):
    return [int(m.group(1)) for line in open(path) if pattern in line for m in [re.search(r"= (\d+) jobs/s", line)] if m]
ares = statistics.median(rates(f"{out}/ares.txt", "no-op task"))
single = statistics.median(rates(f"{out}/pgqueuer.txt", "one job per enqueue"))
batched = statistics.median(rates(f"{out}/pgqueuer.txt", "100 jobs per enqueue"))
print(f"median ares no-op tasks (submitted → claimed → completed): {ares:.0f}/s")
print(f"median PgQueuer no-op jobs, one job per enqueue:           {single:.0f}/s   ares/PgQueuer = {ares / single:.2f}×")
print(f"median PgQueuer no-op jobs, 100 jobs per enqueue:          {batched:.0f}/s   ares/PgQueuer = {ares / batched:.2f}×")
print("goal (issue 16): ares ≥ 1.5× PgQueuer")
PY
