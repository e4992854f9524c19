#!/usr/bin/env bash
# `make soak`: the distributed mode under load and a seeded random fault schedule
# (tests/services/replication/ledger_soak.cc): a 3-member etcd cluster and 3 lodestone-ledger
# processes, concurrent appenders, at least SOAK_FAULTS faults one after another (leader SIGKILL
# and restart, leader SIGSTOP past its lease and SIGCONT, follower SIGKILL and restart, etcd
# member SIGKILL and restart), then convergence and the history check. Prints the seed, each
# fault, and a summary (faults by kind, appends acknowledged, unknown outcomes, anomalies);
# exits non-zero on any anomaly, stall or failure to converge. 100 faults take about 10-15 min.
# Knobs: SOAK_FAULTS (100), SOAK_SEED (random; replays a schedule), SOAK_CLIENTS (4),
#        SOAK_PAUSE_MS (20, between a client's appends), SOAK_DIR (parent of the ledgers' data,
#        kept on failure; default the system temporary directory).
set -euo pipefail
build=${1:-build}
soak="$build/tests/services/replication/ledger_soak"
if [ ! -x "$soak" ]; then
  echo "soak: $soak is not built (make build, or cmake --build $build --target ledger_soak)" >&2
  exit 1
fi
if [ ! -x /usr/bin/etcd ]; then
  echo "soak: /usr/bin/etcd is missing (Debian package etcd-server; make deps)" >&2
  exit 1
fi
echo "== $(nproc) cores; ledger_soak with SOAK_FAULTS=${SOAK_FAULTS:-100}"
exec "$soak"
