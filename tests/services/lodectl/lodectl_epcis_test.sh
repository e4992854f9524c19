#!/bin/bash
# lodectl epcis import / export end to end against a real embedded server on port 0 (its HTTP
# port, the loopback administrator): a document captured in slices with progress; re-imported
# idempotently; a refusal named by file line, event index and JSON Pointer (the slices before it
# stay appended); malformed JSON named by line; a lot's history and a time range exported as
# EPCIS documents, the first imported again without appending anything.
# usage: lodectl_epcis_test.sh SERVER_BINARY LODECTL_BINARY
set -uo pipefail
server_bin=$1
lodectl=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-lodectl-epcis.XXXXXX")
source "$(dirname "$0")/lodectl_lib.sh"
start_server
for _ in $(seq 1 100); do
  grep -q 'serving EPCIS 2.0 at' "$work/server.log" && break
  sleep 0.1
done
http_url=$(sed -n 's/.*serving EPCIS 2.0 at \(.*\)$/\1/p' "$work/server.log")
[ -n "$http_url" ] || { cat "$work/server.log"; echo "no HTTP port"; exit 1; }
ctl=("$lodectl" --server="127.0.0.1:$port" --http_server="$http_url" --progress=false)
size() { "${ctl[@]}" head | sed -n 's/^size //p'; }

cat >"$work/master.ndjson" <<'NDJSON'
{"eventId":"md-party","eventTime":"2025-01-08T09:00:00Z","subject":"party/au-miner","actor":"au-miner","partyRegistered":{"partyId":"au-miner","name":"AU miner","country":"AU"}}
{"eventId":"md-mine","eventTime":"2025-01-09T09:00:00Z","subject":"facility/au-mine","actor":"au-miner","facilityRegistered":{"facilityId":"au-mine","operatorPartyId":"au-miner","country":"AU","kind":"FACILITY_KIND_MINE","name":"AU mine"}}
{"eventId":"md-smelter","eventTime":"2025-01-09T09:00:00Z","subject":"facility/au-smelter","actor":"au-miner","facilityRegistered":{"facilityId":"au-smelter","operatorPartyId":"au-miner","country":"AU","kind":"FACILITY_KIND_SMELTER","name":"AU smelter"}}
NDJSON
expect "master data" 0 "3 accepted" -- "${ctl[@]}" append "$work/master.ndjson"

# event ID TIME LOT KG [UOM]: a commissioning at the mine.
event() {
  cat <<JSON
   {"type": "ObjectEvent", "eventID": "urn:uuid:b0000000-0000-4000-8000-00000000000$1",
    "eventTime": "$2", "eventTimeZoneOffset": "+00:00", "action": "ADD",
    "bizStep": "commissioning", "bizLocation": {"id": "urn:lodestone:facility:au-mine"},
    "quantityList": [
      {"epcClass": "urn:lodestone:lot:$3", "quantity": $4, "uom": "${5:-KGM}"}
    ],
    "ilmd": {"lodestone:material": "antimony_ore", "lodestone:hsCode": "261710"},
    "lodestone:actor": "urn:lodestone:party:au-miner"}
JSON
}
head_json='{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
              {"lodestone": "urn:lodestone:epcis:v1:"}],
 "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-10T10:00:00Z",
 "epcisBody": {"eventList": ['
{
  echo "$head_json"
  event 1 2026-01-05T10:00:00Z ore-a 2500
  echo ","
  event 2 2026-01-05T11:00:00Z ore-b 1000.5
  echo ","
  cat <<'JSON'
   {"type": "ObjectEvent", "eventID": "urn:uuid:b0000000-0000-4000-8000-000000000003",
    "eventTime": "2026-01-06T10:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
    "bizStep": "shipping", "epcList": [],
    "quantityList": [{"epcClass": "urn:lodestone:lot:ore-a", "quantity": 2.5, "uom": "TNE"}],
    "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:lodestone:shipment:sh-1"}],
    "sourceList": [{"type": "location", "source": "urn:lodestone:facility:au-mine"}],
    "destinationList": [{"type": "location", "destination": "urn:lodestone:facility:au-smelter"}],
    "lodestone:declaredOrigin": "AU", "lodestone:declaredHsCode": "261710",
    "lodestone:actor": "urn:lodestone:party:au-miner"},
   {"type": "ObjectEvent", "eventID": "urn:uuid:b0000000-0000-4000-8000-000000000004",
    "eventTime": "2026-01-08T10:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
    "bizStep": "receiving", "epcList": [],
    "bizLocation": {"id": "urn:lodestone:facility:au-smelter"},
    "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:lodestone:shipment:sh-1"}],
    "lodestone:actor": "urn:lodestone:party:au-miner"}
 ]}}
JSON
} >"$work/good.jsonld"

expect "import in slices of 2, progress on stderr" 0 "\[#+\] 4/4 EPCIS events" -- \
  "$lodectl" --server="127.0.0.1:$port" --http_server="$http_url" --batch_events=2 \
  epcis import "$work/good.jsonld"
after_good=$(size)
expect "the document's 4 events are in the ledger" 0 "^size 7$" -- "${ctl[@]}" head
expect "import again: idempotent" 0 "captured 4 EPCIS events as 4 Lodestone events" -- \
  "${ctl[@]}" epcis import "$work/good.jsonld"
expect "import again appended nothing" 0 "^size $after_good$" -- "${ctl[@]}" head

# Event 2 of 4 has a volume: its slice (the second) is refused, naming line, index and pointer.
{
  echo "$head_json"
  event 5 2026-02-01T10:00:00Z c-a 1
  echo ","
  event 6 2026-02-01T10:00:00Z c-b 1
  echo ","
  event 7 2026-02-01T10:00:00Z c-c 20 LTR
  echo ","
  event 8 2026-02-01T10:00:00Z c-d 1
  echo " ]}}"
} >"$work/bad.jsonld"
line=$(grep -n '"LTR"' "$work/bad.jsonld" | cut -d: -f1)
expect "a refused event: file line, event index, pointer, reason" 4 \
  "bad.jsonld:$line: event 2: /epcisBody/eventList/2/quantityList/0: mapping: .*LTR" -- \
  "${ctl[@]}" --batch_events=2 epcis import "$work/bad.jsonld"
expect "the slice before the refusal stays appended" 0 "^size $((after_good + 2))$" -- \
  "${ctl[@]}" head
printf '{"type": "EPCISDocument",\n "epcisBody": {"eventList": [\n  {"type": ]}}\n' \
  >"$work/malformed.jsonld"
expect "malformed JSON: its line" 4 "malformed.jsonld:3: malformed JSON" -- \
  "${ctl[@]}" epcis import "$work/malformed.jsonld"
echo '{"type": "EPCISDocument", "epcisBody": {}}' >"$work/empty.jsonld"
expect "not a document" 4 "no /epcisBody/eventList" -- \
  "${ctl[@]}" epcis import "$work/empty.jsonld"

# A lot's history: its commissioning and its shipment.
expect "export a lot's history" 0 "wrote 2 EPCIS events" -- \
  "${ctl[@]}" epcis export --lot=ore-a --out="$work/ore-a.jsonld"
grep -q '"eventID": "urn:uuid:b0000000-0000-4000-8000-000000000003"' "$work/ore-a.jsonld"
expect_rc=$?
checks=$((checks + 1))
[ $expect_rc = 0 ] && echo "ok   the export holds the shipment" || {
  failures=$((failures + 1))
  echo "FAIL the export holds the shipment"
  cat "$work/ore-a.jsonld"
}
before=$(size)
expect "the exported history imports again" 0 "captured 2 EPCIS events as 2 Lodestone events" -- \
  "${ctl[@]}" epcis import "$work/ore-a.jsonld"
expect "... appending nothing" 0 "^size $before$" -- "${ctl[@]}" head
expect "export a time range to stdout" 0 '"bizStep": "receiving"' -- \
  "${ctl[@]}" epcis export --from=2026-01-06 --to=2026-01-09
range=$("${ctl[@]}" epcis export --from=2026-01-06 --to=2026-01-09 | grep -c '"eventID"')
checks=$((checks + 1))
[ "$range" = 2 ] && echo "ok   the range holds the shipping and the receiving" || {
  failures=$((failures + 1))
  echo "FAIL the range holds $range events, not 2"
}
expect "usage" 2 "epcis import FILE" -- "${ctl[@]}" epcis
expect "an unreachable HTTP port" 3 "epcis export: http://127.0.0.1:1" -- \
  "${ctl[@]}" --http_server=http://127.0.0.1:1 epcis export

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
