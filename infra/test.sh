#!/usr/bin/env bash
# Runs every test: the generated-code check, then every *.test.ts under services/, infra/, k8s/ and
# loadtest/ with Node's test runner (one process per file; real nats-server and BGP daemons are
# started by the tests themselves on random ports).
#   npm test                       everything
#   npm test -- services/bgp       only test files under the given paths
set -euo pipefail
cd "$(dirname "$0")/.."
bash proto/generate.sh --check
# Tests run the sources through tsx, and every process they spawn with `meshless` (services, the
# local cluster, the end-to-end lab, the benchmarks' smoke tests) runs the compiled build: what
# users run. Build it first so no test pays for (or races on) a rebuild.
node infra/build.mjs --if-stale
paths=("$@")
(( ${#paths[@]} )) || paths=(services infra loadtest k8s)
mapfile -t files < <(find "${paths[@]}" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if (( ${#files[@]} == 0 )); then
  echo "no test files under ${paths[*]}" >&2
  exit 1
fi
export MESHLESS_LOG_LEVEL="${MESHLESS_LOG_LEVEL:-silent}"
# The tests never read or write the user's own configuration (npm start puts the admin's
# credentials in $XDG_CONFIG_HOME/meshless; a CLI finding them would speak TLS to test servers).
XDG_CONFIG_HOME="$(mktemp -d -t meshless-test-config-XXXXXX)"
export XDG_CONFIG_HOME
trap 'rm -rf "$XDG_CONFIG_HOME"' EXIT
node --import tsx --test --test-concurrency="${MESHLESS_TEST_CONCURRENCY:-2}" --test-timeout=600000 "${files[@]}"
