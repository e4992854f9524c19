#!/bin/bash
# The console in headless Chromium against a real embedded server: starts lodestone-server on
# port 0 (gRPC, HTTP) on a temporary data directory, appends the demo with lodectl, and runs
# console_test.mjs (puppeteer-core driving Debian's chromium). Fails, never skips, when chromium,
# node or the locked npm packages are missing (make deps installs them).
# usage: console_test.sh SERVER_BINARY LODECTL_BINARY DEMO_NDJSON ARTEFACT_DIR
set -uo pipefail
server_bin=$1
lodectl=$2
demo=$3
artefacts=$4
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

[ -x "$chromium" ] || { echo "FAIL: no $chromium (Debian package chromium; make deps)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: no node (Debian package nodejs; make deps)"; exit 1; }
[ -f "$here/node_modules/puppeteer-core/package.json" ] ||
  { echo "FAIL: no $here/node_modules (make deps runs npm ci there)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-console.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --late_after as `make run` (the demo is history recorded today: docs/demo.md).
"$server_bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --data_dir="$work/data" --sync=false --late_after=87600h >"$work/server.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 300); do
  if grep -q 'serving gRPC on port' "$work/server.log"; then
    # The console's URL if the server names it, else the first HTTP address it prints.
    url=$(grep -i console "$work/server.log" | grep -o 'http://127\.0\.0\.1:[0-9]*' | head -1)
    [ -n "$url" ] || url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1)
    [ -n "$url" ] && break
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/server.log")
if [ -z "$port" ] || [ -z "$url" ]; then
  cat "$work/server.log"
  echo "FAIL: the server did not print its gRPC port and HTTP address"
  exit 1
fi
"$lodectl" --server="127.0.0.1:$port" append "$demo" >"$work/append.log" 2>&1 ||
  { cat "$work/append.log"; echo "FAIL: lodectl append"; exit 1; }
size=$("$lodectl" --server="127.0.0.1:$port" head | sed -n 's/^size //p')
# The gRPC answer the page is compared with.
"$lodectl" --server="127.0.0.1:$port" --min_position="$size" shipment shp-sb-th-us-2412 >"$work/shipment.txt" 2>&1

echo "console at $url/console/ (screenshots in $artefacts)"
node "$here/console_test.mjs" "$url/console/" "$artefacts" "$work/shipment.txt"
status=$?
[ "$status" = 0 ] || { echo "--- server log"; tail -50 "$work/server.log"; }
exit "$status"
