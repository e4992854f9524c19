#!/bin/bash
# lodectl end to end against a real embedded server on port 0: every subcommand, its output and
# its exit codes; bad files rejected with line numbers, nothing of a bad batch applied.
# usage: lodectl_test.sh SERVER_BINARY LODECTL_BINARY DEMO_NDJSON
set -uo pipefail
server_bin=$1
lodectl=$2
demo=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-lodectl.XXXXXX")
source "$(dirname "$0")/lodectl_lib.sh"

start_server
ctl=("$lodectl" --server="127.0.0.1:$port" --progress=false)

expect "append demo" 0 "119 accepted, 0 duplicate" -- "${ctl[@]}" append "$demo"
expect "append demo again is idempotent" 0 "0 accepted, 119 duplicate" -- "${ctl[@]}" append "$demo"
expect "append from stdin" 0 "0 accepted, 119 duplicate" -- bash -c "\"${ctl[0]}\" ${ctl[*]:1} append - < \"$demo\""
size=$("${ctl[@]}" head | sed -n 's/^size //p')
expect "head" 0 "^size 119" -- "${ctl[@]}" head
with_pos=("${ctl[@]}" --min_position="$size")

expect "lot" 0 "customs origin: CN" -- "${with_pos[@]}" lot sb-th-bagged-2412-a
expect "lot --json" 0 '"customsOrigin": "CN"' -- "${with_pos[@]}" --json lot sb-th-bagged-2412-a
expect "lot unknown is not found" 5 "no lot" -- "${with_pos[@]}" lot no-such-lot
expect "trace tree" 0 "REPACKAGING" -- "${with_pos[@]}" trace sb-th-bagged-2412-a
expect "trace --dot" 0 "digraph lineage" -- "${with_pos[@]}" --dot trace sb-th-bagged-2412-a
expect "trace --json" 0 '"nodes"' -- "${with_pos[@]}" --json trace sb-th-bagged-2412-a
expect "downstream" 0 "sb-th-bagged-2412-a" -- "${with_pos[@]}" downstream sb-cn-oxide-2410
expect "shipment mismatch" 0 "traced customs origin CN   <-- MISMATCH" -- \
  "${with_pos[@]}" shipment shp-sb-th-us-2412
expect "shipment unknown" 5 "no shipment" -- "${with_pos[@]}" shipment no-such-shipment
expect "flags" 0 "transshipment/transshipment-declared-origin" -- "${with_pos[@]}" flags
expect "flags by rule set" 0 "^[0-9]+ flags" -- "${with_pos[@]}" --rule_set=transshipment flags
expect "check fails" 6 "FAIL +dfars/dfars-all-stages" -- \
  "${with_pos[@]}" --as_of=2027-01-02 --rule_set=dfars check lot ndfeb-jp-magnet-2025a
expect "check passes" 0 "no rule failed" -- \
  "${with_pos[@]}" --as_of=2026-06-01 --rule_set=dfars check lot ndfeb-jp-magnet-2025b
expect "check not in force while suspended" 0 "NOT IN FORCE.*would fail once in force" -- \
  "${with_pos[@]}" --as_of=2026-06-01 --rule_set=china-re-0.1pct check lot ndfeb-jp-magnet-2025a
expect "check says the basis of each verdict" 0 \
  "NOT IN FORCE +china-re-0.1pct/cn-re-content-0.1pct: .*mass basis, separation country.*\\[basis: mass\\]" -- \
  "${with_pos[@]}" --as_of=2026-06-01 --rule_set=china-re-0.1pct check lot ndfeb-jp-magnet-2025a
expect "check on mass fails the 0.1% rule" 6 "FAIL +china-re-0.1pct.*\\[basis: mass\\]" -- \
  "${with_pos[@]}" --as_of=2026-12-01 --rule_set=china-re-0.1pct check lot ndfeb-jp-magnet-2025a
printf '%s' '{"declaredValues":[{"valueMinor":"1000000","currency":"USD","content":[{"country":"CN","material":"MATERIAL_RARE_EARTH_METAL","valueMinor":"500"}]}]}' >"$work/declared.json"
expect "check on a declared value passes it and says so" 0 \
  "PASS +china-re-0.1pct.*500 of 1000000 USD.*\\[basis: declared_value\\]" -- \
  "${with_pos[@]}" --as_of=2026-12-01 --rule_set=china-re-0.1pct \
  --declared_values="$work/declared.json" check lot ndfeb-jp-magnet-2025a
printf '%s' '{"declaredValues":[{"valueMinor":"100","currency":"USD","content":[{"country":"CN","material":"MATERIAL_RARE_EARTH_METAL","valueMinor":"500"}]}]}' >"$work/too-much.json"
expect "check refuses a declared value it cannot use" 4 "more than the item's value" -- \
  "${with_pos[@]}" --as_of=2026-12-01 --declared_values="$work/too-much.json" \
  check lot ndfeb-jp-magnet-2025a
expect "check refuses a declared values file that does not parse" 4 "declared_values" -- \
  "${with_pos[@]}" --as_of=2026-12-01 --declared_values="$demo" check lot ndfeb-jp-magnet-2025a
expect "check without date is a usage error" 2 "as_of" -- "${with_pos[@]}" check lot x
expect "check unknown rule set" 4 "unknown rule set" -- \
  "${with_pos[@]}" --as_of=2026-06-01 --rule_set=nope check lot ndfeb-jp-magnet-2025a
expect "exposure fails EU CRMA concentration" 6 "FAIL +eu-crma/crma-65pct-per-stage.*separation MY 100%" -- "${with_pos[@]}" --from=2024-01-01 --to=2027-01-01 \
  exposure de-sn-semicon

"${ctl[@]}" --json head >"$work/head.json"
expect "verify" 0 "OK  the log of size 119 extends the trusted head of size 119" -- \
  "${ctl[@]}" --head_file="$work/head.json" --positions=0,57,118 verify
sed 's/"rootHash": "\(.\)/"rootHash": "A/' "$work/head.json" >"$work/forged.json"
if ! cmp -s "$work/head.json" "$work/forged.json"; then
  expect "verify forged head" 7 "BAD" -- "${ctl[@]}" --head_file="$work/forged.json" verify
fi

# Bad files: malformed JSON, unknown fields, broken references. Line numbers are reported and
# nothing of a rejected batch is applied.
printf '%s\n' '{"eventId":"bad-1","eventTime":"2026-01-01T00:00:00Z","subject":"party/p-bad","actor":"t","partyRegistered":{"partyId":"p-bad","name":"x","country":"DE"}}' \
  '{"eventId": "bad-2", not json' >"$work/malformed.ndjson"
expect "malformed json" 4 "line 2: " -- "${ctl[@]}" append "$work/malformed.ndjson"
expect "malformed batch applied nothing" 5 "no lot|not found|no party" -- "${with_pos[@]}" lot p-bad
printf '%s\n' '{"eventId":"bad-3","eventTime":"2026-01-01T00:00:00Z","subject":"party/p-x","actor":"t","partyRegistered":{"partyId":"p-x","name":"x","country":"DE","colour":"red"}}' >"$work/unknown.ndjson"
expect "unknown field" 4 "line 1: .*colour" -- "${ctl[@]}" append "$work/unknown.ndjson"
printf '%s\n' '{"eventId":"ref-1","eventTime":"2026-01-01T00:00:00Z","subject":"lot/ref-lot","actor":"t","lotExtracted":{"lotId":"ref-lot","material":"MATERIAL_ANTIMONY_ORE","hsCode":"261710","massG":"5","facilityId":"cn-gx-sb-mine"}}' \
  '{"eventId":"ref-2","eventTime":"2026-01-01T00:00:00Z","subject":"lot/ref-lot2","actor":"t","lotExtracted":{"lotId":"ref-lot2","material":"MATERIAL_ANTIMONY_ORE","hsCode":"261710","massG":"5","facilityId":"no-such-mine"}}' >"$work/refs.ndjson"
expect "broken reference names its line" 4 "line 2: .*no-such-mine" -- "${ctl[@]}" append "$work/refs.ndjson"
size_after=$("${ctl[@]}" head | sed -n 's/^size //p')
checks=$((checks + 1))
if [ "$size_after" != "$size" ]; then
  failures=$((failures + 1))
  echo "FAIL nothing of the rejected batches was appended: size $size_after, want $size"
else
  echo "ok   nothing of the rejected batches was appended"
fi

# Signatures (docs/security.md): a key made by keygen and registered by the administrator; then
# the administrator's events must be signed, verify event checks inclusion and signature against
# a trusted head, online and offline from saved evidence, and a revoked key signs nothing more.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
admin=lodestone-admin
printf '%s\n' "{\"eventId\":\"reg-admin\",\"eventTime\":\"$now\",\"subject\":\"party/$admin\",\"actor\":\"$admin\",\"partyRegistered\":{\"partyId\":\"$admin\",\"name\":\"Administrator\",\"country\":\"DE\"}}" >"$work/admin.ndjson"
expect "register the administrator as a party" 0 "1 accepted" -- "${ctl[@]}" append "$work/admin.ndjson"
expect "keygen" 0 '"signingKeyRegistered"' -- bash -c "\"$lodectl\" --key_out=\"$work/admin.key\" keygen $admin >\"$work/key.ndjson\" && cat \"$work/key.ndjson\""
expect "keygen never overwrites a key" 4 "never overwritten" -- "$lodectl" --key_out="$work/admin.key" keygen $admin
expect "key file is private" 0 "^600$" -- stat -c %a "$work/admin.key"
expect "register the key" 0 "1 accepted" -- "${ctl[@]}" append "$work/key.ndjson"
key_id=$(sed -n 's/.*"keyId":"\([0-9a-f]*\)".*/\1/p' "$work/key.ndjson")
lot_event() {  # lot_event ID: an extraction at the demo's Guangxi mine
  printf '%s\n' "{\"eventId\":\"$1\",\"eventTime\":\"$now\",\"subject\":\"lot/$1\",\"actor\":\"cn-gx-antimony\",\"lotExtracted\":{\"lotId\":\"$1\",\"material\":\"MATERIAL_ANTIMONY_ORE\",\"hsCode\":\"261710\",\"massG\":\"5\",\"facilityId\":\"cn-gx-sb-mine\"}}"
}
lot_event sig-unsigned >"$work/unsigned.ndjson"
expect "unsigned append by a party with a key is refused" 4 "must be signed" -- "${ctl[@]}" append "$work/unsigned.ndjson"
lot_event sig-1 >"$work/signed.ndjson"
expect "signed append" 0 "1 accepted" -- \
  "${ctl[@]}" --signing_key="$work/admin.key" --attester=$admin append "$work/signed.ndjson"
expect "signing without an attester is a usage error" 2 "attester" -- \
  "${ctl[@]}" --signing_key="$work/admin.key" append "$work/signed.ndjson"
expect "a missing key file" 4 "cannot read" -- \
  "${ctl[@]}" --signing_key="$work/none.key" --attester=$admin append "$work/signed.ndjson"
"${ctl[@]}" --json head >"$work/head2.json"
expect "verify event: inclusion and signature" 0 "OK  signed by $admin with key $key_id" -- \
  "${ctl[@]}" --head_file="$work/head2.json" --save_evidence="$work/evidence.json" verify event sig-1
expect "verify event offline from saved evidence" 0 "OK  event sig-1 is at position" -- \
  "$lodectl" --server=127.0.0.1:1 --head_file="$work/head2.json" --evidence="$work/evidence.json" verify event sig-1
expect "verify an unsigned event" 0 "attested by $admin \(unsigned" -- \
  "${ctl[@]}" --head_file="$work/head2.json" verify event reg-admin
expect "verify an event after the trusted head" 4 "after the trusted head" -- \
  "${ctl[@]}" --head_file="$work/head.json" verify event sig-1
expect "verify an unknown event" 5 "" -- "${ctl[@]}" --head_file="$work/head2.json" verify event nope
python3 - "$work/evidence.json" "$work/tampered.json" "$work/wrong-id.json" <<'PY'
import base64, json, sys
evidence = json.load(open(sys.argv[1]))
leaf = bytearray(base64.b64decode(evidence["event"]["leafData"]))
leaf[-70] ^= 1  # inside the event's bytes, before the signature
evidence["event"]["leafData"] = base64.b64encode(bytes(leaf)).decode()
json.dump(evidence, open(sys.argv[2], "w"))
evidence = json.load(open(sys.argv[1]))
evidence["keyEvents"] = []
json.dump(evidence, open(sys.argv[3], "w"))
PY
expect "tampered evidence fails offline" 7 "BAD .*NOT in the trusted tree" -- \
  "$lodectl" --head_file="$work/head2.json" --evidence="$work/tampered.json" verify event sig-1
expect "evidence without the key registration fails" 7 "BAD no registration of key" -- \
  "$lodectl" --head_file="$work/head2.json" --evidence="$work/wrong-id.json" verify event sig-1
printf '%s\n' "{\"eventId\":\"revoke-admin-key\",\"eventTime\":\"$now\",\"subject\":\"party/$admin\",\"actor\":\"$admin\",\"signingKeyRevoked\":{\"partyId\":\"$admin\",\"keyId\":\"$key_id\"}}" >"$work/revoke.ndjson"
expect "revoke the key (signed with it)" 0 "1 accepted" -- \
  "${ctl[@]}" --signing_key="$work/admin.key" --attester=$admin append "$work/revoke.ndjson"
lot_event sig-2 >"$work/signed2.ndjson"
expect "a revoked key signs nothing more" 4 "rule: signature" -- \
  "${ctl[@]}" --signing_key="$work/admin.key" --attester=$admin append "$work/signed2.ndjson"
"${ctl[@]}" --json head >"$work/head3.json"
expect "an event signed before the revocation still verifies" 0 "not revoked before" -- \
  "${ctl[@]}" --head_file="$work/head3.json" verify event sig-1
expect "unknown command" 2 "unknown command" -- "${ctl[@]}" frobnicate

kill -TERM "$server" && wait "$server"
server=""
expect "server unreachable" 3 "unreachable" -- "${ctl[@]}" --deadline_ms=500 head

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
