#!/usr/bin/env bash
# Refresh static/vendor/katex/ from the npm registry: bash scripts/vendor-katex.sh [VERSION]
set -euo pipefail
version="${1:-0.19.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "katex@$version" >/dev/null && tar xzf "katex-$version.tgz")
dest="$root/static/vendor/katex"
rm -rf "$dest/fonts" && mkdir -p "$dest/fonts"
cp "$work/package/dist/katex.min.js" "$work/package/dist/katex.min.css" "$dest/"
cp "$work/package/dist/fonts/"*.woff2 "$dest/fonts/"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "$version" > "$dest/VERSION"
sed -i "s/^# KaTeX [0-9.]* (vendored)/# KaTeX $version (vendored)/" "$dest/README.md"
