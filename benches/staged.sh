#!/usr/bin/env bash
# Pre-commit benchmark: `keysweep staged` in a repository of 100,000 files with
# a 3-file staged change.
#
#   benches/staged.sh [DIR]     (DIR defaults to /tmp/keysweep-staged-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/keysweep-staged-bench}
cargo build --release --quiet
ks=$PWD/target/release/keysweep
if [ ! -d "$dir/.git" ]; then
  mkdir -p "$dir"
  python3 - "$dir" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(100_000):
    d = os.path.join(root, f"pkg{i // 1000:03d}", f"mod{i // 100 % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.py"), "w") as fh:
        fh.write(f"def f{i}(x):\n    return x * {i}\n")
PY
  git -C "$dir" init -q
  git -C "$dir" add -A
  git -C "$dir" -c user.name=b -c user.email=b@example.org commit -qm "100k files"
fi
git -C "$dir" reset -q --hard
for f in pkg001/mod2/f1234.py pkg050/mod0/f50001.py pkg099/mod9/f99999.py; do
  printf 'API_URL = "https://example.org"\n' >> "$dir/$f"
  git -C "$dir" add "$f"
done
echo "$(git -C "$dir" ls-files | wc -l) files tracked, $(git -C "$dir" diff --cached --name-only | wc -l) staged"
cd "$dir" && hyperfine -N -w 3 -r 20 "$ks staged -q"
