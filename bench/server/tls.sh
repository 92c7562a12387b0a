#!/usr/bin/env bash
# TLS benchmark: what HTTPS costs `ares serve` (issue 11), plain HTTP and HTTPS measured in
# the same run, alternating, on the same data directory and task.
#
#   bash bench/server/tls.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]     (defaults 10, 64, 2)
#
# 1. GetTask over kept-alive connections (wrk -t2 -cCONNECTIONS): HTTPS req/s as a share of HTTP
#    req/s (target >= 70 %).
# 2. New connections: wrk with `Connection: close` (each request on a new connection, so a new
#    TLS handshake; wrk's OpenSSL may resume sessions; wrk counts each server close as a socket
#    read error), and `openssl s_time -new` (full handshakes only, one connection at a time).
# 3. The first request on a new connection: 300 sequential curl GetTask calls, each a new
#    process and connection; p50/p99 of curl's time_total (connect + handshake + request).
#
# Needs: wrk, openssl, curl, python3 (apt-get install wrk openssl curl) and a release build
# (swift build -c release --product ares). Certificates (P-256, a throwaway CA) are made here.
# wrk, curl and ares share the machine's cores: compare within one run, not across runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
ROUNDS=${3:-2}
ARES=${ARES:-.build/release/ares}
PORT=18490
WORK=$(mktemp -d /tmp/ares-tls-bench.XXXXXX)
ARES_PID=
stop_ares() { if [ -n "$ARES_PID" ]; then kill "$ARES_PID" 2>/dev/null || true; wait "$ARES_PID" 2>/dev/null || true; ARES_PID=; fi; }
trap 'stop_ares; rm -rf "$WORK"' EXIT

for tool in wrk openssl curl python3; do command -v $tool >/dev/null || { echo "$tool is missing: apt-get install $tool"; exit 2; }; done
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }

# A CA and a server certificate for 127.0.0.1.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ca.key" 2>/dev/null
openssl req -x509 -new -key "$WORK/ca.key" -out "$WORK/ca.pem" -days 2 -subj "/CN=bench CA" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/server.key" 2>/dev/null
openssl req -new -key "$WORK/server.key" -out "$WORK/server.csr" -subj "/CN=bench" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -set_serial 1 -days 2 \
  -extfile "$WORK/server.ext" -out "$WORK/server.pem" 2>/dev/null

"$ARES" ingest docs --data-dir "$WORK/data" > /dev/null 2>&1
KEY=$("$ARES" keys create --role admin --name bench --data-dir "$WORK/data" 2>/dev/null)

start_ares() { # scheme
  local extra=()
  [ "$1" = https ] && extra=(--tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key")
  # Rate limits off: this measures the transport, not the per-principal limits (which would answer 429).
  "$ARES" serve --port $PORT --data-dir "$WORK/data" --rate-limits off "${extra[@]}" > "$WORK/ares-$1.log" 2>&1 &
  ARES_PID=$!
  for _ in $(seq 100); do curl -sf --cacert "$WORK/ca.pem" "$1://127.0.0.1:$PORT/health/live" >/dev/null && return; sleep 0.1; done
  echo "ares did not start: $(tail -3 "$WORK/ares-$1.log")"; exit 1
}

wrk_rps() { # name url script [env...] -> prints a line, echoes req/s into $WORK/last
  local name=$1 url=$2 script=$3; shift 3
  env "$@" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" > "$WORK/wrk.txt" 2>&1 || true
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $5" non-2xx"} /Socket errors/ {print $0}' "$WORK/wrk.txt" | tr '\n' ' ')
  printf '  %-46s %10s req/s   p99 %-9s %s\n' "$name" "$rps" "$p99" "${errors:-}"
  echo "$rps" > "$WORK/last"
}

first_request() { # scheme -> p50/p99 of 300 new-connection GetTask calls
  : > "$WORK/times"
  for _ in $(seq 300); do
    curl -s -o /dev/null --cacert "$WORK/ca.pem" -w '%{time_appconnect} %{time_total}\n' "$1://127.0.0.1:$PORT/a2a" \
      -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
      -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\",\"params\":{\"id\":\"$TASK\"}}" >> "$WORK/times"
  done
  python3 - "$1" "$WORK/times" <<'PY'
import sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[2]) if line.strip()]
def pct(values, p):
    values = sorted(values); return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000
total = [t for _, t in rows]; hand = [a for a, _ in rows]
extra = f"   (handshake done at p50 {pct(hand, 50):.2f} ms)" if sys.argv[1] == "https" else ""
print(f"  first request on a new connection, {sys.argv[1]:5}: p50 {pct(total, 50):.2f} ms  p99 {pct(total, 99):.2f} ms  (n={len(rows)}){extra}")
PY
}

CLOSE_LUA="$WORK/get_task_close.lua"
{ cat bench/server/get_task.lua; echo 'wrk.headers["Connection"] = "close"'; } > "$CLOSE_LUA"

echo "machine: $(nproc) cores; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d${DURATION}s; $ROUNDS rounds"
start_ares http
TASK=$(curl -s "http://127.0.0.1:$PORT/a2a" -H "Authorization: Bearer $KEY" -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"seed","role":"ROLE_USER","parts":[{"text":"How does ares resume tasks?"}]}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["task"]["id"])')
sleep 1
stop_ares

declare -a HTTP_RPS HTTPS_RPS
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  for scheme in http https; do
    start_ares $scheme
    wrk_rps "GetTask keep-alive, $scheme" "$scheme://127.0.0.1:$PORT/a2a" bench/server/get_task.lua ARES_KEY="$KEY" ARES_TASK="$TASK"
    if [ $scheme = http ]; then HTTP_RPS+=("$(cat "$WORK/last")"); else HTTPS_RPS+=("$(cat "$WORK/last")"); fi
    stop_ares
  done
done
python3 - "${HTTP_RPS[*]}" "${HTTPS_RPS[*]}" <<'PY'
import sys
http = [float(x) for x in sys.argv[1].split()]; https = [float(x) for x in sys.argv[2].split()]
ratios = [s / h for h, s in zip(http, https)]
print(f"GetTask keep-alive, HTTPS/HTTP: {', '.join(f'{r:.0%}' for r in ratios)} per round; "
      f"means {sum(http)/len(http):,.0f} vs {sum(https)/len(https):,.0f} req/s = {sum(https)/sum(http):.0%} (target >= 70 %)")
PY

echo "new connections"
start_ares https
wrk_rps "GetTask, Connection: close, https" "https://127.0.0.1:$PORT/a2a" "$CLOSE_LUA" ARES_KEY="$KEY" ARES_TASK="$TASK"
# s_time's "real seconds" line is the wall-clock rate (its other line divides by the client's CPU time).
S_TIME=$(openssl s_time -connect 127.0.0.1:$PORT -new -time "$DURATION" -CAfile "$WORK/ca.pem" 2>/dev/null \
  | awk '/real seconds/ {printf "%d connections in %d s = %.0f full handshakes/s", $1, $4, $1 / $4; exit}')
echo "  openssl s_time -new (one connection at a time): $S_TIME"
first_request https
stop_ares
start_ares http
wrk_rps "GetTask, Connection: close, http" "http://127.0.0.1:$PORT/a2a" "$CLOSE_LUA" ARES_KEY="$KEY" ARES_TASK="$TASK"
first_request http
stop_ares
