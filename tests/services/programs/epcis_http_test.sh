#!/bin/bash
# The EPCIS HTTP interface of the real programs: lodestone-server with --http_listen on port 0
# (plain text, the loopback administrator) and lodestone-ledger with --http_listen and mutual
# TLS (a party certificate made here with openssl); master data appended with lodectl, a
# document captured with curl, its job polled to success; a refused capture and a TLS client
# without a certificate; lodestone-server with --tls_listen and --http_tls_listen (capture and
# query over mutual TLS, read rules per certificate); the programs' flag errors.
# usage: epcis_http_test.sh SERVER_BINARY LEDGER_BINARY LODECTL_BINARY
set -uo pipefail
server_bin=$1
ledger_bin=$2
lodectl=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-epcis-http.XXXXXX")
failures=0
checks=0
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME CONDITION-RESULT(0/1) DETAIL
  checks=$((checks + 1))
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; failures=$((failures + 1)); fi
}

# start NAME BINARY ARGS...: starts a program on free ports; sets pid, grpc_port, epcis_url.
start() {
  local name=$1 bin=$2
  shift 2
  "$bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/$name-data" \
    --sync=false "$@" >"$work/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q 'serving EPCIS 2.0 at' "$work/$name.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grpc_port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/$name.log")
  epcis_url=$(sed -n 's/.*serving EPCIS 2.0 at \(.*\)$/\1/p' "$work/$name.log")
  [ -n "$epcis_url" ] || { cat "$work/$name.log"; echo "FAIL $name did not start"; exit 1; }
}
stop() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}

# Master data: the miner and its mine, appended natively (the actor is the miner).
cat >"$work/master.ndjson" <<'NDJSON'
{"eventId":"md-party","eventTime":"2025-01-08T09:00:00Z","subject":"party/au-miner","actor":"au-miner","partyRegistered":{"partyId":"au-miner","name":"AU miner","country":"AU"}}
{"eventId":"md-mine","eventTime":"2025-01-09T09:00:00Z","subject":"facility/au-mine","actor":"au-miner","facilityRegistered":{"facilityId":"au-mine","operatorPartyId":"au-miner","country":"AU","kind":"FACILITY_KIND_MINE","name":"AU mine"}}
NDJSON
# document ID LOT KG: a commissioning ObjectEvent at the mine, attested for the miner.
document() {
  cat <<JSON
{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
              {"lodestone": "urn:lodestone:epcis:v1:"}],
 "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-07T10:00:00Z",
 "epcisBody": {"eventList": [
   {"type": "ObjectEvent", "eventID": "urn:uuid:a0000000-0000-4000-8000-00000000000$1",
    "eventTime": "2026-01-05T10:00:00Z", "eventTimeZoneOffset": "+00:00",
    "action": "ADD", "bizStep": "commissioning",
    "bizLocation": {"id": "urn:lodestone:facility:au-mine"},
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.$2",
                      "quantity": $3, "uom": "KGM"}],
    "ilmd": {"lodestone:material": "antimony_ore", "lodestone:hsCode": "261710"},
    "lodestone:actor": "urn:lodestone:party:au-miner"}]}}
JSON
}

# capture NAME CURL-ARGS...: POST /capture of $work/doc.jsonld, then GET the job until it has
# finished; sets job (its JSON).
capture() {
  local name=$1 headers location
  shift
  headers=$(curl -sS -o "$work/post.body" -D - -X POST -H 'Content-Type: application/ld+json' \
    --data-binary @"$work/doc.jsonld" "$@" "$epcis_url/capture" 2>&1)
  grep -q '^HTTP/1.1 202' <<<"$headers"
  check "$name: 202 Accepted" $? "$headers $(cat "$work/post.body")"
  location=$(sed -n 's/^Location: \([^[:space:]]*\).*/\1/p' <<<"$headers")
  job=""
  for _ in $(seq 1 100); do
    job=$(curl -sS "$@" "$epcis_url$location")
    grep -q '"running":false' <<<"$job" && break
    sleep 0.05
  done
}

echo "== lodestone-server, plain text: the loopback administrator"
start server "$server_bin" --http_listen=127.0.0.1:0
grep -q '^http://127.0.0.1:[0-9]*$' <<<"$epcis_url"
check "the EPCIS URL is printed" $? "$epcis_url"
"$lodectl" --server=127.0.0.1:"$grpc_port" --progress=false append "$work/master.ndjson" >/dev/null
document 1 LOT-1 1250.5 >"$work/doc.jsonld"
capture "server capture"
grep -q '"success":true' <<<"$job" && grep -q '"eventID":"epcis:urn:uuid:a0000000-0000-4000-8000-000000000001"' <<<"$job"
check "server capture: the job succeeded with the event's id" $? "$job"
size=$("$lodectl" --server=127.0.0.1:"$grpc_port" head | sed -n 's/^size //p')
check "server capture: appended to the ledger" "$([ "$size" = 3 ]; echo $?)" "size $size"
# A mass that is not whole grams: refused (422) with a problem naming the pointer.
document 2 LOT-2 0.0001 >"$work/bad.jsonld"
out=$(curl -sS -w ' %{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary @"$work/bad.jsonld" "$epcis_url/capture")
grep -q '"pointer":"/epcisBody/eventList/0/quantityList/0".* 422$' <<<"$out"
check "server: a bad quantity is 422 problem+json with its pointer" $? "$out"
metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$work/server.log")
metrics=$(curl -sS "http://127.0.0.1:$metrics_port/metrics")
grep -q 'lodestone_http_requests_total{code="202",method="POST",route="/capture"} 1' <<<"$metrics"
check "server: per-route HTTP metrics on the metrics port" $? "$(grep lodestone_http_requests <<<"$metrics")"
stop

echo "== lodestone-ledger, mutual TLS: a party certificate names the caller"
pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.crt" -days 2 -subj "/CN=epcis test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  </dev/null >>"$pki/openssl.log" 2>&1 || { cat "$pki/openssl.log"; exit 1; }
leaf() {  # leaf NAME SAN USAGE
  printf '[ext]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = %s\nsubjectAltName = %s\n' \
    "$3" "$2" >"$pki/$1.cnf"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "/CN=$1" </dev/null >>"$pki/openssl.log" 2>&1 &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -set_serial "$RANDOM$RANDOM" -days 2 -extfile "$pki/$1.cnf" -extensions ext \
      -out "$pki/$1.crt" </dev/null >>"$pki/openssl.log" 2>&1 || { cat "$pki/openssl.log"; exit 1; }
}
leaf server "IP:127.0.0.1, DNS:localhost" "serverAuth"
leaf miner "URI:urn:lodestone:party:au-miner" "clientAuth"
leaf admin "URI:urn:lodestone:party:lodestone-admin" "clientAuth"
tls=(--tls_cert="$pki/server.crt" --tls_key="$pki/server.key" --tls_ca="$pki/ca.crt")
start ledger "$ledger_bin" --http_listen=127.0.0.1:0 "${tls[@]}"
grep -q '^https://127.0.0.1:[0-9]*$' <<<"$epcis_url"
check "the EPCIS URL is https" $? "$epcis_url"
# The miner registers itself and its mine as the administrator would not need to: its own facts.
"$lodectl" --server=127.0.0.1:"$grpc_port" --tls_ca="$pki/ca.crt" --tls_cert="$pki/admin.crt" \
  --tls_key="$pki/admin.key" --progress=false append "$work/master.ndjson" >"$work/append.out" 2>&1
check "ledger: master data appended over gRPC with TLS" $? "$(cat "$work/append.out")"
document 3 LOT-3 7 >"$work/doc.jsonld"
as_miner=(--cacert "$pki/ca.crt" --cert "$pki/miner.crt" --key "$pki/miner.key")
capture "ledger capture as the miner" "${as_miner[@]}"
grep -q '"success":true' <<<"$job"
check "ledger capture as the miner: the job succeeded" $? "$job"
# The job is the miner's: another party's certificate does not see it.
location=$(sed -n 's/.*"captureID":"\([^"]*\)".*/\1/p' <<<"$job")
out=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" --cert "$pki/admin.crt" \
  --key "$pki/admin.key" "$epcis_url/capture/$location")
check "ledger: the administrator's certificate is another party: 404" "$([ "$out" = 404 ]; echo $?)" "$out"
curl -sS -o /dev/null --cacert "$pki/ca.crt" -X POST -H 'Content-Type: application/json' \
  --data-binary @"$work/doc.jsonld" "$epcis_url/capture" 2>/dev/null
check "ledger: a client without a certificate fails the handshake" "$([ $? != 0 ]; echo $?)" "curl succeeded"
stop

echo "== lodestone-server --tls_listen --http_tls_listen: the REST binding over mutual TLS"
leaf other "URI:urn:lodestone:party:au-other" "clientAuth"
start tls-server "$server_bin" --http_listen=127.0.0.1:0 "${tls[@]}" --tls_listen=127.0.0.1:0 \
  --http_tls_listen=127.0.0.1:0
for _ in $(seq 1 100); do
  grep -q 'serving EPCIS 2.0 over mutual TLS at' "$work/tls-server.log" && break
  sleep 0.1
done
plain_url=$epcis_url
epcis_url=$(sed -n 's/.*serving EPCIS 2.0 over mutual TLS at \(.*\)$/\1/p' "$work/tls-server.log")
grep -q '^https://127.0.0.1:[0-9]*$' <<<"$epcis_url"
check "server: the mutual-TLS EPCIS URL is printed" $? "$(cat "$work/tls-server.log")"
"$lodectl" --server=127.0.0.1:"$grpc_port" --progress=false append "$work/master.ndjson" >/dev/null
document 4 LOT-4 9 >"$work/doc.jsonld"
capture "server capture over TLS as the miner" "${as_miner[@]}"
grep -q '"success":true' <<<"$job"
check "server capture over TLS as the miner: the job succeeded" $? "$job"
out=$(curl -sS "${as_miner[@]}" "$epcis_url/events?EQ_bizStep=commissioning")
grep -q '"eventID":"urn:uuid:a0000000-0000-4000-8000-000000000004"' <<<"$out" &&
  grep -q '"type":"EPCISQueryDocument"' <<<"$out"
check "server: GET /events over TLS, the miner reads its event" $? "$out"
as_other=(--cacert "$pki/ca.crt" --cert "$pki/other.crt" --key "$pki/other.key")
out=$(curl -sS "${as_other[@]}" "$epcis_url/events")
grep -q '"eventList":\[\]' <<<"$out"
check "server: another party reads none of it" $? "$out"
out=$(curl -sS -o /dev/null -w '%{http_code}' "${as_other[@]}" \
  "$epcis_url/events/urn%3Auuid%3Aa0000000-0000-4000-8000-000000000004")
check "server: ... and the event by id is 404 to it" "$([ "$out" = 404 ]; echo $?)" "$out"
out=$(curl -sS -o /dev/null -w '%{http_code}' "${as_miner[@]}" \
  "$epcis_url/events/urn%3Auuid%3Aa0000000-0000-4000-8000-000000000004")
check "server: the miner reads the event by id" "$([ "$out" = 200 ]; echo $?)" "$out"
curl -sS -o /dev/null --cacert "$pki/ca.crt" "$epcis_url/events" 2>/dev/null
check "server: no client certificate, no TLS handshake" "$([ $? != 0 ]; echo $?)" "curl succeeded"
grep -q '^http://127.0.0.1:[0-9]*$' <<<"$plain_url"
check "server: --http_listen stays plain text for local callers" $? "$plain_url"
stop

echo "== flag errors"
out=$("$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$work/bad-data" \
  --http_listen=256.1.1.1:1 2>&1)
rc=$?
check "an address that cannot be bound stops the server" "$([ $rc != 0 ]; echo $?)" "rc $rc: $out"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
