#!/usr/bin/env bash
# Knowledge-base benchmark over the PostgreSQL 15 HTML documentation, side by side with the
# bm25s reference (Python) in the same run. Prints both tables; record them in BENCHMARKS.md.
#
# Usage: bench/pgdocs/run.sh        (installs postgresql-doc-15 and the Python reference's packages if missing)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CORPUS=/usr/share/doc/postgresql-doc-15/html

if [[ ! -d "$CORPUS" ]]; then
    echo "== installing postgresql-doc-15" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-doc-15 >&2
fi
if [[ ! -x /usr/bin/time ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
fi
python3 "$HERE/check_questions.py" --corpus "$CORPUS" --questions "$HERE/questions.json"

echo "== building ares (release)" >&2
(cd "$ROOT" && swift build -c release --product ares >&2 && swift build -c release --product ares-bench >&2)

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo
echo "== ares (Swift, release)"
"$ROOT/.build/release/ares-bench" corpus --corpus "$CORPUS" --questions "$HERE/questions.json" \
    --ares-binary "$ROOT/.build/release/ares"
echo
echo "== peak RSS of \`ares ingest\` as a user runs it"
rm -rf /tmp/ares-bench-cli
/usr/bin/time -f "ares ingest: %e s wall, peak RSS %M KB" "$ROOT/.build/release/ares" ingest "$CORPUS" --data-dir /tmp/ares-bench-cli 2>&1 >/dev/null | tail -1
echo
echo "== bm25s reference (Python)"
if ! python3 -c "import bm25s, Stemmer" 2>/dev/null; then
    python3 -m pip install --quiet bm25s PyStemmer >&2
fi
python3 "$HERE/bm25s_reference.py" --corpus "$CORPUS" --questions "$HERE/questions.json"
