#!/bin/bash
# Starts a real ledger and provenance service on free ports, runs docs/examples/partner_client.py
# against them with Debian's Python, and stops them. Fails when the Python gRPC packages or
# protoc's Python plugin are missing (make deps installs them).
#
# usage: run_partner_client_test.sh LEDGER_BINARY PROVENANCE_BINARY PARTNER_CLIENT_PY
set -euo pipefail

ledger_bin=$1
provenance_bin=$2
client=$3
python=${LODESTONE_PYTHON:-/usr/bin/python3}
startup_polls=300 # 0.1 s each: 30 s for a server to print its port line

if ! "$python" -c 'import grpc, google.protobuf' 2>/dev/null ||
  ! command -v protoc >/dev/null || ! command -v grpc_python_plugin >/dev/null; then
  echo "FAIL: needs python3-grpcio, python3-protobuf, protobuf-compiler, protobuf-compiler-grpc"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-partner-client.XXXXXX")
pids=()

stop() { # SIGTERM each server, newest first; SIGKILL what has not exited after 10 s
  local pid i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  local status=$?
  stop
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log"; cat "$log"; }; done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# Waits (bounded) for "<name>: serving gRPC on port N" in a server's log and prints N.
grpc_port() {
  local name=$1 log=$2 pid=$3 port
  for _ in $(seq "$startup_polls"); do
    port=$(sed -n "s/^$name: serving gRPC on port \([0-9][0-9]*\),.*/\1/p" "$log")
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "FAIL: $name exited during startup" >&2; return 1; fi
    sleep 0.1
  done
  echo "FAIL: $name printed no port line within $((startup_polls / 10)) s" >&2
  return 1
}

"$ledger_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/ledger" \
  >"$work/ledger.log" 2>&1 &
pids+=($!)
ledger_port=$(grpc_port lodestone-ledger "$work/ledger.log" "${pids[-1]}")

"$provenance_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/provenance" \
  --ledger_address="127.0.0.1:$ledger_port" >"$work/provenance.log" 2>&1 &
pids+=($!)
provenance_port=$(grpc_port lodestone-provenance "$work/provenance.log" "${pids[-1]}")

"$python" "$client" --ledger "127.0.0.1:$ledger_port" --provenance "127.0.0.1:$provenance_port" \
  | tee "$work/client.out"
grep -q "customs origin: AU" "$work/client.out"
# A second run appends fresh ids against the same ledger: re-running is always safe.
"$python" "$client" --ledger "127.0.0.1:$ledger_port" --provenance "127.0.0.1:$provenance_port" \
  >"$work/client2.out"
grep -q "position 6 " "$work/client2.out" # the second run's first event follows the first run's six
echo "PASS: python_partner_client_test"
