#!/usr/bin/env bash
# `make bench`: prints figures; asserts nothing. Three parts, each on fresh temporary data:
#  1. ledger: durable appends (fsync per commit group) driven by lodestone-loadgen, then a fill
#     to BENCH_FILL events for on-disk bytes per event and the ledger's RSS;
#  2. provenance: a generated supply-chain graph of BENCH_GRAPH_LOTS lots is appended to a
#     ledger, a fresh lodestone-provenance folds it (fold rate), then GetLot/TraceOrigin rates
#     against the ledger's Echo, trace latency by depth, and the provenance RSS;
#  3. import: the same graph as NDJSON through `lodectl append` into the embedded server, until
#     every event is queryable.
# Knobs: BENCH_SECONDS (per scenario, 5), BENCH_FILL (10000000), BENCH_GRAPH_LOTS (1000000),
#        BENCH_PARTS (default "ledger provenance import").
set -euo pipefail
build=${1:-build}
seconds=${BENCH_SECONDS:-5}
fill=${BENCH_FILL:-10000000}
graph_lots=${BENCH_GRAPH_LOTS:-1000000}
parts=${BENCH_PARTS:-ledger provenance import}
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-bench-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
loadgen="$build/services/loadgen/lodestone-loadgen"

# start NAME BINARY ARGS...: starts a program on free ports; sets $pid, $port, $metrics_port.
start() {
  local name=$1
  shift
  "$@" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 >"$work/$name.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    grep -q 'serving gRPC on port' "$work/$name.out" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/$name.out")
  metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$work/$name.out")
  [ -n "$port" ] || { cat "$work/$name.out"; exit 1; }
}
stop() { kill -TERM "$1" && wait "$1" 2>/dev/null || true; }
rss() { awk '/VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }
peak() { awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
per() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.0f", s / e }'; }

echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo)"

if [[ " $parts " == *" ledger "* ]]; then
  start ledger "$build/services/ledger/lodestone-ledger" --data_dir="$work/ledger"
  echo "== 1. ledger: durable appends (fsync per commit group)"
  "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --fill="$fill"
  size=$(du -sb "$work/ledger" | cut -f1)
  events=$("$loadgen" --target="127.0.0.1:$port" --head_only)
  sst=$(metric "$metrics_port" lodestone_rocksdb_sst_bytes)
  echo "== after fill: $events events; data dir $((size / 1048576)) MiB ($(per "$size" "$events")" \
    "bytes/event, WAL and uncompacted levels included); live SST $(per "${sst%.*}" "$events")" \
    "bytes/event; ledger RSS $(rss "$pid") (peak $(peak "$pid"))"
  stop "$pid"
  rm -rf "$work/ledger"
fi

if [[ " $parts " == *" provenance "* ]]; then
  echo "== 2. provenance: a generated graph of $graph_lots lots"
  start ledger2 "$build/services/ledger/lodestone-ledger" --data_dir="$work/ledger2"
  ledger_pid=$pid
  ledger_port=$port
  "$loadgen" --target="127.0.0.1:$ledger_port" --graph_lots="$graph_lots" --scenarios=
  start provenance "$build/services/provenance/lodestone-provenance" --data_dir="$work/views" \
    --ledger_address="127.0.0.1:$ledger_port"
  "$loadgen" --target="127.0.0.1:$ledger_port" --graph_lots="$graph_lots" \
    --provenance="127.0.0.1:$port" --seconds="$seconds"
  echo "== provenance RSS $(rss "$pid") (peak $(peak "$pid")); ledger RSS $(rss "$ledger_pid")"
  stop "$pid"
  stop "$ledger_pid"
  rm -rf "$work/ledger2" "$work/views"
fi

if [[ " $parts " == *" import "* ]]; then
  echo "== 3. import: lodectl append of the $graph_lots-lot graph into the embedded server"
  "$loadgen" --graph_lots="$graph_lots" --graph_ndjson="$work/graph.ndjson"
  start server "$build/services/server/lodestone-server" --data_dir="$work/server"
  lodectl=("$build/services/lodectl/lodectl" --server="127.0.0.1:$port" --progress=false)
  lines=$(wc -l <"$work/graph.ndjson")
  start_ns=$(date +%s%N)
  "${lodectl[@]}" append "$work/graph.ndjson"
  size=$("${lodectl[@]}" head | sed -n 's/^size //p')
  # Queryable: the views have folded everything (read-your-writes on the last lot).
  last_lot=$(tail -n 1 "$work/graph.ndjson" | sed -n 's/.*"lotId":"\([^"]*\)".*/\1/p' | tail -n 1)
  until "${lodectl[@]}" --min_position="$size" --deadline_ms=60000 lot "$last_lot" >/dev/null; do
    sleep 0.5
  done
  end_ns=$(date +%s%N)
  awk -v n="$lines" -v ns="$((end_ns - start_ns))" \
    'BEGIN { printf "== import: %d events appended and queryable in %.1f s: %.0f events/s end to end\n", n, ns / 1e9, n / (ns / 1e9) }'
  echo "== embedded server RSS $(rss "$pid") (peak $(peak "$pid"))"
  stop "$pid"
fi
