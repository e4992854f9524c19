#!/bin/bash
# What an operator does with the real programs: lodestone-server with --backup_dir backs up its
# ledger and its views online (lodectl backup, backup views), both are restored into a new data
# directory with lodectl restore and a server started on it answers as the original; the
# programs' exit codes (docs/operations.md, "Exit codes"); lodestone-provenance serves the
# console (--http_listen) without a ledger of its own.
# usage: operations_test.sh SERVER_BINARY LEDGER_BINARY PROVENANCE_BINARY LODECTL_BINARY DEMO_NDJSON
set -uo pipefail
server_bin=$1
ledger_bin=$2
provenance_bin=$3
lodectl=$4
demo=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-operations.XXXXXX")
failures=0
checks=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME CONDITION-RESULT(0/1) DETAIL
  checks=$((checks + 1))
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; failures=$((failures + 1)); fi
}

# wait_for LOG PATTERN PID: until the program logs PATTERN (or exits).
wait_for() {
  for _ in $(seq 1 300); do
    grep -q "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
grpc_port_of() { sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$1" | head -1; }

# start_server NAME DATA_DIR ARGS...: sets port.
start_server() {
  local name=$1 data=$2
  shift 2
  "$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen= \
    --data_dir="$data" --sync=false --late_after=87600h "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$work/$name.log" 'serving gRPC on port' "${pids[-1]}" ||
    { cat "$work/$name.log"; echo "FAIL $name did not start"; exit 1; }
  port=$(grpc_port_of "$work/$name.log")
}
stop_last() {
  kill -TERM "${pids[-1]}" 2>/dev/null
  wait "${pids[-1]}" 2>/dev/null
  unset 'pids[-1]'
}
ctl() { "$lodectl" --server=127.0.0.1:"$port" "$@"; }

# --- Backups of a running server, restored into a new data directory.
start_server original "$work/data" --backup_dir="$work/backups"
ctl --progress=false append "$demo" >"$work/append.out" 2>&1
check "demo appended" $? "$(tail -3 "$work/append.out")"
size=$(ctl head | sed -n 's/^size //p')
ctl --min_position="$size" lot sb-bo-ore-2407 >"$work/lot.before" 2>&1
check "lot answered before the backup" $? "$(cat "$work/lot.before")"
ctl backup >"$work/backup.out" 2>&1
check "lodectl backup (the ledger)" $? "$(cat "$work/backup.out")"
grep -q "^backup 1: at least $size events" "$work/backup.out"
check "the ledger's backup holds every event" $? "$(cat "$work/backup.out")"
ctl backup views >"$work/views.out" 2>&1
check "lodectl backup views" $? "$(cat "$work/views.out")"
grep -q "^views backup 1: at least $size events folded" "$work/views.out"
check "the views' backup holds every folded event" $? "$(cat "$work/views.out")"
ctl backup nonsense >/dev/null 2>&1
check "lodectl backup with a bad argument is a usage error" "$([ $? = 2 ]; echo $?)" ""
"$lodectl" backups "$work/backups/provenance" >"$work/list.out" 2>&1
grep -q "^views backup 1: at least $size events folded" "$work/list.out"
check "lodectl backups tells a views backup" $? "$(cat "$work/list.out")"
stop_last

"$lodectl" restore "$work/backups/ledger" "$work/restored/ledger" >"$work/restore.out" 2>&1
check "lodectl restore (the ledger, verified)" $? "$(cat "$work/restore.out")"
"$lodectl" restore "$work/backups/provenance" "$work/restored/provenance" >"$work/restore-v.out" 2>&1
check "lodectl restore (the views)" $? "$(cat "$work/restore-v.out")"
grep -q "restored views backup 1 .* at least $size events folded" "$work/restore-v.out"
check "the views restore says their checkpoint" $? "$(cat "$work/restore-v.out")"
"$lodectl" restore "$work/backups/provenance" "$work/restored/provenance" >/dev/null 2>&1
check "a restore never overwrites (exit 4)" "$([ $? = 4 ]; echo $?)" ""

start_server restored "$work/restored"
grep -q "log size $size" "$work/restored.log"
check "the restored server opens at the backed-up size" $? "$(cat "$work/restored.log")"
ctl --min_position="$size" lot sb-bo-ore-2407 >"$work/lot.after" 2>&1
cmp -s "$work/lot.before" "$work/lot.after"
check "the restored server answers as the original" $? "$(diff "$work/lot.before" "$work/lot.after")"
stop_last

# --- Exit codes.
"$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --http_max_body_mb=0 --data_dir="$work/bad" >"$work/bad.log" 2>&1
check "a bad flag exits 2" "$([ $? = 2 ]; echo $?)" "$(cat "$work/bad.log")"
# A damaged ledger (a table file cut short): DATA_LOSS at open, exit 4.
mkdir -p "$work/damaged"
cp -r "$work/restored/ledger" "$work/damaged/ledger"
damaged_files=0
for f in "$work"/damaged/ledger/*.sst "$work"/damaged/ledger/*.log; do
  [ -s "$f" ] || continue
  size_f=$(stat -c %s "$f")
  [ "$size_f" -gt 200 ] || continue
  if [[ "$f" == *.sst ]]; then
    truncate -s $((size_f / 2)) "$f"  # RocksDB checks table sizes against its manifest at open
  else
    printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$f" bs=1 seek=$((size_f / 2)) conv=notrunc 2>/dev/null
  fi
  damaged_files=$((damaged_files + 1))
done
check "a ledger file to damage" "$([ "$damaged_files" -gt 0 ]; echo $?)" ""
"$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen= \
  --data_dir="$work/damaged" >"$work/damaged.log" 2>&1 &
pids+=($!)
damaged_pid=${pids[-1]}
# It must refuse to start; if it starts (the damage was in bytes never read), stop it.
if wait_for "$work/damaged.log" 'serving gRPC on port' "$damaged_pid"; then
  kill -TERM "$damaged_pid"; wait "$damaged_pid"; damaged_exit=started
else
  wait "$damaged_pid"; damaged_exit=$?
fi
unset 'pids[-1]'
check "a damaged ledger exits 4 (restore a backup)" "$([ "$damaged_exit" = 4 ]; echo $?)" \
  "exit $damaged_exit: $(tail -3 "$work/damaged.log")"

# --- lodestone-provenance serves the console over HTTP, following a ledger.
"$ledger_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen= \
  --data_dir="$work/ledger-only" --sync=false >"$work/ledger.log" 2>&1 &
pids+=($!)
wait_for "$work/ledger.log" 'serving gRPC on port' "${pids[-1]}" ||
  { cat "$work/ledger.log"; echo "FAIL lodestone-ledger did not start"; exit 1; }
ledger_port=$(grpc_port_of "$work/ledger.log")
"$provenance_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --ledger_address=127.0.0.1:"$ledger_port" --data_dir="$work/views-only" \
  --backup_dir="$work/views-backups" >"$work/provenance.log" 2>&1 &
pids+=($!)
wait_for "$work/provenance.log" 'serving the console at' "${pids[-1]}" ||
  { cat "$work/provenance.log"; echo "FAIL lodestone-provenance did not start"; exit 1; }
console_url=$(sed -n 's/.*serving the console at \(.*\)$/\1/p' "$work/provenance.log")
base=${console_url%/console/}
curl -sf "$console_url" -o "$work/index.html"
check "lodestone-provenance serves the console" "$(grep -qi '<html' "$work/index.html"; echo $?)" "$console_url"
info=$(curl -sf "$base/api/info")
check "its /api/info: no ledger here" "$(echo "$info" | grep -q '"ledger": *false'; echo $?)" "$info"
check "its /api/info names the service" "$(echo "$info" | grep -q 'lodestone-provenance'; echo $?)" "$info"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"lotId":"nope"}' "$base/api/provenance/GetLot")
check "an unknown lot is 404 there" "$([ "$status" = 404 ]; echo $?)" "status $status"
provenance_port=$(grpc_port_of "$work/provenance.log")
"$lodectl" --server=127.0.0.1:"$provenance_port" backup views >"$work/pv.out" 2>&1
check "lodestone-provenance --backup_dir: backup views" $? "$(cat "$work/pv.out")"

echo "$checks checks, $failures failed"
[ "$failures" = 0 ]
