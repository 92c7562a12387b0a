#!/usr/bin/env python3
"""Checks the Prometheus rules and the Grafana dashboard against a real Prometheus scraping a
real ares.

Starts Prometheus (Debian's `prometheus`) on a free loopback port with a temporary storage
directory, scraping one running `ares serve` every second (over TLS when --ca-file is given, with
an API key from a file: /metrics needs one) and evaluating deploy/prometheus/*.yml every second.
It sends a little traffic (research requests, probes, a refused key), then checks that:

  - Prometheus loaded every rule file without error and the target is up;
  - every recording rule's series exists, and every recording rule's expression returns data;
  - every alert expression returns data once each comparison is made a `bool` comparison (so a
    misspelt metric or label reads as "no data" instead of passing as "not firing");
  - every query of deploy/grafana/ares-dashboard.json returns data (its variables substituted).

Prints one PASS/FAIL line per check and `SUMMARY pass=N fail=M`; exits non-zero on any failure.
Stops its Prometheus and removes its directory on the way out. Standard library only.

    check_prometheus_queries.py --ares-url https://127.0.0.1:PORT --api-key-file KEYFILE [--ca-file CA.pem]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULE_FILES = [os.path.join(REPOSITORY, "deploy/prometheus/recording-rules.yml"),
              os.path.join(REPOSITORY, "deploy/prometheus/alert-rules.yml")]
DASHBOARD = os.path.join(REPOSITORY, "deploy/grafana/ares-dashboard.json")
# Grafana variables, as an operator would pick them for the scraped server.
DASHBOARD_VARIABLES = {"$__rate_interval": "20s", "$job": "ares", "$instance": ".*"}
COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)(?!\s*bool\b)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_bool_comparisons(expression):
    """`a > 0.1` becomes `a > bool 0.1`, outside label matchers and strings: the comparison then
    yields 0 or 1 for every series instead of dropping the ones that do not match."""
    result, depth, quote, index = [], 0, None, 0
    while index < len(expression):
        char = expression[index]
        if quote:
            result.append(char)
            if char == "\\" and index + 1 < len(expression):
                result.append(expression[index + 1])
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
            result.append(char)
        elif char == "{":
            depth += 1
            result.append(char)
        elif char == "}":
            depth -= 1
            result.append(char)
        elif depth == 0 and (match := COMPARISON.match(expression, index)):
            result.append(match.group(1) + " bool")
            index = match.end()
            continue
        else:
            result.append(char)
        index += 1
    return "".join(result)


class Prometheus:
    def __init__(self, ares_url, key_file, ca_file):
        self.directory = tempfile.mkdtemp(prefix="ares-prometheus-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        target = urllib.parse.urlsplit(ares_url)
        scrape = {
            "job_name": "ares",
            "scheme": target.scheme,
            "metrics_path": "/metrics",
            "authorization": {"type": "Bearer", "credentials_file": key_file},
            "static_configs": [{"targets": [target.netloc]}],
        }
        if ca_file:
            scrape["tls_config"] = {"ca_file": ca_file}
        configuration = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": RULE_FILES,
            "scrape_configs": [scrape],
        }
        path = os.path.join(self.directory, "prometheus.yml")
        with open(path, "w") as file:
            json.dump(configuration, file)  # JSON is YAML
        binary = shutil.which("prometheus")
        if not binary:
            raise SystemExit("FAIL prometheus is not installed (Debian: apt-get install prometheus)")
        self.log = open(os.path.join(self.directory, "prometheus.log"), "w")
        self.process = subprocess.Popen(
            [binary, f"--config.file={path}", f"--storage.tsdb.path={os.path.join(self.directory, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path, **parameters):
        query = urllib.parse.urlencode(parameters)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=5) as response:
            return json.load(response)

    def query(self, expression):
        reply = self.get("/api/v1/query", query=expression)
        if reply.get("status") != "success":
            raise RuntimeError(f"query failed: {reply}")
        return reply["data"]["result"]

    def wait_ready(self, deadline):
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"FAIL prometheus exited with {self.process.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"FAIL prometheus was not ready in time: {self.log_text()}")

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as file:
            return file.read()[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def send_traffic(ares_url, key, ca_file, rounds):
    """Research requests (which run tasks, so task and step metrics appear), probes, and one
    refused key (so the authentication failure counter exists)."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def call(path, body=None, token=key):
        headers = {"Content-Type": "application/json", "A2A-Version": "1.0"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(ares_url + path, data=body, headers=headers, method="POST" if body else "GET")
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    for index in range(rounds):
        message = {"jsonrpc": "2.0", "id": index, "method": "SendMessage", "params": {"message": {
            "messageId": f"prometheus-check-{index}", "role": "ROLE_USER",
            "parts": [{"text": "How are interrupted tasks resumed after a crash?"}]}}}
        status = call("/a2a", json.dumps(message).encode())
        if status != 200:
            raise SystemExit(f"FAIL traffic: SendMessage answered {status}")
        call("/health/ready")
        call("/health/live")
    call("/a2a", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}).encode(),
         token="ares_wrong-key")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ares-url", required=True)
    parser.add_argument("--api-key-file", required=True)
    parser.add_argument("--ca-file")
    parser.add_argument("--timeout", type=float, default=45, help="seconds to wait for every query to return data")
    arguments = parser.parse_args()
    with open(arguments.api_key_file) as file:
        key = file.read().strip()

    started = time.time()
    prometheus = Prometheus(arguments.ares_url, arguments.api_key_file, arguments.ca_file)
    passed, failed = 0, 0

    def report(ok, name, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name} {detail}".rstrip())

    try:
        deadline = started + arguments.timeout
        prometheus.wait_ready(deadline)
        send_traffic(arguments.ares_url, key, arguments.ca_file, rounds=4)

        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        loaded_files = {group["file"] for group in groups}
        for rule_file in RULE_FILES:
            report(rule_file in loaded_files, f"rules loaded: {os.path.relpath(rule_file, REPOSITORY)}")
        checks = []  # (name, expression)
        for group in groups:
            for rule in group["rules"]:
                if rule.get("health") == "err":
                    report(False, f"rule {rule['name']}", rule.get("lastError", ""))
                if rule["type"] == "recording":
                    checks.append((f"recorded series {rule['name']}", rule["name"]))
                    checks.append((f"recording rule expression {rule['name']}", rule["query"]))
                else:
                    checks.append((f"alert expression {rule['name']}", with_bool_comparisons(rule["query"])))
        with open(DASHBOARD) as file:
            dashboard = json.load(file)
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                expression = target["expr"]
                for name, value in DASHBOARD_VARIABLES.items():
                    expression = expression.replace(name, value)
                checks.append((f"dashboard '{panel['title']}' {target['refId']}", expression))
        checks.append(("target up", 'up{job="ares"} == 1'))

        # Wait until every query has data (rates need two scrapes, recorded series an evaluation),
        # sending a little more traffic meanwhile so that rates over short windows stay non-zero.
        pending = list(checks)
        errors = {}
        while pending and time.time() < deadline:
            still = []
            for name, expression in pending:
                try:
                    result = prometheus.query(expression)
                except (RuntimeError, urllib.error.URLError, OSError) as error:
                    errors[name] = f"{expression}: {error}"
                    still.append((name, expression))
                    continue
                if result:
                    report(True, name)
                else:
                    errors[name] = f"no data for: {expression}"
                    still.append((name, expression))
            pending = still
            if pending:
                send_traffic(arguments.ares_url, key, arguments.ca_file, rounds=1)
                time.sleep(1)
        for name, _ in pending:
            report(False, name, errors.get(name, ""))
    finally:
        if failed:
            print(prometheus.log_text())
        prometheus.stop()
    print(f"SUMMARY pass={passed} fail={failed} seconds={time.time() - started:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
