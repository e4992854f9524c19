# Sourced by the lodectl shell tests. expect NAME EXPECTED_RC PATTERN -- COMMAND...: runs
# COMMAND, checks its exit code and that its output (stdout and stderr) matches the extended
# regular expression PATTERN (on some line); counts $checks and $failures.
checks=0
failures=0
expect() {
  local name=$1 rc=$2 pattern=$3
  shift 4
  local out actual
  out=$("$@" 2>&1)
  actual=$?
  checks=$((checks + 1))
  if [ "$actual" != "$rc" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    failures=$((failures + 1))
    echo "FAIL $name: exit $actual (want $rc), output:"
    sed 's/^/    /' <<<"$out"
    echo "    (wanted /$pattern/)"
  else
    echo "ok   $name"
  fi
}
