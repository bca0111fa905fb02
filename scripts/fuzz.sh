#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ with libFuzzer on the stable
# toolchain and runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Stable rustc cannot take `-Zsanitizer`, so `cargo fuzz` needs nightly (or
# RUSTC_BOOTSTRAP=1); instead this passes the coverage instrumentation
# libFuzzer needs as plain codegen flags, which stable accepts. Build with
# `--target` so those flags skip build scripts and proc macros.
#
# Inputs: fuzz/seeds/<target>/ and fuzz/regressions/<target>/ (read, never
# written). Outputs (gitignored): the growing corpus in fuzz/corpus/<target>/,
# crashes, hangs and out-of-memory inputs in fuzz/artifacts/<target>/.
# Exits 1 when any target found one. Environment: FUZZ_MAX_LEN (bytes per
# input, default 65536), FUZZ_RSS_MB (memory limit, default 2048),
# FUZZ_TIMEOUT (seconds per input before it counts as a hang, default 10),
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
max_len=${FUZZ_MAX_LEN:-65536}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^keysweep-fuzz$')
fi

export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
CARGO_TARGET_DIR=$target_dir cargo build --release --target "$host" \
    --manifest-path fuzz/Cargo.toml "${bins[@]}"

failed=()
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    artifacts=fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    extra=()
    for d in fuzz/seeds/$t fuzz/regressions/$t; do
        [ -d "$d" ] && extra+=("$d")
    done
    log=$artifacts/run.log
    echo "fuzz: $t for ${seconds}s" >&2
    status=0
    "$target_dir/$host/release/$t" -max_total_time="$seconds" -max_len="$max_len" \
        -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -timeout="$timeout" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 \
        "$corpus" "${extra[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    echo "fuzz: $t: ${runs:-?} runs, ${rate:-?} execs/s, exit $status (log: $log)" >&2
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        grep -E '^(==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" >&2 || true
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
