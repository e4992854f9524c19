#!/bin/bash
# lodectl time travel end to end (docs/time-travel.md) against a real embedded server on port 0:
# --at_position on every query and `history lot|shipment`, over the demo's own correction (the
# Malaysian extraction retracted at position 117 and declared again in Xinjiang at 118) and a
# retracted arrival appended here (position 119). Answers at an earlier position must differ
# from now exactly as the corrections imply, and equal what the server answered back then.
# usage: lodectl_time_travel_test.sh SERVER_BINARY LODECTL_BINARY DEMO_NDJSON
set -uo pipefail
server_bin=$1
lodectl=$2
demo=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-lodectl-tt.XXXXXX")
source "$(dirname "$0")/lodectl_lib.sh"
start_server

# same NAME EXPECTED ACTUAL: the two texts are equal.
same() {
  checks=$((checks + 1))
  if [ "$2" != "$3" ]; then
    failures=$((failures + 1))
    echo "FAIL $1:"
    diff <(echo "$2") <(echo "$3") | sed 's/^/    /'
  else
    echo "ok   $1"
  fi
}

# changes OLD NEW: the lines only in OLD ("-") and only in NEW ("+"), in order.
changes() {
  diff --old-line-format='-%L' --new-line-format='+%L' --unchanged-line-format='' \
    <(echo "$1") <(echo "$2")
}

# The history table's position column (rows only, newest first, on one line).
positions() { sed -n 's/^ *\([0-9][0-9]*\)  .*/\1/p' | tr '\n' ' '; }

ctl=("$lodectl" --server="127.0.0.1:$port" --progress=false)
magnet=ndfeb-jp-magnet-2509
shipment=shp-magnet-jp-us-2510

expect "append demo" 0 "119 accepted" -- "${ctl[@]}" append "$demo"
now=("${ctl[@]}" --min_position=119)

# What the server answers while the ledger has 119 events, kept to compare with later answers
# at --at_position=119.
lot_then=$("${now[@]}" lot $magnet)
shipment_then=$("${now[@]}" shipment $shipment)
lot_json_then=$("${now[@]}" --json lot $magnet | grep -v -e '"appliedPosition"' -e '"atPosition"')

# Before the demo's correction (the first 117 events: through the customs entry at 116) the
# magnet's rare earths were mined in Malaysia; now they are traced to Xinjiang. Exactly the
# mining, route and region lines and the position line differ.
lot_117=$("${now[@]}" --at_position=117 lot $magnet)
same "lot before the correction differs from now exactly in origin" "$(
  cat <<'EOF'
-  MINING      JP 68.0%, MY 31.1%, TR 0.9%
+  MINING      CN 31.1%, JP 68.0%, TR 0.9%
-  route:      JP PROCESSED 100.0%, JP STORED 31.1%, MY MINED 31.1%, MY PROCESSED 31.1%, MY STORED 31.1%, TR PROCESSED 0.9%, US STORED 100.0%, VN PROCESSED 31.1%, VN STORED 31.1%
-  regions:    JP-18 100.0%, MY-06 31.1%, US-AZ 100.0%, VN-HP 31.1%
-  (as the ledger stood after its first 117 events, positions 0..116; the views have folded 119)
+  route:      CN MINED 31.1%, JP PROCESSED 100.0%, JP STORED 31.1%, MY PROCESSED 31.1%, MY STORED 31.1%, TR PROCESSED 0.9%, US STORED 100.0%, VN PROCESSED 31.1%, VN STORED 31.1%
+  regions:    CN-XJ 31.1%, JP-18 100.0%, MY-06 31.1%, US-AZ 100.0%, VN-HP 31.1%
+  (views at ledger position 119)
EOF
)" "$(changes "$lot_117" "$lot_then")"
expect "lot at a position, --json names it" 0 '"atPosition": "117"' -- \
  "${now[@]}" --json --at_position=117 lot $magnet
expect "between retraction and re-declaration the origin is unknown" 0 "MINING +\?\? 31.1%" -- \
  "${now[@]}" --at_position=118 lot $magnet
expect "trace before the correction: the Malaysian mine" 0 "at my-pahang-re-mine \[MY\]" -- \
  "${now[@]}" --at_position=117 trace re-my-ore-2504
expect "trace now: the Xinjiang mine" 0 "at cn-xj-re-mine \[CN\]" -- "${now[@]}" trace re-my-ore-2504
expect "trace --dot names the position" 0 "// \(as the ledger stood after its first 117 events" -- \
  "${now[@]}" --at_position=117 --dot trace re-my-ore-2504
expect "downstream at a position" 0 "shipment $shipment .*after its first 117 events" -- \
  bash -c "$(printf '%q ' "${now[@]}") --at_position=117 downstream re-my-ore-2504 | tr '\n' ' '"
expect "downstream at a position before the magnet existed" 0 "^0$" -- \
  bash -c "$(printf '%q ' "${now[@]}") --at_position=100 downstream re-my-ore-2504 | grep -c $magnet; true"
expect "flags at a position" 0 "after its first 117 events" -- "${now[@]}" --at_position=117 flags
# UFLPA on the day of the customs entry: passed then, fails now; unknown in between.
expect "check before the correction passes" 0 "PASS +uflpa/uflpa-xinjiang-and-listed" -- \
  "${now[@]}" --at_position=117 --as_of=2025-11-01 --rule_set=uflpa check lot $magnet
expect "check between retraction and re-declaration: insufficient data" 0 \
  "INSUFFICIENT DATA +uflpa/uflpa-xinjiang-and-listed" -- \
  "${now[@]}" --at_position=118 --as_of=2025-11-01 --rule_set=uflpa check lot $magnet
expect "check now fails" 6 "FAIL +uflpa/uflpa-xinjiang-and-listed.*CN-XJ" -- \
  "${now[@]}" --as_of=2025-11-01 --rule_set=uflpa check lot $magnet
expect "check shipment at a position" 0 "PASS +uflpa" -- \
  "${now[@]}" --at_position=117 --as_of=2025-11-01 --rule_set=uflpa check shipment $shipment

# A retracted arrival (position 119): the magnet is in transit again and the shipment is
# dispatched, not arrived.
printf '%s\n' '{"eventId":"tt-retract-arrival","eventTime":"2026-03-02T09:00:00Z","subject":"shipment/shp-magnet-jp-us-2510","actor":"us-defense-prime","eventRetracted":{"retractedEventId":"demo-xj-012","reason":"RETRACTION_REASON_INCORRECT_DATA","note":"booked before the container cleared customs"}}' >"$work/retract.ndjson"
expect "retract the arrival" 0 "1 accepted" -- "${ctl[@]}" append "$work/retract.ndjson"
now=("${ctl[@]}" --min_position=120)
shipment_120=$("${now[@]}" shipment $shipment)
shipment_119=$("${now[@]}" --at_position=119 shipment $shipment)
same "shipment after the retracted arrival differs exactly in status" "$(
  cat <<'EOF'
-shipment shp-magnet-jp-us-2510: jp-fukui-magnet-plant (JP) -> us-az-defense-wh (US), arrived
+shipment shp-magnet-jp-us-2510: jp-fukui-magnet-plant (JP) -> us-az-defense-wh (US), dispatched
-  (as the ledger stood after its first 119 events, positions 0..118; the views have folded 120)
EOF
)" "$(changes "$shipment_119" "$shipment_120")"
expect "lot now: in transit again" 0 "IN_TRANSIT.*in transit on $shipment" -- \
  bash -c "$(printf '%q ' "${now[@]}") lot $magnet | tr '\n' ' '"
expect "exposure before the retracted arrival: 3 lots received" 6 \
  "received 3 lots, 37500000 g.*after its first 119 events" -- \
  bash -c "$(printf '%q ' "${now[@]}") --at_position=119 --from=2024-01-01 --to=2027-01-01 exposure us-defense-prime | tr '\n' ' '; exit \${PIPESTATUS[0]}"
expect "exposure now: the magnet was not received" 6 "received 2 lots, 30000000 g" -- \
  "${now[@]}" --from=2024-01-01 --to=2027-01-01 exposure us-defense-prime
# The answer at a past position is the answer the server gave when the ledger stood there.
same "lot at 119 equals the answer given at 119" "$(sed '$d' <<<"$lot_then")" \
  "$("${now[@]}" --at_position=119 lot $magnet | sed '$d')"
same "shipment at 119 equals the answer given at 119" "$shipment_then" \
  "$(grep -v 'as the ledger stood' <<<"$shipment_119")"
same "lot --json at 119 equals the answer given at 119" "$lot_json_then" \
  "$("${now[@]}" --json --at_position=119 lot $magnet |
    grep -v -e '"appliedPosition"' -e '"atPosition"')"

# History: every version of the magnet, newest first, with the event and the verdict change.
history=$("${now[@]}" --as_of=2025-11-01 --rule_set=uflpa history lot $magnet)
same "lot history positions" "119 118 117 116 113 110 " "$(positions <<<"$history")"
expect "history names the retracted arrival" 0 \
  "119  tt-retract-arrival +event_retracted +profile,status,location +FAIL -> FAIL" -- \
  echo "$history"
expect "history says what the retraction retracts" 0 "retracts demo-xj-012" -- echo "$history"
expect "history: the re-declaration makes it fail" 0 \
  "118  demo-xj-reextraction-001 +lot_extracted +profile,verdicts +INSUFFICIENT DATA -> FAIL" -- \
  echo "$history"
expect "history: the rule whose verdict changed" 0 \
  "uflpa/uflpa-xinjiang-and-listed: PASS -> INSUFFICIENT DATA" -- echo "$history"
expect "history: created" 0 "110  demo-xj-010 +lot_transformed +created +- -> PASS" -- \
  echo "$history"
expect "history without --as_of has no verdicts" 0 "^POSITION +EVENT ID +KIND +CHANGED$" -- \
  "${now[@]}" history lot $magnet
shipment_history=$("${now[@]}" --as_of=2025-11-01 --rule_set=uflpa history shipment $shipment)
same "shipment history positions" "119 118 117 116 113 " "$(positions <<<"$shipment_history")"
expect "shipment history: dispatched again" 0 "now: dispatched; declared JP, traced JP" -- \
  echo "$shipment_history"

# Paging: pages of 2 chain through --page_token; the verdict before the oldest row of a page
# comes from the next page; --all gives every page.
page1=$("${now[@]}" --as_of=2025-11-01 --rule_set=uflpa --max_entries=2 history lot $magnet)
same "page 1" "119 118 " "$(positions <<<"$page1")"
expect "page 1 ends with the token" 0 "older versions: --page_token=118, or --all" -- echo "$page1"
expect "page 1: the verdict before its oldest row" 0 "118 .*INSUFFICIENT DATA -> FAIL" -- \
  echo "$page1"
page2=$("${now[@]}" --max_entries=2 --page_token=118 history lot $magnet)
same "page 2" "117 116 " "$(positions <<<"$page2")"
all=$("${now[@]}" --max_entries=2 --all history lot $magnet)
same "--all gives every version" "119 118 117 116 113 110 " "$(positions <<<"$all")"
expect "--all --json" 0 '"eventId": "demo-xj-010"' -- "${now[@]}" --all --json history lot $magnet
same "history up to a position" "116 113 110 " \
  "$("${now[@]}" --at_position=117 history lot $magnet | positions)"
expect "history up to a position names it" 0 "after its first 117 events" -- \
  "${now[@]}" --at_position=117 history lot $magnet

# Refusals.
expect "history of an unknown lot" 5 "no history" -- "${now[@]}" history lot no-such-lot
expect "history before the lot existed" 5 "no history" -- \
  "${now[@]}" --at_position=110 history lot $magnet
expect "history of something else" 2 "history lot\|shipment ID" -- "${now[@]}" history party x
expect "history --rule_set needs --as_of" 2 "needs --as_of" -- \
  "${now[@]}" --rule_set=uflpa history lot $magnet
expect "history --all and --page_token" 2 "exclude each other" -- \
  "${now[@]}" --all --page_token=118 history lot $magnet
expect "history with a forged page token" 4 "page_token" -- \
  "${now[@]}" --page_token=abc history lot $magnet
expect "a position the views have not reached" 3 "" -- \
  "${now[@]}" --deadline_ms=500 --at_position=100000 lot $magnet

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
