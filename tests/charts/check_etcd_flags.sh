#!/usr/bin/env bash
# The chart's etcd member flags and probe paths work with a real etcd (Debian's etcd-server,
# the version the design names): renders a one-member in-chart etcd, rewrites its addresses to
# free loopback ports and its data directory to a temporary one, starts etcd with exactly the
# rendered args, and checks that every probe path the StatefulSet uses answers healthy.
# TLS (the members' Secret mounted at /etc/etcd/tls): a throwaway CA and certificate made with
# openssl stand in for it; the client port must then answer a client with a certificate of the
# CA and refuse one without (--client-cert-auth). With LEDGER_BINARY and LODECTL_BINARY, a
# lodestone-ledger started with the chart's ledger flags (its own Secret and the etcd CA stood
# in for the same way, the endpoints rewritten to this etcd) must become the leader through it.
#   usage: check_etcd_flags.sh TOOLS_DIR CHART_DIR VALUES_FILE [LEDGER_BINARY LODECTL_BINARY]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
tools=${1:?} chart=${2:?} values=${3:?} ledger=${4-} lodectl=${5-}
helm="$tools/helm-3.17.2/helm"
[ -x "$helm" ] || { echo "helm is missing: run the chart_tools test (fetch_tools.sh) first" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is missing (Debian package: etcd-server)" >&2; exit 1; }
if [ -n "$ledger" ] && { [ ! -x "$ledger" ] || [ ! -x "$lodectl" ]; }; then
  echo "LEDGER_BINARY and LODECTL_BINARY must both be executables" >&2; exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-etcd-XXXXXX")
pid="" ledger_pid=""
cleanup() { stop_pids "$ledger_pid" "$pid"; rm -rf "$work"; }
trap cleanup EXIT
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

"$helm" template rel "$chart" --namespace lodestone-test --values "$values" --set etcd.replicas=1 \
  --set ledger.replicas=1 >"$work/rendered.yaml"
# Three free loopback ports (client, peer, metrics), chosen by the kernel.
read -r client peer metrics < <(node -e '
  const net = require("net"); const ports = [];
  const next = () => { const s = net.createServer().listen(0, "127.0.0.1", () => {
    ports.push(s.address().port); s.close(() => ports.length < 3 ? next() : console.log(ports.join(" "))); }); };
  next();')
# etcd's args, its probes, and the ledger's flag file and container args ($(POD_NAME) as the
# first pod's name), one per line.
(cd "$tools/chart-node" && node --input-type=module -e '
  import fs from "node:fs";
  import YAML from "yaml";
  const [rendered, dataDir, client, peer, metrics, out] = process.argv.slice(1);
  const objs = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const container = (name) => {
    const sts = objs.find((o) => o.kind === "StatefulSet" && o.spec.template.spec.containers.some((c) => c.name === name));
    if (!sts) { console.error(`no ${name} StatefulSet rendered`); process.exit(1); }
    const c = sts.spec.template.spec.containers.find((c) => c.name === name);
    return [c, `${sts.metadata.name}-0`];
  };
  const [c, pod] = container("etcd");
  const port = { 2379: client, 2380: peer, 2381: metrics };
  const args = c.args.map((a) => a
    .replaceAll("$(POD_NAME)", pod)
    .replace(/^--data-dir=.*/, `--data-dir=${dataDir}`)
    .replace(/(\/\/)[^,/]*?:(2379|2380|2381)\b/g, (_, s, p) => `${s}127.0.0.1:${port[p]}`));
  fs.writeFileSync(`${out}/args`, args.join("\n") + "\n");
  const named = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
  const probes = ["startupProbe", "readinessProbe", "livenessProbe"].map((k) => c[k]?.httpGet)
    .filter(Boolean).map((h) => `${port[named[h.port] ?? h.port]} ${h.path}`);
  fs.writeFileSync(`${out}/probes`, probes.join("\n") + "\n");
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.data?.["ledger.flags"]);
  if (!cm) { console.error("no ConfigMap has ledger.flags"); process.exit(1); }
  fs.writeFileSync(`${out}/ledger.flags`, cm.data["ledger.flags"]);
  const [l, lpod] = container("ledger");
  const largs = (l.args ?? []).filter((a) => !a.startsWith("--flagfile=")).map((a) => a.replaceAll("$(POD_NAME)", lpod));
  fs.writeFileSync(`${out}/ledger.args`, largs.join("\n") + "\n");
' "$work/rendered.yaml" "$work/member" "$client" "$peer" "$metrics" "$work")

tls=""
if grep -q -- "=/etc/etcd/tls/" "$work/args"; then
  command -v openssl >/dev/null || { echo "openssl is missing" >&2; exit 1; }
  make_test_tls "$work/tls"
  sed -i "s|=/etc/etcd/tls/|=$work/tls/|" "$work/args"
  tls=yes
  echo "TLS material: a throwaway CA and certificate in $work/tls stand in for /etc/etcd/tls"
fi
mapfile -t args <"$work/args"
echo "== etcd $(etcd --version | sed -n 's/^etcd Version: //p') with the rendered args:"
printf '  %s\n' "${args[@]}"
etcd "${args[@]}" >"$work/etcd.log" 2>&1 &
pid=$!

problems=0
fail() { echo "FAIL $*"; problems=$((problems + 1)); }
while read -r port path; do
  healthy=""
  for _ in $(seq 1 200); do
    curl -sf --max-time 2 "http://127.0.0.1:$port$path" >"$work/health" 2>/dev/null || true
    if grep -q '"health":"true"' "$work/health"; then healthy=yes; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$healthy" ]; then echo "ok   probe $path answers healthy"; else fail "probe $path"; fi
done <"$work/probes"
[ -s "$work/probes" ] || fail "no httpGet probes found"

client_url="http://127.0.0.1:$client"
if [ -n "$tls" ]; then
  client_url="https://127.0.0.1:$client"
  if curl -sf --max-time 5 --cacert "$work/tls/ca.crt" --cert "$work/tls/client.crt" \
       --key "$work/tls/client.key" "$client_url/health" | grep -q '"health":"true"'; then
    echo "ok   client port answers over TLS with a client certificate"
  else
    fail "client port over TLS with a client certificate"
  fi
  if curl -s --max-time 5 --cacert "$work/tls/ca.crt" "$client_url/health" >"$work/nocert" 2>&1; then
    fail "client port answers a client without a certificate: $(cat "$work/nocert")"
  else
    echo "ok   client port refuses a client without a certificate"
  fi
  if curl -s --max-time 5 "http://127.0.0.1:$client/health" | grep -q '"health":"true"'; then
    fail "client port answers plain HTTP"
  else
    echo "ok   client port refuses plain HTTP"
  fi
fi

if [ -n "$ledger" ] && [ "$problems" = 0 ]; then
  echo "== lodestone-ledger with the chart's ledger flags:"
  # The etcd endpoints become this etcd; both TLS mounts become the throwaway material (one CA).
  sed -i -e "s|^--etcd_endpoints=.*|--etcd_endpoints=$client_url|" \
    -e "s|=/etc/lodestone/tls/|=$work/tls/|" -e "s|=/etc/lodestone/etcd-tls/|=$work/tls/|" \
    "$work/ledger.flags"
  sed -i -e '/^--advertise_address=/d' "$work/ledger.args"
  sed 's/^/  /' "$work/ledger.flags" "$work/ledger.args"
  grep -q -- "^--etcd_tls_" "$work/ledger.flags" || [ -z "$tls" ] ||
    fail "etcd runs TLS but the ledger has no --etcd_tls_* flags"
  mapfile -t largs <"$work/ledger.args"
  overrides=(--listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/ledger-data")
  if grep -q -- "^--health_listen=" "$work/ledger.flags"; then overrides+=(--health_listen=127.0.0.1:0); fi
  mkdir "$work/ledger-data"
  : >"$work/ledger.stdout"; : >"$work/ledger.stderr"
  "$ledger" --flagfile="$work/ledger.flags" "${largs[@]}" "${overrides[@]}" \
    >"$work/ledger.stdout" 2>"$work/ledger.stderr" &
  ledger_pid=$!
  read -r ledger_port _ < <(wait_ports "$work/ledger.stdout" "$ledger_pid") || true
  if [ -z "${ledger_port:-}" ]; then
    fail "lodestone-ledger did not start with the chart's flags:"; cat "$work/ledger.stdout" "$work/ledger.stderr"
  else
    ctl=("$lodectl" --deadline_ms=3000 --server="127.0.0.1:$ledger_port")
    if grep -q -- "^--tls_ca=" "$work/ledger.flags"; then
      ctl+=(--tls_ca="$work/tls/ca.crt" --tls_cert="$work/tls/client.crt" --tls_key="$work/tls/client.key")
    fi
    leader=""
    for _ in $(seq 1 150); do
      if "${ctl[@]}" head >"$work/head" 2>&1 && grep -q "(leader)" "$work/head"; then leader=yes; break; fi
      kill -0 "$ledger_pid" 2>/dev/null || break
      sleep 0.2
    done
    if [ -n "$leader" ]; then
      echo "ok   the ledger leads through etcd: $(grep '^node' "$work/head")"
      grep -h "etcd" "$work/ledger.stdout" | sed 's/^/     /'
    else
      fail "the ledger did not become the leader through etcd:"; cat "$work/head" "$work/ledger.stdout"
      tail -20 "$work/ledger.stderr"
    fi
  fi
fi
[ "$problems" = 0 ] || { tail -20 "$work/etcd.log"; exit 1; }
echo "ok: etcd runs with the chart's flags and answers its probes${ledger:+; the ledger leads through it}"
