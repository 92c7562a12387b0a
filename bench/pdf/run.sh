#!/usr/bin/env bash
# PDF ingest benchmark: `ares ingest` of generated PDFs (one of PAGES pages, and the same pages
# as PAGES/10 files of ten pages), side by side with Poppler's own pdftotext on the same files
# (text extraction alone, the floor ares's Poppler-based reader cannot beat). Prints the
# numbers recorded in BENCHMARKS.md ("PDF ingest").
#
# Usage: bench/pdf/run.sh [PAGES]     (default 300; needs ghostscript, poppler-utils, time)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PAGES=${1:-300}
ARES=${ARES_BINARY:-$ROOT/.build/release/ares}
for tool in ps2pdf pdftotext pdfseparate pdfunite /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install ghostscript poppler-utils time" >&2; exit 1; }
done
[ -x "$ARES" ] || { echo "no ares binary at $ARES: swift build -c release --product ares (or set ARES_BINARY)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/one" "$WORK/many" "$WORK/split"
python3 "$HERE/make_pdf.py" "$PAGES" "$WORK/one/book.pdf"
# The same pages as files of ten pages each.
pdfseparate "$WORK/one/book.pdf" "$WORK/split/p-%05d.pdf"
ls "$WORK/split"/p-*.pdf | sort | xargs -n 10 | awk '{ printf "%s %s/many/part-%04d.pdf\n", $0, "'"$WORK"'", NR }' \
  | while read -r line; do pdfunite $line; done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== ares: $ARES ($("$ARES" version --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["build"]["configuration"])' 2>/dev/null || echo unknown))"
echo "== input: $PAGES pages, $(du -k "$WORK/one/book.pdf" | cut -f1) KB as one file; $(ls "$WORK/many" | wc -l) files of up to 10 pages"
for run in 1 2 3; do
  for corpus in one many; do
    rm -rf "$WORK/kb-$corpus"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$ARES" ingest "$WORK/$corpus" --data-dir "$WORK/kb-$corpus" >"$WORK/out" 2>&1
    read -r seconds rss < "$WORK/time"
    passages=$(grep -o '[0-9]* passages' "$WORK/out" | head -1)
    echo "run $run  ares ingest ($corpus): ${seconds} s wall, peak RSS $((rss / 1024)) MB, $passages, $(python3 -c "print(round($PAGES / max($seconds, 0.001)))") pages/s"
  done
  /usr/bin/time -f "%e" -o "$WORK/time" pdftotext "$WORK/one/book.pdf" "$WORK/book.txt"
  echo "run $run  pdftotext (one): $(cat "$WORK/time") s wall"
done
echo "== a page's passage cites it:"
"$ARES" search "Section $((PAGES / 2))" --data-dir "$WORK/kb-one" --mode keyword --limit 1 | head -1
