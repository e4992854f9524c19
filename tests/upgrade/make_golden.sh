#!/usr/bin/env bash
# Writes a golden data directory: the demo as `make run` appends it (parties, keys, roles,
# signatures, a retraction), folded into views, then stopped; and the answers this build gives
# on it. Run it once per data format (docs/upgrades.md); never regenerate a checked-in one.
# usage: make_golden.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
[ ! -e "$out" ] || { echo "$out exists: golden data is never regenerated"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
LISTEN=127.0.0.1:0 METRICS_LISTEN=127.0.0.1:0 TLS_LISTEN=127.0.0.1:0 RUN_EXIT_AFTER_DEMO=1 \
  "$here/../../ops/run.sh" "$build" "$work/data" >/dev/null
mkdir -p "$out/data" "$out/expected"
for store in ledger provenance; do
  mkdir -p "$out/data/$store"
  (cd "$work/data/$store" && find . -maxdepth 1 -type f ! -name 'LOG*' ! -name LOCK \
    -exec cp {} "$out/data/$store/" \;)
done
# Answered on a copy: a server opening the golden files would change them.
cp -r "$out/data" "$work/answering"
"$here/golden_answers.sh" "$build" "$work/answering" "$out/expected"
echo "golden data in $out: $(du -sh "$out" | cut -f1)"
