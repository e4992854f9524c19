#!/usr/bin/env bash
# Starts lodestone-server on DATA_DIR and writes the answers the golden data test compares
# (head, proofs, a signed event, origins, verdicts) into OUT_DIR, one file per question.
# Proofs are checked against TRUSTED_HEAD (a head.json recorded earlier), default this head.
# usage: golden_answers.sh BUILD_DIR DATA_DIR OUT_DIR [TRUSTED_HEAD]
set -euo pipefail
build=$1
data=$2
out=$3
trusted=${4:-$out/head.json}
mkdir -p "$out"
log=$(mktemp)
"$build/services/programs/server/lodestone-server" --listen=127.0.0.1:0 \
  --metrics_listen=127.0.0.1:0 --data_dir="$data" --sync=false >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  grep -q 'serving gRPC on port' "$log" && break
  kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$log")
ctl() { "$build/services/lodectl/lodectl" --server="127.0.0.1:$port" "$@"; }
size=$(ctl head | sed -n 's/^size //p')
ctl head >"$out/head.txt"
ctl head --json >"$out/head.json"
ctl verify --head_file="$trusted" --positions=0,70,$((size - 1)) >"$out/verify.txt"
ctl verify event demo-ndcn-013 --head_file="$trusted" >"$out/verify-event.txt"
ctl --min_position="$size" shipment shp-sb-th-us-2412 shp-magnet-jp-us-2510 >"$out/shipments.txt"
ctl --min_position="$size" trace sb-th-bagged-2412-a >"$out/trace.txt"
ctl --min_position="$size" check lot ndfeb-jp-magnet-2509 --rule_set=uflpa --as_of=2026-06-01 \
  >"$out/check.txt" || true
ctl --min_position="$size" flags >"$out/flags.txt"
