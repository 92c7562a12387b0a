#!/usr/bin/env bash
# The native sentence-embedding benchmark (BENCHMARKS.md, "Native sentence embeddings"):
# ares's local embedder (all-MiniLM-L6-v2) against the reference on the PostgreSQL docs —
# identical tokenizer ids on every passage, cosine of 1,000 passage vectors to
# sentence-transformers, passages/s of both on the same 2 cores, one query's latency — then
# `ares-bench corpus` with the local embedder (ingest time, Recall@5, search latency).
#
# Needs: postgresql-doc-15 (apt), the model (bash scripts/install-interop-clients.sh), and a
# torch CPU wheel for the reference: $TORCH_WHEEL, else /opt/wheels/torch-*+cpu-*.whl. PyPI's
# default torch is the CUDA build (GBs); if no CPU wheel is at hand the script stops there.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL_DIR="${MODEL_DIR:-$PWD/.venv-interop/models/all-MiniLM-L6-v2}"
OUT="${OUT:-/tmp/ares-embeddings-bench}"
REF_VENV="${REF_VENV:-/tmp/ares-embed-venv}"
mkdir -p "$OUT"
[ -f "$MODEL_DIR/model.safetensors" ] || { echo "no model at $MODEL_DIR: run bash scripts/install-interop-clients.sh" >&2; exit 1; }
[ -d /usr/share/doc/postgresql-doc-15/html ] || { echo "apt-get install -y postgresql-doc-15" >&2; exit 1; }

swift build -c release --product ares-bench
BENCH=.build/release/ares-bench

LIMIT="${LIMIT:-1000}"
for QUANTIZATION in none int8; do
  echo "== ares: local embedder ($QUANTIZATION) on the PostgreSQL docs' passages"
  "$BENCH" embeddings --embedding-model-dir "$MODEL_DIR" --embedding-quantization "$QUANTIZATION" --limit "$LIMIT" \
    --passages-out "$OUT/passages-$QUANTIZATION.json" --ids-out "$OUT/ids-$QUANTIZATION.json" \
    --vectors-out "$OUT/vectors-$QUANTIZATION.json" --vector-count "$LIMIT"
done

echo "== reference: tokenizers + sentence-transformers on torch (CPU)"
if [ ! -x "$REF_VENV/bin/python" ]; then
  WHEEL="${TORCH_WHEEL:-$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)}"
  [ -n "$WHEEL" ] || { echo "no torch CPU wheel (set TORCH_WHEEL): the reference comparison is skipped" >&2; exit 1; }
  python3 -m venv "$REF_VENV"
  "$REF_VENV/bin/pip" install -q "$WHEEL"
  "$REF_VENV/bin/pip" install -q "sentence-transformers==6.2.0" "tokenizers==0.23.3"
fi
# Each run's own files: ingest is concurrent, so the passages' order can differ between runs.
# The reference times one query on the same questions as `ares-bench embeddings`.
for QUANTIZATION in none int8; do
  BAR=0.999; [ "$QUANTIZATION" = int8 ] && BAR=0.99
  HF_HUB_OFFLINE=1 "$REF_VENV/bin/python" bench/embeddings/compare_reference.py "$MODEL_DIR" \
    "$OUT/passages-$QUANTIZATION.json" "$OUT/ids-$QUANTIZATION.json" "$OUT/vectors-$QUANTIZATION.json" 2 "$BAR" \
    bench/pgdocs/questions.json
done

echo "== ares-bench corpus with the local embedder"
# One ingest; the second question set searches the same corpus (--search-only).
"$BENCH" corpus --data-dir "$OUT/corpus" --questions bench/pgdocs/questions.json --repetitions 5 \
  --embedder local --embedding-model-dir "$MODEL_DIR"
"$BENCH" corpus --data-dir "$OUT/corpus" --questions bench/pgdocs/questions-heldout.json --repetitions 5 \
  --embedder local --embedding-model-dir "$MODEL_DIR" --search-only
