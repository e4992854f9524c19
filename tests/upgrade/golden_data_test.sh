#!/usr/bin/env bash
# Every golden data directory under tests/upgrade/golden (written by an earlier build with
# make_golden.sh) opens in this build, extends the head recorded then (consistency and inclusion
# proofs, a signature under the key registered then), and answers exactly as it did.
# usage: golden_data_test.sh BUILD_DIR
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
count=0
for golden in "$here"/golden/*/; do
  name=$(basename "$golden")
  count=$((count + 1))
  cp -r "$golden/data" "$work/$name"
  if ! "$here/golden_answers.sh" "$build" "$work/$name" "$work/$name-answers" \
    "$golden/expected/head.json" >"$work/$name.log" 2>&1; then
    echo "FAIL $name: could not answer"; cat "$work/$name.log"; failures=$((failures + 1)); continue
  fi
  if diff -ru "$golden/expected" "$work/$name-answers"; then
    echo "ok   $name: opens, extends its recorded head, answers as recorded"
  else
    echo "FAIL $name: answers differ (above)"; failures=$((failures + 1))
  fi
done
[ "$count" -gt 0 ] || { echo "FAIL no golden data"; exit 1; }
echo "$((count - failures)) of $count golden data directories ok"
[ "$failures" = 0 ]
