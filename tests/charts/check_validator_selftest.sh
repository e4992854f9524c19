#!/usr/bin/env bash
# The manifest validator must catch what it claims to: it is run on selftest/broken.yaml, must
# fail, and must report every message listed in selftest/broken.expect.
#   usage: check_validator_selftest.sh TOOLS_DIR
set -euo pipefail
tools=${1:?}
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$tools/chart-node/node_modules" ] || { echo "npm packages missing: run the chart_tools test first" >&2; exit 1; }
run=$(mktemp -d "$tools/chart-node/run-XXXXXX")
trap 'rm -rf "$run"' EXIT
cp "$here/validate_manifests.mjs" "$run/"
if node "$run/validate_manifests.mjs" "$here/selftest/broken.yaml" >"$run/out" 2>&1; then
  echo "FAIL the validator accepted selftest/broken.yaml"; cat "$run/out"; exit 1
fi
missing=0
while IFS= read -r message; do
  [ -n "$message" ] || continue
  if grep -qF -- "$message" "$run/out"; then echo "ok   caught: $message"
  else echo "FAIL not reported: $message"; missing=$((missing + 1)); fi
done <"$here/selftest/broken.expect"
[ "$missing" = 0 ] || { echo "validator output:"; cat "$run/out"; exit 1; }
echo "ok: the validator reports every seeded defect"
