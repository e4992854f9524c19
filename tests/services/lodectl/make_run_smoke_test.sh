#!/bin/bash
# Runs ops/run.sh (what `make run` runs) on free ports and a temporary data directory, twice,
# and checks that the demo's US-bound shipments are printed with their verdicts.
# usage: make_run_smoke_test.sh RUN_SH BUILD_DIR
set -uo pipefail
run=$1
build=$2
data=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-run.XXXXXX")
trap 'rm -rf "$data"' EXIT
export LISTEN=127.0.0.1:0 METRICS_LISTEN=127.0.0.1:0 HTTP_LISTEN=127.0.0.1:0 RUN_EXIT_AFTER_DEMO=1
failures=0
check() {
  if grep -Eq -- "$2" <<<"$out"; then echo "ok   $1"; else echo "FAIL $1: no /$2/"; failures=$((failures + 1)); fi
}
out=$("$run" "$build" "$data" 2>&1)
rc=$?
[ "$rc" = 0 ] || { echo "$out"; echo "FAIL first run exited $rc"; exit 1; }
check "demo loaded" "119 accepted, 0 duplicate"
check "rebagged shipment traced to CN" "shipment shp-sb-th-us-2412: .*-> us-tx-sb-wh \(US\)"
check "declared versus traced" "declared origin TH, traced customs origin CN   <-- MISMATCH"
check "transshipment flag" "FLAG transshipment/transshipment-declared-origin"
check "mexican oxide is clean" "declared origin MX, traced customs origin MX$"
check "DFARS verdict for the CN-separated magnet" "FAIL +dfars/dfars-all-stages"
check "where to query" "Lodestone is serving both services on 127.0.0.1:[0-9]+"
check "the EPCIS URL" "EPCIS 2.0 capture: POST http://127.0.0.1:[0-9]+/capture"
out=$("$run" "$build" "$data" 2>&1)
rc=$?
[ "$rc" = 0 ] || { echo "$out"; echo "FAIL second run exited $rc"; exit 1; }
check "second run reuses the data" "0 accepted, 119 duplicate"
[ "$failures" = 0 ] || echo "$out"
echo "$((9 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
