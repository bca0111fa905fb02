#!/bin/sh
# Turns a keysweep JSONL report into workflow annotations (stdout) and a job
# summary (appended to $GITHUB_STEP_SUMMARY). POSIX sh and awk only: runners
# and containers have no jq or python guaranteed.
#
# Usage: report.sh REPORT.jsonl SUMMARY_LINE
set -eu

report=$1
summary_line=${2:-}

# Reads one finding per line; keysweep writes flat top-level fields first.
extract='
function str(line, key,    m, v) {
    if (!match(line, "\"" key "\":\"([^\"\\\\]|\\\\.)*\"")) return ""
    v = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
    gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v)
    return v
}
function num(line, key) {
    if (!match(line, "\"" key "\":[0-9]+")) return ""
    return substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
}
# Workflow command escaping: data, then property values.
function data(s) { gsub(/%/, "%25", s); gsub(/\r/, "%0D", s); gsub(/\n/, "%0A", s); return s }
function prop(s) { s = data(s); gsub(/:/, "%3A", s); gsub(/,/, "%2C", s); return s }
function cell(s) { gsub(/\|/, "\\|", s); gsub(/`/, "", s); return s }
'

awk "$extract"'
/^\{/ {
    sev = str($0, "severity")
    level = (sev == "critical" || sev == "high") ? "error" : (sev == "medium" ? "warning" : "notice")
    msg = str($0, "rule_name") ": " str($0, "secret")
    c = str($0, "commit")
    if (c != "") msg = msg " (added in commit " substr(c, 1, 12) ")"
    printf "::%s file=%s,line=%s,col=%s,endLine=%s,title=%s::%s\n", level,
        prop(str($0, "path")), num($0, "line"), num($0, "column"), num($0, "end_line"),
        prop("keysweep: " str($0, "rule_id")), data(msg)
}' "$report"

[ -n "${GITHUB_STEP_SUMMARY:-}" ] || exit 0
n=$(grep -c '^{' "$report" || true)
{
    echo "## keysweep"
    echo
    if [ "$n" -eq 0 ]; then
        echo "No secrets found."
    else
        echo "$n secret(s) found. Revoke each with its provider, then remove it (history too: it stays in every clone). Not a secret? Add \`keysweep:allow\` to the line."
        echo
        echo "| Rule | File | Line | Secret (redacted) | Commit |"
        echo "| --- | --- | --- | --- | --- |"
        awk "$extract"'
        /^\{/ {
            c = str($0, "commit")
            printf "| %s | `%s` | %s | `%s` | %s |\n", cell(str($0, "rule_id")), cell(str($0, "path")),
                num($0, "line"), cell(str($0, "secret")), (c == "" ? "" : "`" substr(c, 1, 12) "`")
        }' "$report"
    fi
    if [ -n "$summary_line" ]; then
        echo
        echo "<sub>${summary_line#keysweep: }</sub>"
    fi
} >>"$GITHUB_STEP_SUMMARY"
