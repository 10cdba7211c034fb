#!/usr/bin/env bash
# `npm start`: install what is missing, then run the local cluster in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install.sh
exec node --import tsx infra/cluster/main.ts "$@"
