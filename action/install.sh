#!/bin/sh
# Installs the keysweep release binary for this runner into a tool cache
# directory and prints its path on stdout. No Rust toolchain needed.
#
# Environment:
#   KS_VERSION             a release version (e.g. 0.2.0) or "latest"
#   KS_CACHE_DIR           where binaries are kept between runs (actions/cache
#                          restores it); default $RUNNER_TOOL_CACHE/keysweep
#   KEYSWEEP_DOWNLOAD_BASE release download URL prefix; tests point it at a
#                          file:// directory
set -eu

version=${KS_VERSION:-latest}
os=$(uname -s)
arch=$(uname -m)
case "$os/$arch" in
    Linux/x86_64) target=x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
    *)
        echo "::error title=keysweep::no keysweep release for $os/$arch; build it with \`cargo install keysweep\` and set the action's \`binary\` input" >&2
        exit 2
        ;;
esac

base=${KEYSWEEP_DOWNLOAD_BASE:-https://github.com/keysweep/keysweep/releases}
if [ "$version" = latest ]; then
    url="$base/latest/download/keysweep-$target.tar.gz"
else
    url="$base/download/v${version#v}/keysweep-$target.tar.gz"
fi

dir=${KS_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${TMPDIR:-/tmp}}/keysweep}/$version/$target
# A pinned version never changes: reuse it. "latest" is fetched every run.
if [ "$version" != latest ] && [ -x "$dir/keysweep" ]; then
    echo "$dir/keysweep"
    exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! curl -fsSL --retry 3 -o "$tmp/k.tar.gz" "$url"; then
    echo "::error title=keysweep::cannot download $url" >&2
    exit 2
fi
# The release publishes a checksum next to each archive; a mismatch means a
# corrupt or tampered download, never something to run.
if curl -fsSL --retry 3 -o "$tmp/k.sha256" "$url.sha256" 2>/dev/null; then
    want=$(cut -d' ' -f1 <"$tmp/k.sha256")
    if command -v sha256sum >/dev/null 2>&1; then
        got=$(sha256sum "$tmp/k.tar.gz" | cut -d' ' -f1)
    else
        got=$(shasum -a 256 "$tmp/k.tar.gz" | cut -d' ' -f1)
    fi
    if [ "$want" != "$got" ]; then
        echo "::error title=keysweep::$url: checksum mismatch (expected $want, got $got)" >&2
        exit 2
    fi
else
    echo "::warning title=keysweep::$url.sha256 not found; download not verified" >&2
fi
tar -xzf "$tmp/k.tar.gz" -C "$tmp"
found=$(find "$tmp" -type f -name keysweep | head -n 1)
if [ -z "$found" ]; then
    echo "::error title=keysweep::$url: no keysweep binary in the archive" >&2
    exit 2
fi
install -m 0755 "$found" "$dir/keysweep"
echo "$dir/keysweep"
