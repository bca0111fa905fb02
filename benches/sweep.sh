#!/usr/bin/env bash
# Sweep benchmark: generates N small local repositories (default 500), sweeps
# them twice into a fresh SQLite store and reports wall time of each run, the
# ratio, repositories per second and peak RSS.
#
#   benches/sweep.sh [N] [--jobs J]     (builds target/release/keysweep first)
#
# Each repository has 5 commits over 8 files; one repository in ten holds a
# fake GitHub token. Needs git and GNU time (/usr/bin/time).
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
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org
mkdir -p "$WORK/repos"
: > "$WORK/list"
for i in $(seq 1 "$N"); do
    r="$WORK/repos/r$i"
    git init -q -b main "$r"
    for c in 1 2 3 4 5; do
        for f in 1 2 3 4 5 6 7 8; do
            printf 'module %d file %d revision %d\nvalue = %d\n' "$i" "$f" "$c" "$((i * c * f))" > "$r/f$f.txt"
        done
        if [ "$c" = 3 ] && [ $((i % 10)) = 0 ]; then
            tok=$(printf 'bench%08d' "$i" | sha256sum | cut -c1-36)
            echo "GITHUB_TOKEN=ghp_$tok" > "$r/.env"
        fi
        git -C "$r" add -A
        git -C "$r" commit -q -m "commit $c"
    done
    echo "$r" >> "$WORK/list"
done

run() {
    /usr/bin/time -f '%e %M' -o "$WORK/time" \
        "$BIN" sweep --repos "$WORK/list" --cache "$WORK/cache" --datastore "$WORK/sweep.db" \
        "${JOBS[@]}" -q -f json -o "$WORK/out.json" --exit-zero
    read -r secs rss < "$WORK/time"
    echo "$secs $rss"
}

read -r t1 m1 < <(run)
read -r t2 m2 < <(run)
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$WORK/out.json" 2>/dev/null || echo '?')
awk -v n="$N" -v t1="$t1" -v t2="$t2" -v m1="$m1" -v m2="$m2" -v f="$findings" 'BEGIN {
    printf "repositories      %d (findings %s)\n", n, f
    printf "first sweep       %.2f s  (%.1f repos/s, peak RSS %.1f MiB)\n", t1, n / t1, m1 / 1024
    printf "second sweep      %.2f s  (%.1f repos/s, peak RSS %.1f MiB)\n", t2, n / (t2 > 0 ? t2 : 0.01), m2 / 1024
    printf "first / second    %.1fx\n", t1 / (t2 > 0 ? t2 : 0.01)
}'
