#!/usr/bin/env bash
# Sweep benchmark: generates N small local repositories (default 500), sweeps
# them twice into a fresh SQLite store and reports wall time of each run, the
# ratio, repositories per second and peak RSS.
#
#   benches/sweep.sh [N] [--jobs J]     (builds target/release/keysweep first)
#
# Each repository has 5 commits over 8 files; one repository in ten holds a
# fake GitHub token. Needs bash 5, git, GNU time (/usr/bin/time) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
shift || true
JOBS=()
if [ "${1:-}" = "--jobs" ]; then JOBS=(--jobs "$2"); fi

cargo build --release --quiet
BIN=$PWD/target/release/keysweep
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-sweep-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "generating $N repositories in $WORK ..."
mkdir -p "$WORK/repos"
: > "$WORK/list"
# One `git fast-import` per repository: 5 commits over 8 files, ~40 blobs.
for i in $(seq 1 "$N"); do
    r="$WORK/repos/r$i"
    git init -q --bare "$r"
    {
        for c in 1 2 3 4 5; do
            echo "commit refs/heads/main"
            echo "committer bench <bench@example.org> $((1700000000 + c * 3600)) +0000"
            msg="commit $c"
            echo "data ${#msg}"
            echo "$msg"
            for f in 1 2 3 4 5 6 7 8; do
                body=$(printf 'module %d file %d revision %d\nvalue = %d\n' "$i" "$f" "$c" "$((i * c * f))")
                echo "M 100644 inline src/f$f.txt"
                echo "data $((${#body} + 1))"
                echo "$body"
            done
            if [ "$c" = 3 ] && [ $((i % 10)) = 0 ]; then
                body="GITHUB_TOKEN=ghp_$(printf 'bench%08d' "$i" | sha256sum | cut -c1-36)"
                echo "M 100644 inline .env"
                echo "data $((${#body} + 1))"
                echo "$body"
            fi
            echo
        done
    } | git -C "$r" fast-import --quiet
    echo "$r" >> "$WORK/list"
done

run() {
    local t0 t1
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$WORK/time" \
        "$BIN" sweep --repos "$WORK/list" --cache "$WORK/cache" --datastore "$WORK/sweep.db" \
        "${JOBS[@]}" -q -f json -o "$WORK/out.json" --exit-zero
    t1=$EPOCHREALTIME
    read -r rss < "$WORK/time"
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $rss"
}

read -r t1 m1 < <(run)
read -r t2 m2 < <(run)
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$WORK/out.json" 2>/dev/null || echo '?')
awk -v n="$N" -v t1="$t1" -v t2="$t2" -v m1="$m1" -v m2="$m2" -v f="$findings" 'BEGIN {
    printf "repositories      %d (findings %s)\n", n, f
    printf "first sweep       %.3f s  (%.1f repos/s, peak RSS %.1f MiB)\n", t1, n / t1, m1 / 1024
    printf "second sweep      %.3f s  (%.1f repos/s, peak RSS %.1f MiB)\n", t2, n / (t2 > 0 ? t2 : 0.01), m2 / 1024
    printf "first / second    %.1fx\n", t1 / (t2 > 0 ? t2 : 0.01)
}'
