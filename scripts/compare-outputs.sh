#!/usr/bin/env bash
# Runs two keysweep binaries over the same fixtures and diffs what they print.
#
#   scripts/compare-outputs.sh OLD_BINARY NEW_BINARY
#
# For refactors that must not change behaviour: every command's stdout (JSON,
# SARIF, human) and exit code must be identical. Timings are masked.
set -euo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A repository whose history adds, edits and deletes files holding fake secrets
# (the rule examples and the format fixtures), with fixed dates and author.
repo="$work/repo"
mkdir -p "$repo"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
n=0
commit() {
    n=$((n + 1))
    export GIT_AUTHOR_DATE="2024-01-0${n}T00:00:00Z" GIT_COMMITTER_DATE="2024-01-0${n}T00:00:00Z"
    git -C "$repo" add -A >/dev/null
    git -C "$repo" commit -qm "$1"
}
git -C "$repo" init -q -b main
cp -r "$root/testdata/formats" "$repo/formats"
commit "formats"
cp -r "$root/rules" "$repo/rules"
commit "rules"
rm -rf "$repo/rules/validators"
sed -i 's/[A-Za-z0-9]\{40\}/REMOVED/' "$repo"/rules/a*.yml
commit "edit"
git -C "$repo" checkout -qb side
rm -rf "$repo/formats/mcp"
commit "side"
git -C "$repo" checkout -q main
cp "$root/testdata/formats/encoded/"* "$repo/" 2>/dev/null || true
git -C "$repo" add -A >/dev/null   # staged, not committed

mask() { sed -E 's/"elapsed": ?[0-9.e-]+/"elapsed":0/g; s/"(started|finished|scanned_at|run_at|at)": ?"[^"]*"/"\1":"T"/g; s/in [0-9.]+ ?(ms|s|µs)/in T/g; s/[0-9]+(\.[0-9]+)? ?(ms|s)\b/T/g'; }

status=0
run() {
    local name=$1; shift
    local a b ca cb
    a=$(cd "$work" && "$old" "$@" 2>"$work/$name.old.err"; echo "exit=$?")
    b=$(cd "$work" && "$new" "$@" 2>"$work/$name.new.err"; echo "exit=$?")
    if [ "$(printf '%s' "$a" | mask)" == "$(printf '%s' "$b" | mask)" ]; then
        echo "same      $name ($(printf '%s' "$a" | wc -c) bytes)"
    elif [ -n "${UNORDERED:-}" ] && [ "$(printf '%s' "$a" | mask | sort)" == "$(printf '%s' "$b" | mask | sort)" ]; then
        # Keysweep before 2026-12 ordered findings that share a place
        # (path, line, column, rule) as threads found them.
        echo "same set  $name ($(printf '%s' "$a" | wc -c) bytes, order of ties differs)"
    else
        echo "DIFFERENT $name"
        diff <(printf "%s\n" "$a" | mask) <(printf "%s\n" "$b" | mask) | head -20 || true
        status=1
    fi
}
for fmt in json jsonl sarif human; do
    run "scan-$fmt" scan repo --format "$fmt"
    run "scan-$fmt-secrets" scan repo --format "$fmt" --show-secrets
    run "git-$fmt" git repo --format "$fmt"
    run "staged-$fmt" staged repo --format "$fmt"
done
run scan-low scan repo --format json --min-confidence low
run scan-stdin sh -c "cat repo/rules/github.yml | '$old' scan - --format json" 
run git-range git repo --branch side --format json
run rules-list rules list --format json
run rules-check rules check
echo "$repo" > "$work/repos.txt" || true
a=$(cd "$work" && "$old" sweep --repos repos.txt --cache old-cache --datastore old.db --format json 2>&1; "$old" report --datastore old.db --format json 2>&1) || true
b=$(cd "$work" && "$new" sweep --repos repos.txt --cache new-cache --datastore new.db --format json 2>&1; "$new" report --datastore new.db --format json 2>&1) || true
a=$(printf '%s' "$a" | mask | sed 's/old-cache/CACHE/g; s/old\.db/DB/g'); b=$(printf '%s' "$b" | mask | sed 's/new-cache/CACHE/g; s/new\.db/DB/g')
if [ "$a" == "$b" ]; then echo "same      sweep-report"; else echo "DIFFERENT sweep-report"; diff <(echo "$a") <(echo "$b") | head; status=1; fi
(cd "$work" && "$old" scan repo --format json --show-secrets --exit-zero -o "$work/report.json" 2>/dev/null) || true
run revoke-dry revoke --from "$work/report.json" --dry-run --format json
exit $status
