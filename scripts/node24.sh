#!/usr/bin/env bash
# Fetches the official Node 24 build once, into a cache folder outside the checkout, and prints that
# folder. It comes from the npm registry (package node-linux-<cpu>@24), the one registry this kind of
# machine reaches: <folder>/bin/node is the binary and <folder>/include/node the headers node-gyp needs
# to compile better-sqlite3 offline. Use it as:
#   dir=$(bash scripts/node24.sh); PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" npm test
set -euo pipefail

case "$(uname -m)" in
  x86_64) cpu=x64 ;;
  aarch64) cpu=arm64 ;;
  *) echo "node24: no Node 24 package for CPU $(uname -m)" >&2; exit 1 ;;
esac
dir=${WARREN_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warren/node-24-$cpu}

if [ ! -x "$dir/bin/node" ]; then
  echo "node24: fetching node-linux-$cpu@24 from the npm registry (53 MB, 189 MB unpacked)…" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$cpu@24" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-linux-"$cpu"-*.tgz -C "$tmp/unpacked" --strip-components=1
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/unpacked" "$dir"
fi
echo "$dir"
