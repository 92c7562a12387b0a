#!/usr/bin/env bash
# The knowledge base on PostgreSQL against SQLite in one run (issue 16): `ares ingest` of a corpus
# (default: the PostgreSQL 15 HTML docs, as `ares-bench corpus` uses) into a fresh SQLite data
# directory and into a fresh PostgreSQL database, rounds alternating so both see the same machine;
# then `ares search` end to end (process start, indexes loaded from the snapshot: index.bin or the
# database's, one hybrid search) on each. Starts a throwaway PostgreSQL 15 cluster
# (scripts/postgres-test-cluster.sh: fsync and synchronous_commit on, its password generated now
# and kept in a file), builds ares in release (incremental) unless ARES is given, stops the cluster.
#
#   bash bench/postgres/knowledge.sh [ROUNDS] [CORPUS]
#   ARES_BEFORE=/path/to/older/ares bash bench/postgres/knowledge.sh   # also an older binary on SQLite
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
corpus="${2:-/usr/share/doc/postgresql-doc-15/html}"
ares="${ARES:-.build/release/ares}"
[ -n "${ARES:-}" ] || swift build -c release --product ares >/dev/null

work="$(mktemp -d /tmp/ares-bench-kb.XXXXXX)"
cluster="$(mktemp -d /tmp/ares-bench-kbpg.XXXXXX)"   # the script's own folder: it hands it to the postgres user
trap 'bash scripts/postgres-test-cluster.sh stop "$cluster"; rm -rf "$work"' EXIT
eval "$(bash scripts/postgres-test-cluster.sh start "$cluster" $$)"
export ARES_DATABASE_PASSWORD_FILE
base_url="${ARES_DATABASE_URL%%/ares\?*}"
unset ARES_DATABASE_URL   # the SQLite runs must not pick it up

echo "machine: $(nproc) cores, $(uname -sr), PostgreSQL $("/usr/lib/postgresql/15/bin/postgres" --version | awk '{print $3}'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "corpus: $corpus ($(find "$corpus" -type f | wc -l) files)"
timed() { # label, command...: prints "label: wall W s, peak RSS R MB"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r wall rss <"$work/time"
  printf '%-22s wall %6.2f s   peak RSS %4d MB\n' "$label" "$wall" "$((rss / 1024))"
}
for round in $(seq 1 "$rounds"); do
  bash scripts/postgres-test-cluster.sh psql "$cluster" -q -c "CREATE DATABASE kb$round OWNER ares" >/dev/null
  timed "ingest sqlite #$round" "$ares" ingest "$corpus" --data-dir "$work/sqlite$round"
  if [ -n "${ARES_BEFORE:-}" ]; then timed "ingest sqlite-before #$round" "$ARES_BEFORE" ingest "$corpus" --data-dir "$work/before$round"; fi
  timed "ingest postgres #$round" "$ares" ingest "$corpus" --data-dir "$work/local$round" --database "$base_url/kb$round?sslmode=disable"
done
grep -E "^Knowledge base" "$work/out"
for round in $(seq 1 "$rounds"); do
  timed "search sqlite #$round" "$ares" search "how do I restore a dump" --data-dir "$work/sqlite1"
  timed "search postgres #$round" "$ares" search "how do I restore a dump" --data-dir "$work/local1" --database "$base_url/kb1?sslmode=disable"
done
sqlite_top="$("$ares" search "how do I restore a dump" --data-dir "$work/sqlite1" --format json | grep -o '"chunkId" : "[0-9a-f]*"' | tr '\n' ' ')"
postgres_top="$("$ares" search "how do I restore a dump" --data-dir "$work/local1" --database "$base_url/kb1?sslmode=disable" --format json | grep -o '"chunkId" : "[0-9a-f]*"' | tr '\n' ' ')"
[ "$sqlite_top" = "$postgres_top" ] && echo "same top 5 on both stores" || { echo "DIFFERENT results: $sqlite_top / $postgres_top"; exit 1; }
bash scripts/postgres-test-cluster.sh psql "$cluster" -d kb1 -c "SELECT pg_size_pretty(pg_database_size('kb1')) AS database, pg_size_pretty(length(contents)::bigint) AS index_snapshot FROM ares_knowledge_snapshot"
echo "sqlite data directory: $(du -sh "$work/sqlite1" | cut -f1)"
