#!/bin/sh
# The action's scan: works out what to scan from the triggering event,
# deepens a shallow checkout when the range needs it, runs keysweep, and
# writes annotations, the job summary, the SARIF file and step outputs.
# Exits with keysweep's status (0 clean, 1 findings as --fail-on defines
# them, 2 error), so the job fails on findings.
#
# Environment (set by action.yml from its inputs and the event):
#   KEYSWEEP            the binary
#   KS_ARGS             extra arguments, split on spaces
#   KS_CONFIG, KS_BASELINE, KS_VALIDATE (true/false), KS_FAIL_ON (any/live)
#   KS_SARIF            "true": also write keysweep.sarif for upload
#   KS_BASE, KS_HEAD    the pull request's base and head commits, or the
#                       push's before and after; read from GITHUB_EVENT_PATH
#                       when unset
#   KS_OUT_DIR          where reports go (default $RUNNER_TEMP or /tmp)
#   GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY
set -u

here=$(cd "$(dirname "$0")" && pwd)
keysweep=${KEYSWEEP:-keysweep}
out=${KS_OUT_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/keysweep
mkdir -p "$out"
zero=0000000000000000000000000000000000000000

fail() {
    echo "::error title=keysweep::$1" >&2
    exit 2
}

# `"sha"` of the object KEY (`"base"`, `"head"`) in the pretty-printed event
# GitHub writes: the first "sha" one level below that key.
event_sha() {
    awk -v key="\"$1\": {" '
        index($0, key) && !depth { depth = index($0, key) + 2; next }
        depth && match($0, /^ *"sha": "[0-9a-f]+"/) && index($0, "\"sha\"") == depth {
            s = $0; sub(/^ *"sha": "/, "", s); sub(/".*/, "", s); print s; exit
        }' "$GITHUB_EVENT_PATH"
}

# The top-level "before"/"after" of a push event.
event_field() {
    sed -n "s/^  \"$1\": \"\\([0-9a-f]*\\)\".*/\\1/p" "$GITHUB_EVENT_PATH" | head -n 1
}

base=${KS_BASE:-}
head=${KS_HEAD:-}
event=${GITHUB_EVENT_NAME:-}
if [ -z "$base" ] && [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
    case "$event" in
        pull_request | pull_request_target)
            base=$(event_sha base)
            head=$(event_sha head)
            ;;
        push)
            base=$(event_field before)
            head=$(event_field after)
            ;;
    esac
fi

has_commit() { git cat-file -e "$1^{commit}" 2>/dev/null; }

# What to scan: the commits the event brought, or all history.
range=""
if [ -n "$base" ] && [ "$base" != "$zero" ]; then
    if ! has_commit "$base" || [ "$(git rev-parse --is-shallow-repository)" = true ]; then
        echo "keysweep: the checkout is shallow; fetching history to reach $base" >&2
        if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
            git fetch --quiet --no-tags --unshallow origin >&2 || true
        fi
        has_commit "$base" || git fetch --quiet --no-tags origin "$base" >&2 || true
        has_commit "$base" || fail "cannot reach the base commit $base: the checkout is shallow and could not be deepened. Check out with \`actions/checkout\` and \`fetch-depth: 0\`."
    fi
    # A pull request's checkout is its merge commit: base..HEAD is exactly
    # what the pull request adds, and HEAD is there even from forks.
    if [ -z "$head" ] || ! has_commit "$head" || [ "${event#pull_request}" != "$event" ]; then
        head=HEAD
    fi
    range="$base..$head"
fi

set -- git .
if [ -n "$range" ]; then
    set -- "$@" --range "$range"
fi
[ -z "${KS_CONFIG:-}" ] || set -- "$@" --config "$KS_CONFIG"
[ -z "${KS_BASELINE:-}" ] || set -- "$@" --baseline "$KS_BASELINE"
[ "${KS_VALIDATE:-false}" != true ] || set -- "$@" --validate
[ -z "${KS_FAIL_ON:-}" ] || set -- "$@" --fail-on "$KS_FAIL_ON"
# Word splitting is the interface for extra arguments.
# shellcheck disable=SC2086
set -- "$@" ${KS_ARGS:-}

echo "keysweep: running keysweep $*" >&2
"$keysweep" "$@" -f jsonl -o "$out/keysweep.jsonl" 2>"$out/stderr.txt"
status=$?
cat "$out/stderr.txt" >&2
[ -f "$out/keysweep.jsonl" ] || : >"$out/keysweep.jsonl"
summary_line=$(grep '^keysweep: [0-9]* finding' "$out/stderr.txt" | tail -n 1)

if [ "${KS_SARIF:-false}" = true ]; then
    "$keysweep" "$@" -f sarif -o "$out/keysweep.sarif" -q
    sarif_status=$?
    [ "$sarif_status" -le 1 ] || fail "the SARIF run failed (exit $sarif_status)"
fi

"$here/report.sh" "$out/keysweep.jsonl" "$summary_line"
findings=$(grep -c '^{' "$out/keysweep.jsonl" || true)
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "findings=$findings"
        echo "exit-code=$status"
        echo "report=$out/keysweep.jsonl"
        echo "range=$range"
        if [ "${KS_SARIF:-false}" = true ]; then echo "sarif=$out/keysweep.sarif"; fi
    } >>"$GITHUB_OUTPUT"
fi
if [ "$status" -eq 1 ]; then
    echo "::error title=keysweep::$findings secret(s) found${range:+ in $range}; see the annotations and the job summary" >&2
fi
exit "$status"
