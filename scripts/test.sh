#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls it): installs the third-party
# interop clients (PyPI, into .venv-interop), builds, runs every test, then checks that no
# secret the tests created appears in anything ares printed or logged during the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-interop-clients.sh
swift build --build-tests
ARES_TEST_OUTPUT_DIR=$(mktemp -d /tmp/ares-test-outputs.XXXXXX)
export ARES_TEST_OUTPUT_DIR
swift test
python3 scripts/check-secret-leaks.py "$ARES_TEST_OUTPUT_DIR"
rm -rf "$ARES_TEST_OUTPUT_DIR"
