#!/usr/bin/env bash
# GetTask with a verified OIDC access token (a JWT from a real provider, nanoidp: RS256, the key
# cached, the signature checked on every request) against GetTask with an API key, on one
# ares serve, in the same run, alternating (key, token, key, token, ...).
#
#   bash bench/server/oidc.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]      (defaults 10, 64, 3)
#
# Needs: wrk, a release build (swift build -c release --product ares) and the interop venv
# with nanoidp (bash scripts/install-interop-clients.sh). Client secrets are made here, at run
# time. Compare the ratio of one run, not numbers across runs (wrk shares the cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${3:-3}
ARES=.build/release/ares
PYTHON=.venv-interop/bin/python
NANOIDP=.venv-interop/bin/nanoidp
PORT=${ARES_BENCH_PORT:-18490}
IDP_PORT=${ARES_BENCH_IDP_PORT:-18491}
WORK=$(mktemp -d /tmp/ares-oidc-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 2; }
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }
[ -x "$NANOIDP" ] || { echo "no nanoidp: bash scripts/install-interop-clients.sh"; exit 2; }

SECRET=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')
mkdir -p "$WORK/idp"
cat > "$WORK/idp/settings.yaml" <<YAML
config_version: 1
server:
  host: "127.0.0.1"
  port: $IDP_PORT
oauth:
  issuer: "http://127.0.0.1:$IDP_PORT"
  audience: "ares-bench"
  token_expiry_minutes: 60
  scopes_supported: ["ares.admin"]
  clients:
    - client_id: "bench"
      client_secret: "$SECRET"
      allowed_scopes: ["ares.admin"]
jwt:
  keys_dir: "$WORK/idp/keys"
YAML
printf 'config_version: 1\nusers:\n  nobody:\n    password: "%s"\n' "$SECRET" > "$WORK/idp/users.yaml"
"$NANOIDP" --config "$WORK/idp" --port "$IDP_PORT" > "$WORK/idp.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -s -u "bench:$SECRET" -d grant_type=client_credentials -d scope=ares.admin "http://127.0.0.1:$IDP_PORT/token" \
  | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

"$ARES" ingest docs --data-dir "$WORK/data" > /dev/null 2>&1
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/data" 2>/dev/null)
"$ARES" serve --port "$PORT" --data-dir "$WORK/data" --max-queued-tasks 10000000 --max-running-tasks 2 --rate-limits off \
  --oidc-issuer "http://127.0.0.1:$IDP_PORT" --oidc-audience ares-bench --oidc-role-claim scope --oidc-role-map ares.admin=admin \
  > "$WORK/ares.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
TASK=$(curl -s "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
  | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
sleep 1
# Both credentials must work before anything is measured (the admin token sees the key's task).
for credential in "$KEY" "$TOKEN"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $credential" -H 'A2A-Version: 1.0' \
    -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\",\"params\":{\"id\":\"$TASK\"}}")
  [ "$status" = 200 ] || { echo "GetTask answered $status before the benchmark"; tail -5 "$WORK/ares.log"; exit 1; }
done

echo "machine: $(nproc) cores; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d${DURATION}s; token $(printf %s "$TOKEN" | wc -c) bytes, RS256 (2048-bit key)"
run() { # name credential
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/server/get_task.lua "http://127.0.0.1:$PORT/a2a" \
    > "$WORK/run.txt" 2>&1 < /dev/null || true
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/run.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/run.txt")
  errors=$(awk '/Non-2xx/ {print "non-2xx: " $5}' "$WORK/run.txt")
  printf '%-28s %10s req/s   p99 %-9s %s\n' "$1" "$rps" "$p99" "${errors:-}" >&2
  echo "$rps"
}
declare -a KEY_RPS TOKEN_RPS
for round in $(seq "$ROUNDS"); do
  KEY_RPS+=("$(ARES_KEY="$KEY" ARES_TASK="$TASK" run "GetTask, API key ($round)")")
  TOKEN_RPS+=("$(ARES_KEY="$TOKEN" ARES_TASK="$TASK" run "GetTask, OIDC token ($round)")")
done
"$PYTHON" - "${KEY_RPS[@]}" "${TOKEN_RPS[@]}" <<'PY'
import sys
values = [float(v) for v in sys.argv[1:]]
half = len(values) // 2
keys, tokens = values[:half], values[half:]
k, t = sum(keys) / len(keys), sum(tokens) / len(tokens)
rounds = ", ".join(f"{b / a:.0%}" for a, b in zip(keys, tokens))
print(f"mean: API key {k:,.0f} req/s, OIDC token {t:,.0f} req/s: token/key = {t / k:.0%} (per round {rounds}; target >= 70 %)")
PY
echo "log lines holding the token: $(grep -c -F "$TOKEN" "$WORK/ares.log" || true)"
