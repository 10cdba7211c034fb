#!/usr/bin/env bash
# `npm start`: install what is missing, build dist/ when the sources changed (infra/build.mjs),
# then run the local cluster in the foreground, every process from the compiled JavaScript.
# MESHLESS_FROM_SOURCE=1 runs the TypeScript sources through tsx instead (slower to start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install.sh
if [[ "${MESHLESS_FROM_SOURCE:-0}" == 1 ]]; then
  exec node --import tsx infra/cluster/main.ts "$@"
fi
node infra/build.mjs --if-stale
exec node --enable-source-maps dist/infra/cluster/main.js "$@"
