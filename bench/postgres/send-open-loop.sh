#!/usr/bin/env bash
# SendMessage (returnImmediately, durable) alone at fixed arrival rates, open loop: latency from
# each request's due time in HDR histograms (no coordinated omission), the embedded server
# against two replicas on a throwaway PostgreSQL 15, one after the other in one run. Issue 16's
# target is p99 ≤ 50 ms through two replicas; bench/postgres/replicas.sh measures the closed-loop
# maximum, where with 64 connections held open the latency is mostly the queue in front.
#
#   bash bench/postgres/send-open-loop.sh     (a release build: swift build -c release --product ares;
#                                              ARES=path and PLAN=file to use others)
#
# Both runs use `ares validate --manage` with bench/postgres/send-open-loop.json (30 s each at 50,
# 100 and 200 req/s, spread over 32 researcher keys so the per-key write limit of 100/s is not
# what is measured). The research tasks the submissions queue run meanwhile, as in production.
# The verdicts of the validation gates do not matter here (no probes, no chaos): only the rows.
set -euo pipefail
cd "$(dirname "$0")/../.."
ARES=${ARES:-.build/release/ares}
[ -x "$ARES" ] || { echo "no release build: swift build -c release --product ares"; exit 2; }
OUT=$(mktemp -d /tmp/ares-send-open-loop.XXXXXX)
PLAN=${PLAN:-bench/postgres/send-open-loop.json}
COMMON=(--plan "$PLAN" --skip-probes --load-clients 32 --task-loss-deadline 120)
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%H:%MZ); packages in $OUT"
"$ARES" validate --manage "${COMMON[@]}" --out "$OUT/embedded" > "$OUT/embedded.log" 2>&1 || true
"$ARES" validate --manage --replicas 2 --database managed "${COMMON[@]}" --out "$OUT/replicas" > "$OUT/replicas.log" 2>&1 || true
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print(f"{'deployment':<28} {'phase':<9} {'asked':>7} {'achieved':>9} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  outcomes")
for name, label in (("embedded", "embedded (SQLite)"), ("replicas", "2 replicas on PostgreSQL")):
    try:
        report = json.load(open(f"{out}/{name}/report.json"))
    except OSError:
        print(f"{label:<28} no report: see {out}/{name}.log"); continue
    for phase in report["phases"]:
        m = phase.get("measurement") or {}
        latency, outcomes = m.get("latency") or {}, m.get("outcomes") or {}
        achieved = outcomes.get("ok", 0) / m["elapsedSeconds"] if m.get("elapsedSeconds") else 0
        print(f"{label:<28} {phase['name']:<9} {m.get('askedRate', 0):>7.0f} {achieved:>9.1f} "
              + " ".join(f"{latency.get(k, float('nan')):>7.2f}ms" for k in ("p50", "p95", "p99", "max"))
              + f"  {outcomes}")
PY
