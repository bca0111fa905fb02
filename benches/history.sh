#!/usr/bin/env bash
# Git history benchmark: keysweep (pack reading and by-id paths) beside
# Kingfisher and Betterleaks on bare clones, 2 threads, runs interleaved
# (tool 1, tool 2, …, tool 1, …) so a shared machine's load falls on all alike.
#
#   benches/history.sh [-n ROUNDS] REPO.git [REPO.git ...]
#
# Make the clones with `git clone --bare --no-local SRC DEST.git`. Prints each
# run's wall time and peak RSS, then per tool the median and range, and the
# findings count of the last run. Environment:
#   KEYSWEEP     keysweep binary (default: build target/release/keysweep)
#   KINGFISHER   Kingfisher binary (default: /work/venvs/kingfisher/bin/kingfisher)
#   BETTERLEAKS  Betterleaks binary (default: the one in /work/venvs/betterleaks)
#   KEYSWEEP_BEFORE  an earlier keysweep build, run too (its default path)
# A peer that is not installed is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
if [ "${1:-}" = "-n" ]; then rounds=$2; shift 2; fi
if [ -z "${KEYSWEEP:-}" ]; then
  cargo build --release --quiet --bin keysweep
  KEYSWEEP=${CARGO_TARGET_DIR:-$PWD/target}/release/keysweep
fi
kf=${KINGFISHER:-/work/venvs/kingfisher/bin/kingfisher}
bl=${BETTERLEAKS:-$(ls /work/venvs/betterleaks/lib/python3*/site-packages/betterleaks/bin/betterleaks 2>/dev/null | head -1)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # NAME REPO CMD... -> appends "NAME seconds kib" to $out/times
  local name=$1 repo=$2
  shift 2
  /usr/bin/time -f "%e %M" -o "$out/t" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || true
  # time(1) puts "Command exited with non-zero status N" first when a tool
  # reports findings: the figures are on the last line.
  read -r secs kib < <(tail -1 "$out/t")
  printf '%-22s %8.2f s %8.0f MiB\n' "$name" "$secs" "$((kib / 1024))"
  echo "$name $repo $secs $kib" >>"$out/times"
}

for repo in "$@"; do
  echo "== $repo ($rounds rounds)"
  for i in $(seq "$rounds"); do
    run keysweep-read-packs "$repo" "$KEYSWEEP" git "$repo" -j2 -q --read-packs -f json -o "$out/ks-packs.json"
    run keysweep-by-id "$repo" "$KEYSWEEP" git "$repo" -j2 -q --no-read-packs -f json -o "$out/ks-id.json"
    if [ -n "${KEYSWEEP_BEFORE:-}" ]; then
      run keysweep-before "$repo" "$KEYSWEEP_BEFORE" git "$repo" -j2 -q -f json -o "$out/ks-before.json"
    fi
    if [ -x "$kf" ]; then
      run kingfisher "$repo" "$kf" scan "$repo" --git-history full --no-update-check --no-validate \
        -j 2 --format json -o "$out/kf.json"
    fi
    if [ -n "$bl" ] && [ -x "$bl" ]; then
      run betterleaks "$repo" "$bl" git "$repo" -j 2 --no-banner -l error -o "$out/bl.json"
    fi
  done
  python3 - "$out" "$repo" <<'PY'
import json, os, statistics, sys
out, repo = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(os.path.join(out, "times"))]
def count(name):
    try:
        if name.startswith("keysweep"):
            f = {"keysweep-read-packs": "ks-packs.json", "keysweep-by-id": "ks-id.json"}.get(name, "ks-before.json")
            return len(json.load(open(os.path.join(out, f)))["findings"])
        if name == "kingfisher":
            d = json.load(open(os.path.join(out, "kf.json")))
            return len(d.get("findings", d) if isinstance(d, dict) else d)
        if name == "betterleaks":
            return len(json.load(open(os.path.join(out, "bl.json"))))
    except Exception as e:
        return f"? ({type(e).__name__})"
names = []
for r in rows:
    if r[1] == repo and r[0] not in names:
        names.append(r[0])
for n in names:
    t = [float(r[2]) for r in rows if r[0] == n and r[1] == repo]
    m = [int(r[3]) / 1024 for r in rows if r[0] == n and r[1] == repo]
    print(f"{n:22} median {statistics.median(t):7.2f} s ({min(t):.2f}-{max(t):.2f}), "
          f"peak RSS {max(m):6.0f} MiB, findings {count(n)}")
PY
done
