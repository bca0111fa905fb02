#!/usr/bin/env bash
# Git history benchmark: keysweep beside Kingfisher on bare clones, 2 threads.
#
#   benches/history.sh REPO.git [REPO.git ...]
#
# Make the clones with `git clone --bare --no-local SRC DEST.git`. Prints wall
# time and peak RSS for each tool; keysweep also reports the blob bytes it read.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS:-/opt/peers/bin}
cargo build --release --quiet
ks=$PWD/target/release/keysweep
for repo in "$@"; do
  echo "== $repo"
  /usr/bin/time -f "keysweep    %e s wall, %M KiB peak RSS" \
    "$ks" git "$repo" -j2 -q -f json -o /tmp/keysweep-history.json || true
  python3 -c "
import json; s = json.load(open('/tmp/keysweep-history.json'))['summary']
print(f\"keysweep    {s['git']['blobs']} blobs, {s['bytes_scanned'] / 1e9:.2f} GB of blob content, {s['git']['commits']} commits, {s['findings']} findings, {s['bytes_scanned'] / 1e6 / s['elapsed']:.0f} MB/s\")"
  if [ -x "$peers/kingfisher" ]; then
    /usr/bin/time -f "kingfisher  %e s wall, %M KiB peak RSS" \
      "$peers/kingfisher" scan "$repo" --git-history full --no-update-check --no-validate -j 2 \
      --format json -o /tmp/kingfisher-history.json >/dev/null 2>/tmp/kingfisher-history.err || true
    tail -1 /tmp/kingfisher-history.err
  fi
done
