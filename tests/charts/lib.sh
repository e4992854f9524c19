# shellcheck shell=bash
# Shared by the chart tests' scripts (sourced).

# wait_ports FILE PID: waits (bounded: at most 30 s) until FILE, the stdout of PID, has the line
# "...: serving gRPC on port N, metrics on port M..." and prints "N M"; prints an empty line if
# PID exits or the time runs out.
wait_ports() {
  local file=$1 pid=$2 ports=""
  for _ in $(seq 1 300); do
    ports=$(sed -n 's/.*serving gRPC on port \([0-9]*\), metrics on port \([0-9]*\).*/\1 \2/p' "$file")
    [ -n "$ports" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$ports"
}

# start_ledger LEDGER_BINARY WORK_DIR: starts a ledger on free loopback ports with its data in
# WORK_DIR/ledger-data; sets ledger_pid and ledger_port (empty if it did not start).
start_ledger() {
  local bin=$1 dir=$2
  : >"$dir/ledger.stdout"; : >"$dir/ledger.stderr"
  "$bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$dir/ledger-data" \
    >"$dir/ledger.stdout" 2>"$dir/ledger.stderr" &
  ledger_pid=$!
  ledger_port=""
  read -r ledger_port _ < <(wait_ports "$dir/ledger.stdout" "$ledger_pid") || true
  if [ -z "$ledger_port" ]; then cat "$dir/ledger.stdout" "$dir/ledger.stderr"; fi
}

# stop_pids PID...: kills what is still running and reaps it.
stop_pids() {
  local p
  for p in "$@"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
}
