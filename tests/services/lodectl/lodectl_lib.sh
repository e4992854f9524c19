#!/bin/bash
# Shared by the lodectl end-to-end tests (sourced): a real embedded server on port 0 and the
# expect check. The sourcing script sets server_bin and work (removed on exit) first.
server=""
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# start_server: starts "$server_bin" on loopback port 0 with its data in "$work/data"; sets
# server (its pid) and port.
start_server() {
  "$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --data_dir="$work/data" \
    --sync=false >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    grep -q 'serving gRPC on port' "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/server.log")
  [ -n "$port" ] || { cat "$work/server.log"; echo "server did not start"; exit 1; }
}

# expect NAME EXPECTED_RC PATTERN -- COMMAND... (and the $checks, $failures counters).
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"
