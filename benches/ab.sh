#!/usr/bin/env bash
# Compares two programs on one command line, alternating runs (A B A B …) so
# that load from the rest of a shared machine falls on both alike.
#
#   benches/ab.sh RUNS BIN_A BIN_B ARGS...
#
# Prints each run's wall time and peak RSS, then the ratio B/A of the median
# times with the spread of the per-pair ratios (min–max), and the peak RSS of
# each; also the median user+system CPU time, which other load on the machine
# disturbs less than wall time. Exit codes of the programs are ignored (1 means findings).
set -euo pipefail
runs=$1 a=$2 b=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
measure() { # BIN -> "seconds kib cpu-seconds"
    /usr/bin/time -f "%e %M %U %S" -o "$tmp/t" "$1" "${@:2}" >/dev/null 2>&1 || true
    cat "$tmp/t" | tail -1
}
: >"$tmp/a"; : >"$tmp/b"
for i in $(seq "$runs"); do
    measure "$a" "$@" >>"$tmp/a"
    measure "$b" "$@" >>"$tmp/b"
done
python3 - "$tmp/a" "$tmp/b" "$a" "$b" <<'PY'
import statistics, sys
A = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
B = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
for name, xs in ((sys.argv[3], A), (sys.argv[4], B)):
    t = [x[0] for x in xs]
    cpu = statistics.median(x[2] + x[3] for x in xs)
    print(f"{name}: median {statistics.median(t):.3f}s (min {min(t):.3f}, max {max(t):.3f}), CPU {cpu:.3f}s, peak RSS {max(x[1] for x in xs)/1024:.1f} MiB")
ratios = sorted(b[0] / a[0] for a, b in zip(A, B) if a[0] > 0)
ma, mb = statistics.median(x[0] for x in A), statistics.median(x[0] for x in B)
print(f"B/A: {mb/ma:.3f} (per-pair ratios {ratios[0]:.3f}–{ratios[-1]:.3f}, {len(ratios)} pairs)")
ca, cb = (statistics.median(x[2] + x[3] for x in xs) for xs in (A, B))
print(f"B/A CPU: {cb/ca:.3f}")
PY
