#!/usr/bin/env bash
# `make bench`: starts a ledger with durable (synced) commits on a temporary data directory,
# drives it with lodestone-loadgen, then fills the log and reports on-disk bytes per event and
# the ledger's resident memory. Prints figures; asserts nothing.
#   BENCH_SECONDS  seconds per scenario (default 5)
#   BENCH_FILL     events in the log before measuring size and RSS (default 10000000)
set -euo pipefail
build=${1:-build}
seconds=${BENCH_SECONDS:-5}
fill=${BENCH_FILL:-10000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-bench-XXXXXX")
out="$work/ledger.out"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$build/services/ledger/lodestone-ledger" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 \
  --data_dir="$work/ledger" >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  grep -q 'serving gRPC on port' "$out" && break
  sleep 0.1
done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$out")
metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { cat "$out"; exit 1; }
echo "== ledger on port $port (pid $pid), durable appends (fsync per commit group), $(nproc) cores"

"$build/services/loadgen/lodestone-loadgen" --target="127.0.0.1:$port" --seconds="$seconds" \
  --fill="$fill"

size=$(du -sb "$work/ledger" | cut -f1)
events=$("$build/services/loadgen/lodestone-loadgen" --target="127.0.0.1:$port" --head_only)
metric() { curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sst=$(metric lodestone_rocksdb_sst_bytes)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
per() { awk -v s="$1" -v e="$events" 'BEGIN { printf "%.0f", s / e }'; }
echo "== after fill: $events events; data dir $((size / 1048576)) MiB ($(per "$size") bytes/event," \
  "WAL and uncompacted levels included); live SST $(per "${sst%.*}") bytes/event;" \
  "ledger RSS $((rss_kb / 1024)) MiB (peak $((hwm_kb / 1024)) MiB)"
