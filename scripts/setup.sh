#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh machine, idempotent and quick when done:
# Node check, npm packages (only when package-lock.json changed), the container engine, the runner bundle.
# The agent image is built by the host itself (src/host/containers/image.ts) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Warren needs Node >= 20.19, found "+process.version); process.exit(1) }'

stamp=node_modules/.warren-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages (better-sqlite3 compiles from source: about a minute)…" >&2
  npm ci --no-fund --no-audit --loglevel=error >&2
  echo "$want" >"$stamp"
fi

echo "setup: container engine on $(bash scripts/setup-container-engine.sh)" >&2
npx --no-install tsx scripts/build-runner.ts >&2
