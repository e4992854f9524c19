#!/usr/bin/env bash
# `make run`: start the embedded server on DATA_DIR, load the demo data set (idempotent: a
# second run finds it already there), print the traces and verdicts of the demo's shipments
# bound for the US, then keep serving until Ctrl-C.
#   LISTEN, METRICS_LISTEN, HTTP_LISTEN   addresses (default 127.0.0.1:7400, 127.0.0.1:9400 and
#                            127.0.0.1:7480: the EPCIS 2.0 REST binding and the console)
#   TLS_LISTEN               the mutual-TLS port the demo's parties append on (127.0.0.1:7443)
#   LATE_AFTER               the server's --late_after (87600h: the demo is 2024-2026 history
#                            recorded today, a backfill; 168h judges it as late, docs/demo.md)
#   ATTESTERS=1              also print who attested each fact of the demo (proven, signed)
#   RUN_EXIT_AFTER_DEMO=1    stop after printing (used by the smoke test)
set -euo pipefail
build=${1:-build}
data=${2:-data}
listen=${LISTEN:-127.0.0.1:7400}
metrics=${METRICS_LISTEN:-127.0.0.1:9400}
http=${HTTP_LISTEN:-127.0.0.1:7480}
here=$(cd "$(dirname "$0")/.." && pwd)
demo="$here/services/programs/server/demo/demo.ndjson"
# Throwaway demo credentials (services/programs/server/demo/credentials/README.md).
credentials="$here/services/programs/server/demo/credentials"
tls_listen=${TLS_LISTEN:-127.0.0.1:7443}
lodectl="$build/services/lodectl/lodectl"
mkdir -p "$data"
log="$data/server.log"

"$build/services/programs/server/lodestone-server" --listen="$listen" --metrics_listen="$metrics" \
  --http_listen="$http" --data_dir="$data" --late_after="${LATE_AFTER:-87600h}" \
  --tls_listen="$tls_listen" --tls_cert="$credentials/server.crt" \
  --tls_key="$credentials/server.key" --tls_ca="$credentials/ca.crt" >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM
for _ in $(seq 1 300); do
  grep -q 'serving EPCIS 2.0 at' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "lodestone-server did not start"; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$log")
metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$log")
tls_port=$(sed -n 's/.*on TLS port \([0-9]*\).*/\1/p' "$log")
epcis_url=$(sed -n 's/.*serving EPCIS 2.0 at \(.*\)$/\1/p' "$log")
[ -n "$port" ] && [ -n "$tls_port" ] || { cat "$log"; exit 1; }
server_address="127.0.0.1:$port"
ctl() { "$lodectl" --server="$server_address" "$@"; }

echo "== Lodestone embedded server on $server_address, data in $data"
echo "== loading the demo data set (docs/demo.md tells its stories), each fact appended and signed"
echo "   by its own party over mutual TLS on 127.0.0.1:$tls_port (throwaway demo credentials)"
/usr/bin/python3 "$here/services/programs/server/demo/load_demo.py" "$lodectl" "$server_address" \
  "127.0.0.1:$tls_port" "$credentials" "$demo"
size=$(ctl head | sed -n 's/^size //p')
today=$(date -u +%F)

# The demo's shipments bound for the US: dispatched to a facility in the US.
us_shipments=$(/usr/bin/python3 - "$demo" <<'PY'
import json, sys
facilities, shipments = {}, []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "facilityRegistered" in e:
        f = e["facilityRegistered"]; facilities[f["facilityId"]] = f["country"]
    if "shipmentDispatched" in e:
        s = e["shipmentDispatched"]
        if facilities.get(s["toFacilityId"]) == "US": shipments.append(s["shipmentId"])
print(" ".join(shipments))
PY
)
echo
echo "== shipments bound for the US: declared versus traced origin, flags"
ctl --min_position="$size" shipment $us_shipments
for shipment in $us_shipments; do
  echo
  echo "== compliance of $shipment as of $today"
  ctl --min_position="$size" check shipment "$shipment" --as_of="$today" || true
done
echo
echo "== the NdFeB magnet separated in China, under DFARS as of 2027-01-02"
ctl --min_position="$size" check lot ndfeb-jp-magnet-2025a --rule_set=dfars --as_of=2027-01-02 || true
if [ "${ATTESTERS:-0}" = 1 ]; then
  echo
  echo "== who attested each fact: inclusion proven against the head, signature checked on this side"
  ctl head --json >"$data/head.json"
  ids=$(/usr/bin/python3 -c 'import json,sys
for line in open(sys.argv[1]): print(json.loads(line)["eventId"])' "$demo")
  for id in $ids; do
    proof=$(ctl verify event "$id" --head_file="$data/head.json") || { echo "FAIL $id"; continue; }
    what=$(sed -n 's/^    \([a-z_]*\) on .*, actor \([^,]*\), committed.*/\1 by actor \2/p' <<<"$proof")
    who=$(sed -n -e 's/^OK  signed by \([^ ]*\) with key \([0-9a-f]*\).*/signed by \1 (key \2, verified)/p' \
      -e 's/^    attested by \([^ ]*\) (unsigned.*/attested by \1, unsigned/p' <<<"$proof")
    printf '  %-28s %-50s %s\n' "$id" "$what" "$who"
  done
fi
echo
echo "Lodestone is serving both services on $server_address (metrics: http://127.0.0.1:$metrics_port/metrics)."
echo "EPCIS 2.0 capture: POST $epcis_url/capture (application/ld+json; docs/epcis.md)"
echo "Compliance console: $epcis_url/console/ (docs/console.md)"
echo "Try:  $lodectl --server=$server_address trace sb-th-bagged-2412-a"
echo "      $lodectl --server=$server_address flags"
echo "      $lodectl --server=$server_address check lot ndfeb-jp-magnet-2025a --as_of=2026-12-01"
if [ "${RUN_EXIT_AFTER_DEMO:-0}" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop."
wait "$server"
