#!/usr/bin/env bash
# The alert rules: promtool check rules and the rules' unit tests, a runbook for every alert
# (and an alert for every runbook but the procedures linked from ops/README.md), and the
# chart's copy equal to ops/.
#   usage: check_alert_rules.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: check_alert_rules.sh SOURCE_DIR}
rules="$src/ops/prometheus/alerts.yaml"
command -v promtool >/dev/null || { echo "promtool is missing (Debian package: prometheus)" >&2; exit 1; }

echo "== promtool check rules"
promtool check rules "$rules"
echo "== promtool test rules"
(cd "$src/ops/prometheus" && promtool test rules alerts_test.yaml)

echo "== runbooks"
problems=0
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9]*\) *$/\1/p' "$rules")
[ -n "$alerts" ] || { echo "no alerts found in $rules"; exit 1; }
for alert in $alerts; do
  [ -f "$src/ops/runbooks/$alert.md" ] || { echo "FAIL $alert has no runbook ops/runbooks/$alert.md"; problems=$((problems + 1)); }
  grep -q "\[$alert\](runbooks/$alert.md)" "$src/ops/README.md" ||
    { echo "FAIL $alert is not in the alert table of ops/README.md"; problems=$((problems + 1)); }
  grep -q "runbook_url: ops/runbooks/$alert.md$" "$rules" ||
    { echo "FAIL $alert has no runbook_url: ops/runbooks/$alert.md"; problems=$((problems + 1)); }
done
# A runbook without an alert is a procedure (e.g. a restore): linked from ops/README.md, with
# the sections of a procedure instead of an alert's.
procedures=0
for book in "$src"/ops/runbooks/*.md; do
  name=$(basename "$book" .md)
  sections=("## Meaning" "## Impact" "## Diagnosis" "## Mitigation")
  if ! grep -qx "$name" <<<"$alerts"; then
    grep -q "\[$name\](runbooks/$name.md)" "$src/ops/README.md" ||
      { echo "FAIL runbook $name.md has no alert and is not linked from ops/README.md as a procedure"; problems=$((problems + 1)); }
    sections=("## When" "## Steps" "## Verify")
    procedures=$((procedures + 1))
  fi
  for section in "${sections[@]}"; do
    grep -qx "$section" "$book" || { echo "FAIL $name.md lacks '$section'"; problems=$((problems + 1)); }
  done
done
[ "$(grep -c 'runbook_url:' "$rules")" = "$(echo "$alerts" | wc -l)" ] ||
  { echo "FAIL not every rule has exactly one runbook_url"; problems=$((problems + 1)); }

echo "== chart copy"
cmp "$rules" "$src/charts/lodestone/files/alerts.yaml" ||
  { echo "FAIL charts/lodestone/files/alerts.yaml differs from ops/prometheus/alerts.yaml (copy it)"; problems=$((problems + 1)); }

[ "$problems" = 0 ] || { echo "$problems problem(s)"; exit 1; }
echo "ok: $(echo "$alerts" | wc -l) alerts, each with a runbook; $procedures procedure runbook(s)"
