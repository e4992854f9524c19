#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets with clang (ASan + UBSan) in BUILD_DIR and runs each
# for FUZZ_SECONDS under `nice -n 19`, on a working corpus seeded from tests/fuzz/<target>/.
# Prints one line per target: seconds, executions, exec/s, corpus size, and whether it crashed
# (the crash input is kept under BUILD_DIR/fuzz-out/<target>/). Exit status 1 if any crashed.
#   run_fuzz.sh BUILD_DIR TARGET...
# Knobs: FUZZ_SECONDS (60 per target), FUZZ_PARALLEL (1: all targets at once; default one after
# the other), FUZZ_JOBS (build jobs, nproc), FUZZ_BUILD (0: run the targets as built).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
shift
seconds=${FUZZ_SECONDS:-60}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DLODESTONE_FUZZ=ON >/dev/null || exit 1
fi
if [ "${FUZZ_BUILD:-1}" = 1 ]; then
  cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target fuzz_targets || exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; writes its summary line to BUILD_DIR/fuzz-out/<target>/summary.
run_one() {
  local target=$1 out=$build/fuzz-out/$1
  mkdir -p "$out/corpus"
  local log=$out/fuzz.log start status elapsed execs rate corpus result
  start=$(date +%s)
  nice -n 19 "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
    -max_len=65536 -timeout=30 -rss_limit_mb=4096 -artifact_prefix="$out/" \
    "$out/corpus" "$root/tests/fuzz/$target" >"$log" 2>&1
  status=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$out/corpus" -type f | wc -l)
  result=ok
  if [ "$status" -ne 0 ]; then
    result="CRASHED (exit $status): $(ls "$out" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' |
      head -1), log $log"
  fi
  printf '%-18s %8s %12s %9s %8s  %s\n' "$target" "$elapsed" "${execs:-?}" "${rate:-?}" \
    "$corpus" "$result" >"$out/summary"
}

for target in "$@"; do
  if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then run_one "$target" & else run_one "$target"; fi
done
wait
printf '%-18s %8s %12s %9s %8s  %s\n' target seconds executions exec/s corpus result
crashed=0
for target in "$@"; do
  cat "$build/fuzz-out/$target/summary"
  grep -q CRASHED "$build/fuzz-out/$target/summary" && crashed=1
done
exit $crashed
