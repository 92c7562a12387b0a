#!/usr/bin/env python3
"""After a test run: searches every output the tests kept of ares (server logs, command output;
Tests/AresTestSupport/TestRunRecord.swift) for every secret the tests created. A secret found
anywhere but where it is meant to be shown (`ares keys create`'s output) fails the run.

Usage: check-secret-leaks.py DIR   (DIR is $ARES_TEST_OUTPUT_DIR of the run)"""
import os
import sys

directory = sys.argv[1]
secrets_path = os.path.join(directory, "secrets.txt")
secrets = []
if os.path.exists(secrets_path):
    with open(secrets_path, encoding="utf-8") as f:
        secrets = sorted({line.strip() for line in f if len(line.strip()) >= 12})
outputs = [name for name in sorted(os.listdir(directory)) if name != "secrets.txt" and ".shows-secret." not in name]
leaks = []
scanned_bytes = 0
for name in outputs:
    with open(os.path.join(directory, name), "rb") as f:
        text = f.read()
    scanned_bytes += len(text)
    for index, secret in enumerate(secrets):
        if secret.encode() in text:
            # Never print the secret itself: which one (by its position) and where.
            leaks.append(f"secret #{index} ({len(secret)} characters, starting {secret[:5]!r}) appears in {name}")
print(f"secret-leak check: {len(secrets)} secrets created by the tests, {len(outputs)} outputs of ares ({scanned_bytes} bytes) searched")
if not secrets or not outputs:
    print("secret-leak check: nothing was recorded; is ARES_TEST_OUTPUT_DIR passed to the tests?")
    sys.exit(1)
for leak in leaks:
    print("LEAK:", leak)
sys.exit(1 if leaks else 0)
