#!/usr/bin/env bash
# The flags the chart renders for a program are flags the program accepts: renders the chart,
# takes the program's flag file (ConfigMap) and its container's other args, and starts the real
# program with them (listen addresses and data directory overridden to loopback port 0 and a
# temporary directory). Flags that the program contract plans but the program does not have
# yet are passed through --undefok and listed; every other unknown flag fails the start.
# TLS: the chart's Secret is mounted at /etc/lodestone/tls (the ledger's etcd CA at
# /etc/lodestone/etcd-tls); a throwaway CA and certificate made with openssl stand in for them,
# so the program really loads them. Then the program must say TLS
# is on with client certificates required, and with LODECTL_BINARY: its gRPC port answers a
# health check over mutual TLS and refuses plain text, and its --health_listen port (rendered
# address replaced by 127.0.0.1:0) answers in plain text. A rendered --http_listen (the EPCIS
# port, replaced by 127.0.0.1:0) must answer over mutual TLS and refuse clients without a
# certificate. A rendered --backup_dir becomes a temporary directory; with LODECTL_BINARY, the
# backup CronJob's lodectl calls that name this pod (its stable name, or the Service of a
# one-pod StatefulSet) are run as rendered (address replaced, TLS material stood in for: the
# programs' Secret as above, backup.tls.existingSecret at /etc/lodestone/client-tls by the
# administrator's certificate) and each backup directory must then list a verified backup.
#   usage: check_chart_flags.sh TOOLS_DIR CHART_DIR VALUES_FILE PROGRAM_BINARY FLAGS_KEY
#                               PLANNED_FLAGS [LODECTL_BINARY]
#   (PLANNED_FLAGS: comma-separated flag names without dashes; "-" or empty = none)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
tools=${1:?} chart=${2:?} values=${3:?} bin=${4:?} key=${5:?} planned=${6-} lodectl=${7-}
[ "$planned" != "-" ] || planned=""
if [ -n "$lodectl" ] && [ ! -x "$lodectl" ]; then echo "lodectl $lodectl is not executable" >&2; exit 1; fi
helm="$tools/helm-3.17.2/helm"
[ -x "$helm" ] || { echo "helm is missing: run the chart_tools test (fetch_tools.sh) first" >&2; exit 1; }
program=$(basename "$bin")
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-flags-XXXXXX")
pid=""
cleanup() { stop_pids "$pid"; rm -rf "$work"; }
trap cleanup EXIT
export HELM_CONFIG_HOME="$work/config" HELM_CACHE_HOME="$work/cache" HELM_DATA_HOME="$work/data"

"$helm" template rel "$chart" --namespace lodestone-test --values "$values" >"$work/rendered.yaml"
# Flag file and container args ($(POD_NAME) as the first pod's name), one flag per line.
(cd "$tools/chart-node" && node --input-type=module -e '
  import fs from "node:fs";
  import YAML from "yaml";
  const [rendered, key, program, flagsOut, argsOut, callsOut] = process.argv.slice(1);
  const objs = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.data && key in o.data);
  if (!cm) { console.error(`no ConfigMap has ${key}`); process.exit(1); }
  fs.writeFileSync(flagsOut, cm.data[key]);
  for (const w of objs.filter((o) => o.spec?.template?.spec?.containers)) {
    for (const c of w.spec.template.spec.containers) {
      if (c.command?.[0] !== `/usr/local/bin/${program}`) continue;
      const args = (c.args ?? []).filter((a) => !a.startsWith("--flagfile="))
        .map((a) => a.replaceAll("$(POD_NAME)", `${w.metadata.name}-0`));
      fs.writeFileSync(argsOut, args.join("\n") + (args.length ? "\n" : ""));
      // The calls of the backup CronJob that name this pod, in order, one per line (args separated by tabs).
      const pod = `${w.metadata.name}-0`;
      const calls = [];
      for (const cj of objs.filter((o) => o.kind === "CronJob")) {
        const spec = cj.spec.jobTemplate.spec.template.spec;
        for (const b of [...(spec.initContainers ?? []), ...spec.containers]) {
          if (b.command?.[0] !== "/usr/local/bin/lodectl") continue;
          const host = (b.args.find((a) => a.startsWith("--server=")) ?? "").slice(9);
          const single = w.kind === "StatefulSet" && w.spec.replicas === 1;
          if (host.startsWith(`${pod}.`) || (single && host.startsWith(`${w.metadata.name}.`))) calls.push(b.args.join("\t"));
        }
      }
      fs.writeFileSync(callsOut, calls.map((c) => c + "\n").join(""));
      process.exit(0);
    }
  }
  console.error(`no container runs /usr/local/bin/${program}`);
  process.exit(1);
' "$work/rendered.yaml" "$key" "$program" "$work/program.flags" "$work/args" "$work/backup.calls")

echo "== $key as rendered"
cat "$work/program.flags"
mapfile -t args <"$work/args"
if [ ${#args[@]} -gt 0 ]; then printf 'container args: %s\n' "${args[*]}"; fi
tolerated=()
for flag in ${planned//,/ }; do
  if grep -q -- "^--$flag=" "$work/program.flags" "$work/args"; then tolerated+=("$flag"); fi
done
[ ${#tolerated[@]} -eq 0 ] || echo "planned, not yet in $program (passed with --undefok): ${tolerated[*]}"

tls_mount=/etc/lodestone/tls
tls=""
if grep -q -- "=$tls_mount/" "$work/program.flags" "$work/args"; then
  command -v openssl >/dev/null || { echo "openssl is missing" >&2; exit 1; }
  make_test_tls "$work/tls"
  # The ledger's etcd CA (or external etcd client Secret) at /etc/lodestone/etcd-tls: the same.
  sed -i -e "s|=$tls_mount/|=$work/tls/|" -e "s|=/etc/lodestone/etcd-tls/|=$work/tls/|" \
    "$work/program.flags" "$work/args"
  mapfile -t args <"$work/args"
  tls=yes
  echo "TLS material: a throwaway CA and certificate in $work/tls stand in for $tls_mount"
fi
overrides=(--listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/data")
# The EPCIS HTTP port: a rendered address becomes a free loopback port and is checked below; an
# empty --http_listen (off) stays off; without the flag lodestone-server would take 7480.
http=""
if grep -q -- "^--http_listen=." "$work/program.flags" "$work/args"; then
  http=yes
  overrides+=(--http_listen=127.0.0.1:0)
elif [ "$program" = lodestone-server ] && ! grep -q -- "^--http_listen=" "$work/program.flags" "$work/args"; then
  overrides+=(--http_listen=127.0.0.1:0)
fi
backups=""
if grep -q -- "^--backup_dir=" "$work/program.flags" "$work/args"; then
  backups=yes
  overrides+=(--backup_dir="$work/backups")
fi
health=""
if grep -q -- "^--health_listen=" "$work/program.flags" "$work/args"; then
  health=yes
  overrides+=(--health_listen=127.0.0.1:0)
fi

# The data directory exists and is empty, as a freshly mounted volume.
mkdir "$work/data"
# The output files exist before the program starts (the redirections happen in the child).
: >"$work/stdout"; : >"$work/stderr"
"$bin" --flagfile="$work/program.flags" "${args[@]}" ${planned:+--undefok="$planned"} \
  "${overrides[@]}" >"$work/stdout" 2>"$work/stderr" &
pid=$!
started=""
read -r started _ < <(wait_ports "$work/stdout" "$pid") || true
if [ -z "$started" ]; then
  echo "FAIL $program did not start with the chart's flags:"; cat "$work/stdout" "$work/stderr"; exit 1
fi
problems=0
fail() { echo "FAIL $*"; problems=$((problems + 1)); }
if [ -n "$tls" ]; then
  want="TLS with certificate $work/tls/"
  if grep -q -- "^--tls_ca=" "$work/program.flags" "$work/args"; then want="client certificates required"; fi
  if grep -qF -- "$want" "$work/stdout"; then
    echo "ok   TLS on ($want)"
  else
    fail "$program does not report '$want'"
  fi
fi
if [ -n "$http" ]; then
  url=""
  for _ in $(seq 1 50); do
    url=$(sed -n 's/.*serving EPCIS 2.0 at \([^ ]*\).*/\1/p' "$work/stdout")
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    fail "$program does not report 'serving EPCIS 2.0 at URL'"
  elif [ -n "$tls" ]; then
    command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$work/tls/ca.crt" \
      --cert "$work/tls/client.crt" --key "$work/tls/client.key" "$url/capture/none" || true)
    case $url:$code in
      https://*:[1-5][0-9][0-9]) echo "ok   EPCIS HTTP port answers over mutual TLS ($url: $code)" ;;
      *) fail "EPCIS HTTP port over mutual TLS: $url answered '$code'" ;;
    esac
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$work/tls/ca.crt" \
      "$url/capture/none" || true)
    if [ "$code" = 000 ]; then
      echo "ok   EPCIS HTTP port refuses a client without a certificate"
    else
      fail "EPCIS HTTP port without a client certificate answered $code"
    fi
  else
    echo "ok   EPCIS HTTP port at $url"
  fi
fi
health_port=""
if [ -n "$health" ]; then
  health_port=$(sed -n 's/.*plain-text health on port \([0-9]*\).*/\1/p' "$work/stdout")
  if [ -n "$health_port" ]; then echo "ok   health port $health_port"; else fail "$program reports no health port"; fi
fi
if [ -n "$lodectl" ]; then
  ctl=("$lodectl" --deadline_ms=5000)
  if [ -n "$tls" ]; then
    if "${ctl[@]}" --server="127.0.0.1:$started" --tls_ca="$work/tls/ca.crt" \
      --tls_cert="$work/tls/client.crt" --tls_key="$work/tls/client.key" health >"$work/ctl" 2>&1; then
      echo "ok   gRPC port answers over mutual TLS: $(cat "$work/ctl")"
    else
      fail "gRPC port over mutual TLS:"; cat "$work/ctl"
    fi
    rc=0
    "${ctl[@]}" --server="127.0.0.1:$started" health >"$work/ctl" 2>&1 || rc=$?
    if [ "$rc" = 3 ]; then  # lodectl: server unreachable
      echo "ok   gRPC port refuses plain text"
    else
      fail "gRPC port in plain text: lodectl exit $rc (want 3):"; cat "$work/ctl"
    fi
  fi
  # A planned --backup_dir that the program does not define yet (its --helpfull lists it once
  # it does): the calls would be refused, so they wait for it.
  if [ -n "$backups" ] && [[ " ${tolerated[*]} " == *" backup_dir "* ]] &&
     ! { "$bin" --helpfull 2>/dev/null || true; } | grep -q -- '^ *--backup_dir '; then
    echo "backup calls not run: --backup_dir is planned, not yet in $program"
  elif [ -n "$backups" ]; then
    [ -s "$work/backup.calls" ] || fail "--backup_dir is rendered but no backup CronJob call names this pod"
    if [ -f "$work/tls/admin.crt" ]; then
      mkdir -p "$work/client-tls"
      cp "$work/tls/ca.crt" "$work/client-tls/ca.crt"
      cp "$work/tls/admin.crt" "$work/client-tls/tls.crt"
      cp "$work/tls/admin.key" "$work/client-tls/tls.key"
    fi
    while IFS=$'\t' read -r -a call; do
      for i in "${!call[@]}"; do
        case ${call[$i]} in
          --server=*) call[i]=--server=127.0.0.1:$started ;;
          *=$tls_mount/*) call[i]=${call[$i]/=$tls_mount\//=$work/tls/} ;;
          *=/etc/lodestone/client-tls/*) call[i]=${call[$i]/=\/etc\/lodestone\/client-tls\//=$work/client-tls/} ;;
        esac
      done
      if "$lodectl" "${call[@]}" >"$work/ctl" 2>&1 && grep -Eq '^(views )?backup [0-9]+: ' "$work/ctl"; then
        echo "ok   backup CronJob call lodectl ${call[*]}: $(cat "$work/ctl")"
      else
        fail "backup CronJob call lodectl ${call[*]}:"; cat "$work/ctl"
      fi
    done <"$work/backup.calls"
    # Each store's backup directory (the embedded server keeps ledger/ and provenance/).
    listed=0
    for dir in "$work/backups" "$work/backups/ledger" "$work/backups/provenance"; do
      [ -d "$dir/meta" ] || continue
      if "$lodectl" backups "$dir" >"$work/ctl" 2>&1 && grep -Eq '^(views )?backup 1: ' "$work/ctl"; then
        echo "ok   ${dir#"$work/"}: $(head -1 "$work/ctl")"
        listed=$((listed + 1))
      else
        fail "lodectl backups ${dir#"$work/"}:"; cat "$work/ctl"
      fi
    done
    want=$(wc -l <"$work/backup.calls")
    [ "$listed" = "$want" ] || fail "$listed backup directories list a backup, want $want (one per call)"
  fi
  if [ -n "$health_port" ]; then
    if "${ctl[@]}" --server="127.0.0.1:$health_port" health >"$work/ctl" 2>&1; then
      echo "ok   health port answers in plain text: $(cat "$work/ctl")"
    else
      fail "health port:"; cat "$work/ctl"
    fi
  fi
fi

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "FAIL $program exited $status after SIGTERM"; cat "$work/stderr"; exit 1; }
[ "$problems" = 0 ] || { cat "$work/stdout" "$work/stderr"; exit 1; }
echo "ok: $program accepts the chart's flags"
