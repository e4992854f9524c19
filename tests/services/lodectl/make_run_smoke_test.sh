#!/bin/bash
# Runs ops/run.sh (what `make run` runs) on free ports and a temporary data directory, twice,
# and checks that the demo's US-bound shipments are printed with their verdicts.
# usage: make_run_smoke_test.sh RUN_SH BUILD_DIR
set -uo pipefail
run=$1
build=$2
data=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-run.XXXXXX")
trap 'rm -rf "$data"' EXIT
export LISTEN=127.0.0.1:0 METRICS_LISTEN=127.0.0.1:0 TLS_LISTEN=127.0.0.1:0 HTTP_LISTEN=127.0.0.1:0 RUN_EXIT_AFTER_DEMO=1
failures=0
check() {
  if grep -Eq -- "$2" <<<"$out"; then echo "ok   $1"; else echo "FAIL $1: no /$2/"; failures=$((failures + 1)); fi
}
out=$("$run" "$build" "$data" 2>&1)
rc=$?
[ "$rc" = 0 ] || { echo "$out"; echo "FAIL first run exited $rc"; exit 1; }
# 119 demo facts, 2 set-up events (the CN licensing authority) and 20 signing keys.
check "demo loaded" "demo: 141 accepted, 0 duplicate, in [0-9]+ batches by 19 callers; 78 events signed"
check "rebagged shipment traced to CN" "shipment shp-sb-th-us-2412: .*-> us-tx-sb-wh \(US\)"
check "declared versus traced" "declared origin TH, traced customs origin CN   <-- MISMATCH"
check "transshipment flag" "FLAG transshipment/transshipment-declared-origin"
check "mexican oxide is clean" "declared origin MX, traced customs origin MX$"
check "DFARS verdict for the CN-separated magnet" "FAIL +dfars/dfars-all-stages"
check "where to query" "Lodestone is serving both services on 127.0.0.1:[0-9]+"
check "the EPCIS URL" "EPCIS 2.0 capture: POST http://127.0.0.1:[0-9]+/capture"
check "the console URL" "Compliance console: http://127.0.0.1:[0-9]+/console/"
out=$(ATTESTERS=1 "$run" "$build" "$data" 2>&1)
rc=$?
[ "$rc" = 0 ] || { echo "$out"; echo "FAIL second run exited $rc"; exit 1; }
check "second run reuses the data" "demo: 0 accepted, 141 duplicate"
check "an arrival attested and signed by the importer" "demo-ndcn-013 +shipment_arrived by actor us-defense-prime +signed by us-defense-prime \(key [0-9a-f]{32}, verified\)"
check "a licence signed by the authority" "demo-mx-005 +export_licence_granted by actor cn-mofcom +signed by cn-mofcom \(key"
check "registrations attested by the administrator" "demo-setup-001 +party_registered by actor cn-hsn-antimony +attested by lodestone-admin, unsigned"
if grep -q '^FAIL ' <<<"$out"; then echo "FAIL a demo event did not verify"; failures=$((failures + 1)); fi
[ "$failures" = 0 ] || echo "$out"
echo "$((13 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
