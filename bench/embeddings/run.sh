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

echo "== ares: local embedder on the PostgreSQL docs' passages"
"$BENCH" embeddings --embedding-model-dir "$MODEL_DIR" --passages-out "$OUT/passages.json" \
  --ids-out "$OUT/ids.json" --vectors-out "$OUT/vectors.json" --vector-count 1000

echo "== reference: tokenizers + sentence-transformers on torch (CPU)"
if [ ! -x "$REF_VENV/bin/python" ]; then
  WHEEL="${TORCH_WHEEL:-$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)}"
  [ -n "$WHEEL" ] || { echo "no torch CPU wheel (set TORCH_WHEEL): the reference comparison is skipped" >&2; exit 1; }
  python3 -m venv "$REF_VENV"
  "$REF_VENV/bin/pip" install -q "$WHEEL"
  "$REF_VENV/bin/pip" install -q "sentence-transformers==6.2.0" "tokenizers==0.23.3"
fi
HF_HUB_OFFLINE=1 "$REF_VENV/bin/python" bench/embeddings/compare_reference.py "$MODEL_DIR" \
  "$OUT/passages.json" "$OUT/ids.json" "$OUT/vectors.json" 2

echo "== ares-bench corpus with the local embedder"
for QUESTIONS in bench/pgdocs/questions.json bench/pgdocs/questions-heldout.json; do
  "$BENCH" corpus --data-dir "$OUT/corpus" --questions "$QUESTIONS" --repetitions 5 \
    --embedder local --embedding-model-dir "$MODEL_DIR"
done
