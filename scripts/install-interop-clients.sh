#!/usr/bin/env bash
# Installs the third-party clients the interop tests drive ares with (PyPI), in a virtual
# environment of the project: the official A2A SDK and the MCP SDK, at the pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-interop
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --disable-pip-version-check -q "a2a-sdk[http-server]==1.3.0" "mcp==2.3.0" "uvicorn"
"$VENV/bin/python" -c "import a2a, mcp; print('interop clients ready:', 'a2a-sdk', __import__('importlib.metadata').metadata.version('a2a-sdk'), 'mcp', __import__('importlib.metadata').metadata.version('mcp'))"
