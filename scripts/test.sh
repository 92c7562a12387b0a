#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls it): installs the third-party
# interop clients (PyPI, into .venv-interop), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-interop-clients.sh
swift build --build-tests
swift test
