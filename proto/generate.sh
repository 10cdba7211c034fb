#!/usr/bin/env bash
# Regenerates the TypeScript for every .proto under proto/ into proto/gen/ with buf and ts-proto
# (both npm packages: no network, no protoc). With --check, fails when the committed code differs
# from what generation produces (GoBGP's `buf generate && git diff --exit-code`).
set -euo pipefail
cd "$(dirname "$0")"
buf=../node_modules/.bin/buf
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r . "$tmp/proto"
  rm -rf "$tmp/proto/gen"
  ln -s "$PWD/../node_modules" "$tmp/node_modules"
  (cd "$tmp/proto" && "$OLDPWD/$buf" lint && "$OLDPWD/$buf" generate)
  if ! diff -ru gen "$tmp/proto/gen"; then
    echo "proto/gen is stale: run 'npm run proto:gen' and commit the result" >&2
    exit 1
  fi
  echo "proto/gen is up to date"
else
  "$buf" lint
  rm -rf gen
  "$buf" generate
  echo "generated proto/gen"
fi
