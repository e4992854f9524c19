#!/usr/bin/env bash
# values.schema.json (and the templates' own checks) must refuse bad values: every file in
# bad-values/ must make `helm template` fail, with an error matching its "# expect: REGEX" line
# (so that a file cannot pass by failing for another reason).
#   usage: check_bad_values.sh TOOLS_DIR CHART_DIR BAD_VALUES_DIR
set -euo pipefail
tools=${1:?} chart=${2:?} dir=${3:?}
helm="$tools/helm-3.17.2/helm"
[ -x "$helm" ] || { echo "helm is missing: run the chart_tools test (fetch_tools.sh) first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-badvalues-XXXXXX")
trap 'rm -rf "$work"' EXIT
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

passed=0 failed=0
for values in "$dir"/*.yaml; do
  name=$(basename "$values")
  expect=$(sed -n 's/^# expect: //p' "$values")
  if [ -z "$expect" ]; then
    echo "FAIL $name: no '# expect: REGEX' line"; failed=$((failed + 1)); continue
  fi
  if "$helm" template rel "$chart" --values "$values" >"$work/out" 2>"$work/err"; then
    echo "FAIL $name: accepted (expected an error matching: $expect)"; failed=$((failed + 1))
  elif grep -Eq -- "$expect" "$work/err"; then
    echo "ok   $name: $(grep -E -- "$expect" "$work/err" | head -1 | sed 's/^[- ]*//')"; passed=$((passed + 1))
  else
    echo "FAIL $name: refused, but not for the expected reason ($expect):"; sed 's/^/     /' "$work/err"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 1
