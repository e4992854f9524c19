#!/usr/bin/env bash
# The chart's etcd member flags and probe paths work with a real etcd (Debian's etcd-server,
# the version the design names): renders a one-member in-chart etcd, rewrites its addresses to
# free loopback ports and its data directory to a temporary one, starts etcd with exactly the
# rendered args, and checks that every probe path the StatefulSet uses answers healthy.
#   usage: check_etcd_flags.sh TOOLS_DIR CHART_DIR VALUES_FILE
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
tools=${1:?} chart=${2:?} values=${3:?}
helm="$tools/helm-3.17.2/helm"
[ -x "$helm" ] || { echo "helm is missing: run the chart_tools test (fetch_tools.sh) first" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is missing (Debian package: etcd-server)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-etcd-XXXXXX")
pid=""
cleanup() { stop_pids "$pid"; rm -rf "$work"; }
trap cleanup EXIT
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

"$helm" template rel "$chart" --namespace lodestone-test --values "$values" --set etcd.replicas=1 \
  >"$work/rendered.yaml"
# Three free loopback ports (client, peer, metrics), chosen by the kernel.
read -r client peer metrics < <(node -e '
  const net = require("net"); const ports = [];
  const next = () => { const s = net.createServer().listen(0, "127.0.0.1", () => {
    ports.push(s.address().port); s.close(() => ports.length < 3 ? next() : console.log(ports.join(" "))); }); };
  next();')
(cd "$tools/chart-node" && node --input-type=module -e '
  import fs from "node:fs";
  import YAML from "yaml";
  const [rendered, dataDir, client, peer, metrics, argsOut, probesOut] = process.argv.slice(1);
  const objs = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const sts = objs.find((o) => o.kind === "StatefulSet" && o.spec.template.spec.containers.some((c) => c.name === "etcd"));
  if (!sts) { console.error("no etcd StatefulSet rendered"); process.exit(1); }
  const c = sts.spec.template.spec.containers.find((c) => c.name === "etcd");
  const pod = `${sts.metadata.name}-0`;
  const port = { 2379: client, 2380: peer, 2381: metrics };
  const args = c.args.map((a) => a
    .replaceAll("$(POD_NAME)", pod)
    .replace(/^--data-dir=.*/, `--data-dir=${dataDir}`)
    .replace(/(\/\/)[^,/]*?:(2379|2380|2381)\b/g, (_, s, p) => `${s}127.0.0.1:${port[p]}`));
  fs.writeFileSync(argsOut, args.join("\n") + "\n");
  const named = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
  const probes = ["startupProbe", "readinessProbe", "livenessProbe"].map((k) => c[k]?.httpGet)
    .filter(Boolean).map((h) => `${port[named[h.port] ?? h.port]} ${h.path}`);
  fs.writeFileSync(probesOut, probes.join("\n") + "\n");
' "$work/rendered.yaml" "$work/member" "$client" "$peer" "$metrics" "$work/args" "$work/probes")

mapfile -t args <"$work/args"
echo "== etcd $(etcd --version | sed -n 's/^etcd Version: //p') with the rendered args:"
printf '  %s\n' "${args[@]}"
etcd "${args[@]}" >"$work/etcd.log" 2>&1 &
pid=$!

problems=0
while read -r port path; do
  healthy=""
  for _ in $(seq 1 200); do
    curl -sf --max-time 2 "http://127.0.0.1:$port$path" >"$work/health" 2>/dev/null || true
    if grep -q '"health":"true"' "$work/health"; then healthy=yes; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$healthy" ]; then echo "ok   probe $path answers healthy"; else echo "FAIL probe $path"; problems=$((problems + 1)); fi
done <"$work/probes"
[ -s "$work/probes" ] || { echo "FAIL no httpGet probes found"; problems=$((problems + 1)); }
[ "$problems" = 0 ] || { tail -20 "$work/etcd.log"; exit 1; }
echo "ok: etcd runs with the chart's flags and answers its probes"
