#!/bin/bash
# Backup and restore end to end: a real lodestone-ledger on port 0 with --backup_dir; the demo
# appended, `lodectl backup` while more events are being appended, `lodectl restore` into a new
# directory (verified there), a ledger started on it: the head saved before the backup is a
# prefix of it (`lodectl verify`: consistency proof), so every event acknowledged before the
# backup is there. Refusals: restore over an existing directory, a missing backup, a damaged one.
# usage: backup_restore_test.sh LEDGER_BINARY LODECTL_BINARY DEMO_NDJSON
set -uo pipefail
ledger_bin=$1
lodectl=$2
demo=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-backup.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME DATA_DIR [FLAGS...]: a ledger on free ports; sets $port and $pid.
start() {
  local name=$1 data=$2
  shift 2
  "$ledger_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$data" "$@" \
    >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    grep -q 'serving gRPC on port' "$work/$name.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/$name.log")
  [ -n "$port" ] || { cat "$work/$name.log"; echo "ledger did not start"; exit 1; }
}

source "$(dirname "$0")/expect.sh"

start origin "$work/data" --backup_dir="$work/backups" --backups_kept=3
ctl=("$lodectl" --server="127.0.0.1:$port" --progress=false --deadline_ms=60000)
expect "append demo" 0 "119 accepted" -- "${ctl[@]}" append "$demo"
expect "health SERVING" 0 "SERVING" -- "${ctl[@]}" health

# More events to append while the backup runs.
for i in $(seq 1 3000); do
  printf '{"eventId":"bk-party-%d","eventTime":"2024-02-01T00:00:00Z","subject":"party/bk-%d","actor":"lodestone-admin","partyRegistered":{"partyId":"bk-%d","name":"Backup test party %d","country":"AU"}}\n' \
    "$i" "$i" "$i" "$i"
done >"$work/more.ndjson"
"${ctl[@]}" --batch_events=10 append "$work/more.ndjson" >"$work/more.out" 2>&1 &
appender=$!
until [ "$("${ctl[@]}" head | sed -n 's/^size //p')" -gt 400 ]; do sleep 0.05; done
"${ctl[@]}" --json head >"$work/head.json"  # acknowledged before the backup begins
expect "backup while appending" 0 "^backup 1: at least [0-9]+ events, [0-9]+ bytes" -- \
  "${ctl[@]}" backup
wait "$appender" || { cat "$work/more.out"; failures=$((failures + 1)); }
expect "second backup (incremental)" 0 "^backup 2: " -- "${ctl[@]}" backup
expect "backups" 0 "^backup 2: at least [0-9]+ events" -- "$lodectl" backups "$work/backups"

expect "restore into a new directory" 0 "restored backup 1 into .*verified" -- \
  "$lodectl" --backup_id=1 restore "$work/backups" "$work/restored"
expect "restore over an existing directory" 4 "not empty" -- \
  "$lodectl" restore "$work/backups" "$work/data"
expect "restore a missing backup" 5 "no backup 9" -- \
  "$lodectl" --backup_id=9 restore "$work/backups" "$work/restored-9"

start restored "$work/restored"
restored_ctl=("$lodectl" --server="127.0.0.1:$port" --progress=false)
expect "the restored ledger extends the head saved before the backup" 0 "OK " -- \
  "${restored_ctl[@]}" --head_file="$work/head.json" verify
expect "the restored ledger takes appends" 0 "1 accepted" -- bash -c \
  "printf '%s\n' '{\"eventId\":\"after-restore\",\"eventTime\":\"2024-03-01T00:00:00Z\",\"subject\":\"party/after\",\"actor\":\"lodestone-admin\",\"partyRegistered\":{\"partyId\":\"after\",\"name\":\"After restore\",\"country\":\"AU\"}}' | \"$lodectl\" --server=127.0.0.1:$port --progress=false append -"

# A damaged backup file (a table file or write-ahead log): the restore refuses with exit 7
# (DATA_LOSS), never a log.
for f in $(find "$work/backups" -type f \( -name '*.sst' -o -name '*.log' \) -size +1k); do
  printf '\x55' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
done
expect "a damaged backup does not restore" 7 "" -- \
  "$lodectl" restore "$work/backups" "$work/restored-damaged"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all backup/restore checks passed"
