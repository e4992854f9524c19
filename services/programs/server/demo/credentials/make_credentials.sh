#!/usr/bin/env bash
# Regenerates the demo's throwaway credentials (README.md): a CA, the embedded server's
# certificate, and for every party of the demo a client certificate (URI SAN
# urn:lodestone:party:<id>) and an Ed25519 signing key with its SigningKeyRegistered line
# (keys.ndjson). Certificates are valid for 100 years: they guard nothing.
# usage: make_credentials.sh LODECTL   (run from anywhere; writes next to this script)
set -euo pipefail
lodectl=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
demo="$here/../demo.ndjson"
cd "$here"
rm -rf parties ca.crt server.crt server.key keys.ndjson
mkdir -p parties
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=36500
cat >"$work/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Lodestone DEMO CA (throwaway, not secret)
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
openssl req -x509 -config "$work/ca.cnf" -extensions v3_ca -newkey ec \
  -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/ca.key" -out ca.crt -days $days \
  2>/dev/null
serial=1000
leaf() {  # leaf NAME CN EXTENSIONS OUT_PREFIX
  serial=$((serial + 1))
  printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = %s\n[ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n%b' \
    "$2" "$3" >"$work/$1.cnf"
  openssl req -new -config "$work/$1.cnf" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$4.key" -out "$work/$1.csr" 2>/dev/null
  openssl x509 -req -in "$work/$1.csr" -CA ca.crt -CAkey "$work/ca.key" -set_serial $serial \
    -days $days -extfile "$work/$1.cnf" -extensions ext -out "$4.crt" 2>/dev/null
  chmod 0644 "$4.key"  # a throwaway: readable so that a checkout can use it
}
leaf server localhost \
  'extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost, URI:urn:lodestone:node:demo-server\n' \
  server
# Every actor of the demo, and the licensing authority setup.ndjson registers.
parties=$( (python3 -c 'import json,sys
for line in open(sys.argv[1]): print(json.loads(line)["actor"])' "$demo"; echo cn-mofcom) | sort -u)
for party in $parties; do
  leaf "$party" "$party (demo)" \
    "extendedKeyUsage = clientAuth\nsubjectAltName = URI:urn:lodestone:party:$party\n" \
    "parties/$party"
  "$lodectl" keygen "$party" --key_out="parties/$party.signing.pem" >>keys.ndjson
  chmod 0644 "parties/$party.signing.pem"
done
# Dated with the demo's set-up rather than today: registrations carry no signature to keep.
python3 - keys.ndjson <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[1], "w") as out:
    for e in lines:
        e["eventTime"] = "2024-01-08T08:00:02Z"
        out.write(json.dumps(e, separators=(",", ":")) + "\n")
PY
echo "wrote $(echo "$parties" | wc -l) parties' credentials to $here"
