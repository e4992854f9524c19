#!/usr/bin/env bash
# The Grafana dashboard: structure and metric names (check_dashboard.mjs), PromQL of every
# query (promtool), and the chart's copy equal to ops/.
#   usage: check_dashboard.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: check_dashboard.sh SOURCE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v promtool >/dev/null || { echo "promtool is missing (Debian package: prometheus)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-dashboard-XXXXXX")
trap 'rm -rf "$work"' EXIT

dashboard="$src/ops/grafana/lodestone.json"
node "$here/check_dashboard.mjs" "$dashboard" "$work/queries.rules.json"
echo "== PromQL of the dashboard's queries"
promtool check rules "$work/queries.rules.json"
echo "== chart copy"
cmp "$dashboard" "$src/charts/lodestone/files/grafana-dashboard.json" ||
  { echo "FAIL charts/lodestone/files/grafana-dashboard.json differs from ops/grafana/lodestone.json (copy it)"; exit 1; }
echo ok
