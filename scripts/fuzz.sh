#!/usr/bin/env bash
# Builds ares's libFuzzer targets (Fuzz/) and runs each for a while on a copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 30 s each, every target
#   scripts/fuzz.sh 600 jsonrpc mcp                      # the long run, two targets
#
# Targets: jsonrpc mcp rest html markdown event-codec index-snapshot (Fuzz/README.md says what
# each one drives and its input format). The build goes to .build-fuzz (ares's own Swift modules
# compiled with -sanitize=fuzzer, its dependencies as for swift build; the normal .build is not
# touched unless FUZZ_SCRATCH=.build, which reuses its dependencies). Results go to FUZZ_RESULTS (default
# .build-fuzz/results/<time>): per target the log, the corpus it grew, and any crash-*, timeout-*
# or oom-* input. The repository's corpus is never written to, unless FUZZ_MERGE=1, which merges
# what a run found (minimized) into Fuzz/Corpus/<target>.
#
# Environment:
#   FUZZ_JOBS       targets run at once (default 1; the CI-sized run uses 2)
#   FUZZ_NICE       nice level of the fuzzers (default 10)
#   FUZZ_BUILD_ONLY=1  build, don't run;  FUZZ_NO_BUILD=1  run the targets built last
#   FUZZ_SCRATCH    the build folder (default .build-fuzz, or .build-fuzz-asan with FUZZ_ASAN)
#   FUZZ_ASAN=1     also AddressSanitizer (for the unsafe-pointer code of the index readers)
#   FUZZ_RESULTS, FUZZ_MERGE=1, FUZZ_ARGS (extra libFuzzer flags, e.g. "-seed=1 -use_value_profile=1")
# Exit status: 0 when every target ran without a crash, 1 when one crashed, 2 on a usage or
# build error. Replay a crash: SWIFT_BACKTRACE=enable=no .build-fuzz/debug/fuzz-TARGET CRASH-FILE
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(jsonrpc mcp rest html markdown event-codec index-snapshot)
seconds=${1:-30}
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]  (targets: ${all_targets[*]})" >&2
    exit 2
fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    if [[ ! " ${all_targets[*]} " == *" $target "* ]]; then
        echo "fuzz: unknown target '$target' (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done

# Per target: the longest input, the time one input may take (s), the memory limit (MB).
settings() {
    case $1 in
        jsonrpc|mcp|rest) echo "8192 60 4096" ;;
        html|markdown) echo "16384 10 2048" ;;
        event-codec) echo "16384 10 2048" ;;
        index-snapshot) echo "65536 10 2048" ;;
    esac
}

scratch=${FUZZ_SCRATCH:-.build-fuzz}
sanitizers=fuzzer
extra_flags=()
if [[ ${FUZZ_ASAN:-0} == 1 ]]; then
    scratch=${FUZZ_SCRATCH:-.build-fuzz-asan}
    sanitizers=fuzzer,address
    extra_flags=(-detect_leaks=0)  # the Swift runtime's caches live until exit by design
fi
# Package.swift adds the fuzz targets and instruments ares's own modules (not its dependencies).
export ARES_FUZZ=1 ARES_FUZZ_SANITIZERS=$sanitizers
build_start=$(date +%s)
for target in "${targets[@]}"; do
    [[ ${FUZZ_NO_BUILD:-0} == 1 ]] && break
    echo "fuzz: building fuzz-$target" >&2
    if ! swift build --scratch-path "$scratch" --product "fuzz-$target" 2>&1 | awk '!/^\[[0-9]+\/[0-9]+\]/ && !seen[$0]++ { print; fflush() }' >&2; then
        echo "fuzz: the build of fuzz-$target failed" >&2
        exit 2
    fi
done
for target in "${targets[@]}"; do
    if [[ ! -x $scratch/debug/fuzz-$target ]]; then
        echo "fuzz: $scratch/debug/fuzz-$target is missing: build it (run without FUZZ_NO_BUILD)" >&2
        exit 2
    fi
done
[[ ${FUZZ_NO_BUILD:-0} == 1 ]] || echo "fuzz: build took $(( $(date +%s) - build_start )) s" >&2
[[ ${FUZZ_BUILD_ONLY:-0} == 1 ]] && exit 0

results=${FUZZ_RESULTS:-$scratch/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"
results=$(cd "$results" && pwd)
jobs=${FUZZ_JOBS:-1}

run_target() {
    local target=$1 dir="$results/$1"
    read -r max_len timeout rss <<<"$(settings "$target")"
    mkdir -p "$dir/corpus" "$dir/tmp"
    cp Fuzz/Corpus/"$target"/* "$dir/corpus/" 2>/dev/null || true
    local dict=()
    [[ -f Fuzz/Dictionaries/$target.dict ]] && dict=(-dict="Fuzz/Dictionaries/$target.dict")
    # SWIFT_BACKTRACE=enable=no: libFuzzer, not Swift's backtracer, takes a trap and saves the input.
    # shellcheck disable=SC2086
    SWIFT_BACKTRACE=enable=no TMPDIR="$dir/tmp" nice -n "${FUZZ_NICE:-10}" "$scratch/debug/fuzz-$target" "$dir/corpus" \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss" -max_len="$max_len" \
        -artifact_prefix="$dir/" -print_final_stats=1 "${dict[@]}" ${extra_flags[@]+"${extra_flags[@]}"} ${FUZZ_ARGS:-} >"$dir/log" 2>&1 || true
    rm -rf "$dir/tmp"
    if [[ ${FUZZ_MERGE:-0} == 1 ]]; then
        mkdir -p "Fuzz/Corpus/$target"
        SWIFT_BACKTRACE=enable=no TMPDIR=/tmp "$scratch/debug/fuzz-$target" -merge=1 -max_len="$max_len" -timeout="$timeout" \
            "Fuzz/Corpus/$target" "$dir/corpus" >>"$dir/log" 2>&1 || true
    fi
}

running=0
for target in "${targets[@]}"; do
    echo "fuzz: running fuzz-$target for ${seconds}s" >&2
    run_target "$target" &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

crashed=0
printf '%-16s %10s %8s %8s %8s %7s %8s %8s\n' target runs exec/s cov ft corpus rss_mb crashes
for target in "${targets[@]}"; do
    dir="$results/$target"
    log="$dir/log"
    runs=$(awk '/^stat::number_of_executed_units:/ {v=$2} END {print v}' "$log")
    speed=$(awk '/^stat::average_exec_per_sec:/ {v=$2} END {print v}' "$log")
    rss=$(awk '/^stat::peak_rss_mb:/ {v=$2} END {print v}' "$log")
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
    corpus=$(find "$dir/corpus" -type f | wc -l)
    found=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    if [[ -z $runs ]] && [[ $found -eq 0 ]]; then
        found=1  # it died without libFuzzer's final report
        echo "fuzz: fuzz-$target ended without libFuzzer's final report; see $log" >&2
    fi
    [[ $found -gt 0 ]] && crashed=1
    printf '%-16s %10s %8s %8s %8s %7s %8s %8s\n' "$target" "${runs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "$corpus" "${rss:--}" "$found"
done
echo "fuzz: logs, corpora and crash inputs in $results"
if [[ $crashed -ne 0 ]]; then
    echo "fuzz: a target crashed: replay with SWIFT_BACKTRACE=enable=no $scratch/debug/fuzz-TARGET $results/TARGET/crash-..." >&2
    exit 1
fi
