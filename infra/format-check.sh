#!/usr/bin/env bash
# The formatting check that CI runs (.ci/run): Biome (pinned in package.json, configured in
# biome.json) over every TypeScript and JavaScript source except the generated proto code and
# dist/. Fails, listing the differences, when a file is not formatted: `npm run format` fixes it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/biome format .
