#!/usr/bin/env bash
# One value set of the chart: helm lint --strict, helm template, then every rendered object is
# validated against the Kubernetes API schemas and the chart's policy (validate_manifests.mjs).
#   usage: check_chart.sh TOOLS_DIR CHART_DIR NAME VALUES_FILE|- [EXPECT_JSON]
set -euo pipefail
tools=${1:?} chart=${2:?} name=${3:?} values=${4:?} expect=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
helm="$tools/helm-3.17.2/helm"
[ -x "$helm" ] || { echo "helm is missing: run the chart_tools test (fetch_tools.sh) first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-chart-XXXXXX")
run=""
cleanup() { rm -rf "$work" ${run:+"$run"}; }
trap cleanup EXIT
# helm keeps no state between tests: its config, cache and data live in the temporary dir.
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

args=(--namespace lodestone-test)
if [ "$values" != "-" ]; then args+=(--values "$values"); fi

echo "== $name: helm lint --strict"
"$helm" lint --strict "$chart" "${args[@]}"
echo "== $name: helm template"
"$helm" template rel "$chart" "${args[@]}" >"$work/rendered.yaml"
echo "rendered $(grep -c '^kind:' "$work/rendered.yaml") objects"
echo "== $name: NOTES.txt"
# helm renders NOTES.txt only when installing; render it here through a copy of the chart in
# which a ConfigMap template includes it.
cp -r "$chart" "$work/chart"
{ echo '{{- define "lodestone.notesCheck" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end }}'; } \
  >"$work/chart/templates/_notes_check.tpl"
printf '%s\n' 'apiVersion: v1' 'kind: ConfigMap' 'metadata:' '  name: notes-check' 'data:' '  notes: |' \
  '{{- include "lodestone.notesCheck" . | nindent 4 }}' >"$work/chart/templates/notes-check.yaml"
"$helm" template rel "$work/chart" "${args[@]}" --show-only templates/notes-check.yaml |
  sed -n 's/^    //p' >"$work/notes.txt"
cat "$work/notes.txt"
grep -q 'port-forward' "$work/notes.txt" || { echo "FAIL NOTES.txt does not tell how to reach the services"; exit 1; }
echo "== $name: Kubernetes API schemas, policy, references"
# The validator resolves its npm packages from a directory below chart-node/node_modules' parent.
run=$(mktemp -d "$tools/chart-node/run-XXXXXX")
cp "$here/validate_manifests.mjs" "$run/"
RULES_OUT="$work/rules.json" node "$run/validate_manifests.mjs" "$work/rendered.yaml" ${expect:+"$expect"}
if [ -f "$work/rules.json" ]; then
  echo "== $name: promtool check rules on the rendered PrometheusRule"
  command -v promtool >/dev/null || { echo "promtool is missing (Debian package: prometheus)" >&2; exit 1; }
  promtool check rules "$work/rules.json"
fi
