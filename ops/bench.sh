#!/usr/bin/env bash
# `make bench`: prints figures; asserts nothing. Three parts, each on fresh temporary data:
#  1. ledger: durable appends (fsync per commit group) driven by lodestone-loadgen, then a fill
#     to BENCH_FILL events for on-disk bytes per event and the ledger's RSS, then a backup
#     (lodectl backup) and a restore with full verification (lodectl restore), timed;
#  2. provenance: a generated supply-chain graph of BENCH_GRAPH_LOTS lots is appended to a
#     ledger, a fresh lodestone-provenance folds it (fold rate), then GetLot/TraceOrigin rates
#     against the ledger's Echo, trace latency by depth, and the provenance RSS;
#  3. import: the same graph as NDJSON through `lodectl append` into the embedded server, until
#     every event is queryable;
#  signed: durable appends unsigned and signed (lodestone-loadgen --signing_key, Ed25519), each on
#     a fresh ledger, events built and signed before the clock: 100-event batches x 16 clients
#     (events/s) and one event per append with 1 client (p50), side by side with the ratio. Runs
#     by default and with BENCH_PARTS containing "signed"; BENCH_SIGNED_BATCH_EVENTS and
#     BENCH_SIGNED_SINGLE_EVENTS size the prebuilt events (default: enough for BENCH_SECONDS);
#  4. replicated: batched durable appends (lodestone-loadgen, BENCH_REPL_SCENARIOS) against the
#     embedded single node, then against the leader and through a follower of 3 lodestone-ledger
#     nodes on a 3-member etcd cluster (etcd data on /dev/shm when it exists, the test harness's
#     etcd flags), with the ratio; then failover: ledger_failover_bench SIGKILLs the leader under a
#     light load BENCH_FAILOVER_KILLS times and prints the time from each kill to the first
#     acknowledged append through a surviving node, and the maximum;
#  5. powercut: storage_power_cut_test with BENCH_POWER_CUTS power cuts (a fault-injection file
#     system drops every unsynced write) under concurrent appends; prints cuts, acknowledged
#     records and lost acknowledged requests (0, or the test fails).
#  6. timetravel: the size of the provenance views with versions (docs/time-travel.md) for the
#     demo and for the BENCH_GRAPH_LOTS graph, and with BENCH_BASELINE_BUILD (a build directory
#     of a commit before versioned views, view format 5) the same folds by that build and the
#     ratio. Sizes are live SST bytes after a restart (which flushes what the WAL held) and the
#     directory's bytes. GetLot/TraceOrigin now versus at an old position are in part 2.
#  7. epcis: durable captures of 100-event EPCIS documents over HTTP (ops/epcis_bench.py, 16
#     clients each waiting for its capture job) against gRPC 100-event batches (loadgen
#     batch100x16) on the same lodestone-ledger, events/s and the ratio; then GET /events p50/p99
#     on a ledger filled to BENCH_EPCIS_EVENTS events (a page of 100 at a random position, and a
#     filter that matches nothing so each request scans its 20,000-event limit).
# Knobs: BENCH_SECONDS (per scenario, 5), BENCH_FILL (10000000), BENCH_GRAPH_LOTS (1000000),
#        BENCH_PARTS (default "ledger provenance import replicated powercut timetravel epcis"),
#        BENCH_REPL_SCENARIOS (single16,batch100x16), BENCH_FAILOVER_KILLS (5),
#        BENCH_POWER_CUTS (1000), BENCH_BASELINE_BUILD (unset), BENCH_EPCIS_EVENTS (1000000),
#        BENCH_EPCIS_QUERIES (200).
set -euo pipefail
build=${1:-build}
seconds=${BENCH_SECONDS:-5}
fill=${BENCH_FILL:-10000000}
graph_lots=${BENCH_GRAPH_LOTS:-1000000}
parts=${BENCH_PARTS:-ledger provenance import replicated powercut timetravel epcis}
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-bench-XXXXXX")
pids=()
extra_dirs=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work" "${extra_dirs[@]}"
}
trap cleanup EXIT
loadgen="$build/services/loadgen/lodestone-loadgen"

# start NAME BINARY ARGS...: starts a program on free ports; sets $pid, $port, $metrics_port.
start() {
  local name=$1
  shift
  "$@" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 >"$work/$name.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    grep -q 'serving gRPC on port' "$work/$name.out" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/$name.out")
  metrics_port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$work/$name.out")
  [ -n "$port" ] || { cat "$work/$name.out"; exit 1; }
}
stop() { kill -TERM "$1" && wait "$1" 2>/dev/null || true; }
rss() { awk '/VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }
peak() { awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
per() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.0f", s / e }'; }

echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo)"

if [[ " $parts " == *" ledger "* ]]; then
  start ledger "$build/services/programs/ledger/lodestone-ledger" --data_dir="$work/ledger" \
    --backup_dir="$work/backups"
  echo "== 1. ledger: durable appends (fsync per commit group)"
  "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --fill="$fill"
  size=$(du -sb "$work/ledger" | cut -f1)
  events=$("$loadgen" --target="127.0.0.1:$port" --head_only)
  sst=$(metric "$metrics_port" lodestone_rocksdb_sst_bytes)
  echo "== after fill: $events events; data dir $((size / 1048576)) MiB ($(per "$size" "$events")" \
    "bytes/event, WAL and uncompacted levels included); live SST $(per "${sst%.*}" "$events")" \
    "bytes/event; ledger RSS $(rss "$pid") (peak $(peak "$pid"))"
  # Backup (online, through the node) and restore (verified end to end) of the filled ledger.
  lodectl="$build/services/lodectl/lodectl"
  start_ns=$(date +%s%N)
  "$lodectl" --server="127.0.0.1:$port" --deadline_ms=3600000 backup
  backup_ns=$(($(date +%s%N) - start_ns))
  stop "$pid"
  start_ns=$(date +%s%N)
  "$lodectl" restore "$work/backups" "$work/restored"
  restore_ns=$(($(date +%s%N) - start_ns))
  awk -v e="$events" -v b="$backup_ns" -v r="$restore_ns" \
    -v bs="$(du -sb "$work/backups" | cut -f1)" 'BEGIN { printf "== backup of %d events: %.1f s, %d MiB; restore with full verification: %.1f s\n", e, b / 1e9, bs / 1048576, r / 1e9 }'
  rm -rf "$work/ledger" "$work/backups" "$work/restored"
fi

if [[ " $parts " == *" provenance "* ]]; then
  echo "== 2. provenance: a generated graph of $graph_lots lots"
  start ledger2 "$build/services/programs/ledger/lodestone-ledger" --data_dir="$work/ledger2"
  ledger_pid=$pid
  ledger_port=$port
  "$loadgen" --target="127.0.0.1:$ledger_port" --graph_lots="$graph_lots" --scenarios=
  start provenance "$build/services/programs/provenance/lodestone-provenance" --data_dir="$work/views" \
    --ledger_address="127.0.0.1:$ledger_port"
  "$loadgen" --target="127.0.0.1:$ledger_port" --graph_lots="$graph_lots" \
    --provenance="127.0.0.1:$port" --seconds="$seconds"
  echo "== provenance RSS $(rss "$pid") (peak $(peak "$pid")); ledger RSS $(rss "$ledger_pid")"
  stop "$pid"
  stop "$ledger_pid"
  rm -rf "$work/ledger2" "$work/views"
fi

if [[ " $parts " == *" import "* ]]; then
  echo "== 3. import: lodectl append of the $graph_lots-lot graph into the embedded server"
  "$loadgen" --graph_lots="$graph_lots" --graph_ndjson="$work/graph.ndjson"
  start server "$build/services/programs/server/lodestone-server" --http_listen=127.0.0.1:0 --data_dir="$work/server"
  lodectl=("$build/services/lodectl/lodectl" --server="127.0.0.1:$port" --progress=false)
  lines=$(wc -l <"$work/graph.ndjson")
  start_ns=$(date +%s%N)
  "${lodectl[@]}" append "$work/graph.ndjson"
  size=$("${lodectl[@]}" head | sed -n 's/^size //p')
  # Queryable: the views have folded everything (read-your-writes on the last lot).
  last_lot=$(tail -n 1 "$work/graph.ndjson" | sed -n 's/.*"lotId":"\([^"]*\)".*/\1/p' | tail -n 1)
  until "${lodectl[@]}" --min_position="$size" --deadline_ms=60000 lot "$last_lot" >/dev/null; do
    sleep 0.5
  done
  end_ns=$(date +%s%N)
  awk -v n="$lines" -v ns="$((end_ns - start_ns))" \
    'BEGIN { printf "== import: %d events appended and queryable in %.1f s: %.0f events/s end to end\n", n, ns / 1e9, n / (ns / 1e9) }'
  echo "== embedded server RSS $(rss "$pid") (peak $(peak "$pid"))"
  stop "$pid"
fi

if [[ -z "${BENCH_PARTS:-}" || " $parts " == *" signed "* ]]; then
  echo "== signed vs unsigned: durable appends, a fresh ledger each, events built (and signed)" \
    "before the clock"
  # Enough prebuilt events for the fastest rate seen here (~70k events/s batched, ~3k single).
  batch_events=${BENCH_SIGNED_BATCH_EVENTS:-$(awk -v s="$seconds" 'BEGIN { printf "%d", s * 70000 }')}
  single_events=${BENCH_SIGNED_SINGLE_EVENTS:-$(awk -v s="$seconds" 'BEGIN { printf "%d", s * 4000 }')}
  openssl genpkey -algorithm ed25519 -out "$work/signing.pem" 2>/dev/null
  # ticks PID: the process's user + system CPU time so far, in clock ticks.
  ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  hz=$(getconf CLK_TCK)
  for mode in unsigned signed; do
    start "ledger-$mode" "$build/services/programs/ledger/lodestone-ledger" \
      --data_dir="$work/ledger-$mode"
    sign=()
    [ "$mode" = signed ] && sign=(--signing_key="$work/signing.pem")
    echo "-- $mode"
    t0=$(ticks "$pid")
    "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --scenarios=batch100x16 \
      --prebuilt_events="$batch_events" "${sign[@]}" | tee "$work/$mode-batch.txt"
    t1=$(ticks "$pid")
    # The ledger's own CPU per appended event (the client's signing is not in it).
    awk -v t="$((t1 - t0))" -v hz="$hz" '$1 == "batch100x16" { printf "%.1f\n", 1e6 * t / hz / ($4 * $3) }' \
      "$work/$mode-batch.txt" >"$work/$mode-cpu.txt"
    echo "-- ledger CPU per event in batch100x16 ($mode): $(cat "$work/$mode-cpu.txt") us"
    "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --scenarios=single1 \
      --prebuilt_events="$single_events" "${sign[@]}" | tee "$work/$mode-single.txt"
    echo "-- ledger RSS ($mode) $(rss "$pid")"
    stop "$pid"
    rm -rf "$work/ledger-$mode"
  done
  # cell FILE SCENARIO N: column N of the scenario's row in loadgen's table.
  cell() { awk -v s="$2" -v n="$3" '$1 == s {print $n}' "$1"; }
  echo "== signed vs unsigned (targets: batches >= 60% of unsigned; single p50 <= +0.15 ms)"
  printf "%-22s %12s %12s %12s\n" figure unsigned signed signed/unsigned
  u=$(cell "$work/unsigned-batch.txt" batch100x16 5)
  g=$(cell "$work/signed-batch.txt" batch100x16 5)
  printf "%-22s %12s %12s %12s\n" "batch100x16 events/s" "$u" "$g" \
    "$(awk -v a="$g" -v b="$u" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')"
  for n in 6 7; do
    name=$([ "$n" = 6 ] && echo p50 || echo p99)
    u=$(cell "$work/unsigned-single.txt" single1 "$n")
    g=$(cell "$work/signed-single.txt" single1 "$n")
    printf "%-22s %12s %12s %12s\n" "single1 $name ms" "$u" "$g" \
      "$(awk -v a="$g" -v b="$u" 'BEGIN { printf "%+.3f ms", a - b }')"
  done
  u=$(cat "$work/unsigned-cpu.txt")
  g=$(cat "$work/signed-cpu.txt")
  printf "%-22s %12s %12s %12s\n" "ledger CPU us/event" "$u" "$g" \
    "$(awk -v a="$g" -v b="$u" 'BEGIN { printf "%+.1f us", a - b }')"
  grep -h '^signing: .* to sign' "$work/signed-batch.txt" | head -n 1
fi

if [[ " $parts " == *" replicated "* ]]; then
  scenarios=${BENCH_REPL_SCENARIOS:-single16,batch100x16}
  kills=${BENCH_FAILOVER_KILLS:-5}
  # rate FILE SCENARIO: the events/s column of loadgen's table.
  rate() { awk -v s="$2" '$1 == s {print $5}' "$1"; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
  # free_port: a loopback port nothing listens on, not handed out before.
  taken=" "
  free_port() {
    local p
    while :; do
      p=$((20000 + RANDOM % 40000))
      [[ "$taken" == *" $p "* ]] && continue
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
      taken+="$p "
      echo "$p"
      return
    done
  }

  echo "== 4. replicated: durable appends, embedded vs 3 nodes on a 3-member etcd ($scenarios)"
  start embedded "$build/services/programs/ledger/lodestone-ledger" --data_dir="$work/embedded"
  echo "-- embedded single node (no etcd)"
  "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --scenarios="$scenarios" |
    tee "$work/embedded.txt"
  stop "$pid"
  rm -rf "$work/embedded"

  # etcd: 3 members on loopback, data on tmpfs when available (tests/support/etcd_cluster.h).
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    etcd_root=$(mktemp -d /dev/shm/lodestone-bench-etcd-XXXXXX)
    extra_dirs+=("$etcd_root")
  else
    etcd_root="$work/etcd"
    mkdir -p "$etcd_root"
  fi
  client_ports=() peer_ports=() initial="" endpoints=""
  for i in 0 1 2; do
    client_ports+=("$(free_port)")
    peer_ports+=("$(free_port)")
    initial+="${initial:+,}m$i=http://127.0.0.1:${peer_ports[$i]}"
    endpoints+="${endpoints:+,}127.0.0.1:${client_ports[$i]}"
  done
  for i in 0 1 2; do
    /usr/bin/etcd --name "m$i" --data-dir "$etcd_root/m$i" \
      --listen-client-urls "http://127.0.0.1:${client_ports[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${client_ports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${peer_ports[$i]}" \
      --initial-cluster "$initial" --initial-cluster-state new \
      --initial-cluster-token "lodestone-bench-$$" --heartbeat-interval 50 \
      --election-timeout 500 --logger zap --log-outputs "$etcd_root/m$i.log" &
    pids+=("$!")
  done
  for _ in $(seq 1 300); do
    ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1 && break
    sleep 0.1
  done
  ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1 ||
    { echo "etcd did not become healthy"; tail -n 20 "$etcd_root/m0.log"; exit 1; }
  echo "-- etcd: 3 members on $etcd_root ($endpoints)"
  node_ports=() node_metrics=() node_pids=()
  for i in 0 1 2; do
    start "node$i" "$build/services/programs/ledger/lodestone-ledger" --data_dir="$work/node$i" \
      --etcd_endpoints="$endpoints" --node_id="node$i" --lease_ttl_ms=1500
    node_ports+=("$port")
    node_metrics+=("$metrics_port")
    node_pids+=("$pid")
  done
  leader=""
  for _ in $(seq 1 300); do
    for i in 0 1 2; do
      [ "$(metric "${node_metrics[$i]}" lodestone_replication_is_leader)" = 1 ] && leader=$i
    done
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "no ledger node became leader"; exit 1; }
  follower=$(((leader + 1) % 3))
  echo "-- 3-node cluster: appends to the leader (node$leader)"
  "$loadgen" --target="127.0.0.1:${node_ports[$leader]}" --seconds="$seconds" \
    --scenarios="$scenarios" | tee "$work/leader.txt"
  echo "-- 3-node cluster: appends through a follower (node$follower, forwarded to the leader)"
  "$loadgen" --target="127.0.0.1:${node_ports[$follower]}" --seconds="$seconds" \
    --scenarios="$scenarios" | tee "$work/follower.txt"
  echo "== replicated vs embedded (events/s; target: replicated >= 30% of embedded)"
  printf "%-14s %12s %12s %12s %9s %9s\n" scenario embedded leader follower leader% follower%
  for s in ${scenarios//,/ }; do
    e=$(rate "$work/embedded.txt" "$s")
    l=$(rate "$work/leader.txt" "$s")
    f=$(rate "$work/follower.txt" "$s")
    printf "%-14s %12s %12s %12s %9s %9s\n" "$s" "$e" "$l" "$f" "$(ratio "$l" "$e")" \
      "$(ratio "$f" "$e")"
  done
  echo "== leader RSS $(rss "${node_pids[$leader]}"); follower RSS $(rss "${node_pids[$follower]}")"
  for p in "${node_pids[@]}"; do stop "$p"; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done

  echo "== failover: SIGKILL the leader under a light load, $kills times (target <= 3 s)"
  "$build/tests/services/replication/ledger_failover_bench" --kills="$kills" --data_dir="$work"
fi

if [[ " $parts " == *" powercut "* ]]; then
  cuts=${BENCH_POWER_CUTS:-1000}
  echo "== 5. power cuts: $cuts cuts at random file-system calls under 4 concurrent writers"
  start_ns=$(date +%s%N)
  LODESTONE_POWER_CUTS="$cuts" TMPDIR="$work" "$build/tests/storage/storage_power_cut_test" \
    >"$work/powercut.out" 2>&1 || { cat "$work/powercut.out"; exit 1; }
  end_ns=$(date +%s%N)
  grep '^power cuts survived' "$work/powercut.out"
  awk -v ns="$((end_ns - start_ns))" 'BEGIN { printf "== power cuts: %.0f s\n", ns / 1e9 }'
fi

if [[ " $parts " == *" timetravel "* ]]; then
  echo "== 6. time travel: the size of the views with versions"
  demo="$(cd "$(dirname "$0")/.." && pwd)/services/programs/server/demo/demo.ndjson"
  lodectl="$build/services/lodectl/lodectl"  # this build's client, for either server
  builds=("$build")
  [ -n "${BENCH_BASELINE_BUILD:-}" ] && builds+=("$BENCH_BASELINE_BUILD")
  # views_size NAME BINARY ARGS...: restarts the program on its data (the restart flushes the
  # WAL into SST files), prints "SST_BYTES DIR_BYTES" of the views directory VIEWS (set by the
  # caller), stops it.
  views_size() {
    start "$@"
    local sst
    sst=$(metric "$metrics_port" lodestone_provenance_rocksdb_sst_bytes)
    stop "$pid"
    echo "${sst%.*} $(du -sb "$views" | cut -f1)"
  }
  mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
  declare -A demo_sst=() graph_sst=()
  n=0
  for b in "${builds[@]}"; do
    n=$((n + 1))
    # The demo, in the embedded server.
    dir="$work/tt-demo-$n"
    http=()  # a baseline build may predate --http_listen (default 127.0.0.1:7480)
    [ "$b" = "$build" ] && http=(--http_listen=127.0.0.1:0)
    start tt-demo "$b/services/programs/server/lodestone-server" "${http[@]}" --data_dir="$dir" \
      --sync=false
    "$lodectl" --server="127.0.0.1:$port" --progress=false append "$demo" >/dev/null
    size=$("$lodectl" --server="127.0.0.1:$port" head | sed -n 's/^size //p')
    "$lodectl" --server="127.0.0.1:$port" --min_position="$size" flags >/dev/null
    stop "$pid"
    views="$dir/provenance"
    read -r sst bytes < <(views_size tt-demo "$b/services/programs/server/lodestone-server" \
      "${http[@]}" --data_dir="$dir" --sync=false)
    demo_sst[$b]=$sst
    echo "-- $b: demo ($size events): views $(mib "$sst") live SST ($(per "$sst" "$size") bytes/event), directory $(mib "$bytes")"
    rm -rf "$dir"
  done
  start tt-ledger "$build/services/programs/ledger/lodestone-ledger" --data_dir="$work/tt-ledger" \
    --sync=false
  ledger_pid=$pid
  ledger_port=$port
  "$loadgen" --target="127.0.0.1:$ledger_port" --graph_lots="$graph_lots" --scenarios= >/dev/null
  size=$("$loadgen" --target="127.0.0.1:$ledger_port" --head_only)
  for b in "${builds[@]}"; do
    n=$((n + 1))
    views="$work/tt-views-$n"
    prov=("$b/services/programs/provenance/lodestone-provenance" --data_dir="$views"
      --ledger_address="127.0.0.1:$ledger_port")
    start tt-prov "${prov[@]}"
    start_ns=$(date +%s%N)
    until "$lodectl" --server="127.0.0.1:$port" --min_position="$size" \
      --deadline_ms=60000 flags >/dev/null 2>&1; do
      sleep 0.5
    done
    end_ns=$(date +%s%N)
    stop "$pid"
    read -r sst bytes < <(views_size tt-prov "${prov[@]}")
    graph_sst[$b]=$sst
    awk -v b="$b" -v n="$size" -v ns="$((end_ns - start_ns))" -v sst="$sst" -v bytes="$bytes" \
      'BEGIN { printf "-- %s: %d-event graph folded in %.1f s (%.0f events/s); views %.1f MiB live SST (%.0f bytes/event), directory %.1f MiB\n", b, n, ns / 1e9, n / (ns / 1e9), sst / 1048576, sst / n, bytes / 1048576 }'
    rm -rf "$views"
  done
  stop "$ledger_pid"
  if [ -n "${BENCH_BASELINE_BUILD:-}" ]; then
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
    echo "== views with versions / without (view format 5, $BENCH_BASELINE_BUILD): demo" \
      "$(ratio "${demo_sst[$build]}" "${demo_sst[$BENCH_BASELINE_BUILD]}"), graph of $graph_lots lots" \
      "$(ratio "${graph_sst[$build]}" "${graph_sst[$BENCH_BASELINE_BUILD]}") (target: <= 2x)"
  fi
fi

if [[ " $parts " == *" epcis "* ]]; then
  echo "== 7. epcis: captures of 100-event documents over HTTP vs gRPC 100-event batches"
  epcis_bench="$(cd "$(dirname "$0")" && pwd)/epcis_bench.py"
  start epcis-ledger "$build/services/programs/ledger/lodestone-ledger" \
    --data_dir="$work/epcis-ledger" --http_listen=127.0.0.1:0
  for _ in $(seq 1 100); do
    grep -q 'serving EPCIS 2.0 at' "$work/epcis-ledger.out" && break
    sleep 0.1
  done
  epcis_url=$(sed -n 's/.*serving EPCIS 2.0 at \(.*\)$/\1/p' "$work/epcis-ledger.out")
  lodectl="$build/services/lodectl/lodectl"
  cat >"$work/epcis-master.ndjson" <<'NDJSON'
{"eventId":"bench-party","eventTime":"2025-01-08T09:00:00Z","subject":"party/bench-miner","actor":"bench-miner","partyRegistered":{"partyId":"bench-miner","name":"bench miner","country":"AU"}}
{"eventId":"bench-mine","eventTime":"2025-01-09T09:00:00Z","subject":"facility/bench-mine","actor":"bench-miner","facilityRegistered":{"facilityId":"bench-mine","operatorPartyId":"bench-miner","country":"AU","kind":"FACILITY_KIND_MINE","name":"bench mine"}}
NDJSON
  "$lodectl" --server="127.0.0.1:$port" --progress=false append "$work/epcis-master.ndjson" >/dev/null
  "$loadgen" --target="127.0.0.1:$port" --seconds="$seconds" --scenarios=batch100x16 |
    tee "$work/epcis-grpc.txt"
  python3 "$epcis_bench" capture "$epcis_url" "$seconds" 16 bench-mine | tee "$work/epcis-http.txt"
  grpc_rate=$(awk '$1 == "batch100x16" {print $5}' "$work/epcis-grpc.txt")
  http_rate=$(awk '$1 == "capture100x16" {print $5}' "$work/epcis-http.txt")
  echo "== capture100x16 $http_rate events/s vs gRPC batch100x16 $grpc_rate events/s:" \
    "$(awk -v a="$http_rate" -v b="$grpc_rate" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')" \
    "(target: >= 50%); capture p50/p99 ms: $(awk '{print $6 " / " $7}' "$work/epcis-http.txt")"
  epcis_events=${BENCH_EPCIS_EVENTS:-1000000}
  start_ns=$(date +%s%N)
  "$loadgen" --target="127.0.0.1:$port" --scenarios= --fill="$epcis_events" >/dev/null
  size=$("$loadgen" --target="127.0.0.1:$port" --head_only)
  awk -v n="$size" -v ns="$(($(date +%s%N) - start_ns))" \
    'BEGIN { printf "== GET /events on a ledger of %d events (filled in %.0f s); p50 and p99 ms:\n", n, ns / 1e9 }'
  python3 "$epcis_bench" query "$epcis_url" "${BENCH_EPCIS_QUERIES:-200}" "$size"
  stop "$pid"
  rm -rf "$work/epcis-ledger"
fi
