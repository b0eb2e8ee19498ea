#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh machine, idempotent and quick when done:
# Node check, npm packages (only when package-lock.json or the Node major changed), the container engine,
# the runner bundle.
# The agent image is built by the host itself (src/host/containers/image.ts) when it is missing.
# --for-tests also installs Debian's Chromium, which the web page tests drive.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Warren needs Node >= 20.19, found "+process.version); process.exit(1) }'

# node-gyp compiles better-sqlite3 against the headers of the Node that runs: official builds and
# Debian's nodejs ship them beside the binary (<prefix>/include/node), so nothing is downloaded.
# Set even when npm's config names a nodedir (this machine's says /usr): under `npm test` that
# setting reaches us as npm_config_nodedir and would build for the machine's Node, not this one.
node_prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -f "$node_prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir=$node_prefix
fi

# node_modules holds what package-lock.json names, with better-sqlite3 compiled for one Node module
# ABI: the stamp records both, so another lock file reinstalls and another Node major recompiles.
stamp=node_modules/.warren-lock-hash
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
want="$lock node-abi-$(node -p process.versions.modules)"
have=$(cat "$stamp" 2>/dev/null || true)
if [ "${have%% *}" != "$lock" ]; then
  echo "setup: installing npm packages (better-sqlite3 compiles from source: about a minute)…" >&2
  npm ci --no-fund --no-audit --loglevel=error >&2
  echo "$want" >"$stamp"
elif [ "$have" != "$want" ]; then
  echo "setup: compiling native packages for Node $(node -v) (about a minute)…" >&2
  # Named: a bare `npm rebuild` (npm 11) reports success without running better-sqlite3's build.
  npm rebuild better-sqlite3 --no-fund --no-audit --loglevel=error >&2
  echo "$want" >"$stamp"
fi

if [ "${1:-}" = --for-tests ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: the web page tests need Chromium: apt-get install chromium (as root)" >&2
    exit 1
  fi
  echo "setup: installing chromium from Debian's packages for the web page tests…" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    >/tmp/warren-chromium-apt.log 2>&1 || { tail -20 /tmp/warren-chromium-apt.log >&2; exit 1; }
fi

echo "setup: container engine on $(bash scripts/setup-container-engine.sh)" >&2
npx --no-install tsx scripts/build-runner.ts >&2
