#!/usr/bin/env bash
# Starts a Lodestone program on free loopback ports with a temporary data directory, waits
# (bounded polling) for its line "<program>: serving gRPC on port N, metrics on port M", then
# lints its live /metrics with `promtool check metrics`, checks that the expected metric
# families are there, and that SIGTERM makes it exit 0.
# With --ledger=LEDGER_BINARY, a ledger is started first (same way) and the program gets
# --ledger_address=127.0.0.1:<its gRPC port> (for programs that follow a ledger).
#   usage: check_live_metrics.sh PROGRAM_BINARY [--expect=METRIC ...] [--ledger=LEDGER_BINARY]
#                                [-- EXTRA_PROGRAM_FLAGS...]
set -euo pipefail
bin=${1:?usage: check_live_metrics.sh PROGRAM_BINARY [--expect=METRIC ...] [--ledger=BIN] [-- FLAGS...]}
shift
expected=()
ledger=""
while [ $# -gt 0 ]; do
  case $1 in
    --expect=*) expected+=("${1#--expect=}"); shift ;;
    --ledger=*) ledger=${1#--ledger=}; shift ;;
    --) shift; break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v promtool >/dev/null || { echo "promtool is missing (Debian package: prometheus)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
program=$(basename "$bin")
# lodestone-server serves EPCIS on 127.0.0.1:7480 by default: a free port here instead.
http_flag=(); [ "$program" = lodestone-server ] && http_flag=(--http_listen=127.0.0.1:0)
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-metrics-XXXXXX")
pid=""
ledger_pid=""
cleanup() { stop_pids "$pid" "$ledger_pid"; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "$ledger" ]; then
  start_ledger "$ledger" "$work"
  [ -n "$ledger_port" ] || { echo "FAIL the ledger did not start"; exit 1; }
  echo "ledger on port $ledger_port"
  set -- "$@" --ledger_address="127.0.0.1:$ledger_port"
fi

# The data directory exists and is empty, as a freshly mounted volume.
mkdir "$work/data"
# The output files exist before the program starts (the redirections happen in the child).
: >"$work/stdout"; : >"$work/stderr"
"$bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 "${http_flag[@]}" --data_dir="$work/data" "$@" \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
metrics_port=""
read -r _ metrics_port < <(wait_ports "$work/stdout" "$pid") || true
if [ -z "$metrics_port" ]; then
  echo "FAIL $program printed no port line"; cat "$work/stdout" "$work/stderr"; exit 1
fi
echo "$program: metrics on port $metrics_port"

curl -sS --fail --max-time 10 "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt"
echo "== promtool check metrics ($(grep -c '^# TYPE' "$work/metrics.txt") families)"
promtool check metrics <"$work/metrics.txt"

problems=0
for metric in "${expected[@]}"; do
  grep -q "^# TYPE $metric " "$work/metrics.txt" || { echo "FAIL $program does not export $metric"; problems=$((problems + 1)); }
done

echo "== SIGTERM"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "FAIL $program exited $status after SIGTERM"; cat "$work/stderr"; problems=$((problems + 1)); }
[ "$problems" = 0 ] || exit 1
echo "ok: $program serves lint-clean metrics (${#expected[@]} expected families present) and exits 0 on SIGTERM"
