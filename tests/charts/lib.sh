# shellcheck shell=bash
# Shared by the chart tests' scripts (sourced).

# wait_ports FILE PID: waits (bounded: at most 30 s) until FILE, the stdout of PID, has the line
# "...: serving gRPC on port N, metrics on port M..." and prints "N M"; prints an empty line if
# PID exits or the time runs out.
wait_ports() {
  local file=$1 pid=$2 ports=""
  for _ in $(seq 1 300); do
    ports=$(sed -n 's/.*serving gRPC on port \([0-9]*\), metrics on port \([0-9]*\).*/\1 \2/p' "$file")
    [ -n "$ports" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$ports"
}

# start_ledger LEDGER_BINARY WORK_DIR: starts a ledger on free loopback ports with its data in
# WORK_DIR/ledger-data; sets ledger_pid and ledger_port (empty if it did not start).
start_ledger() {
  local bin=$1 dir=$2
  : >"$dir/ledger.stdout"; : >"$dir/ledger.stderr"
  "$bin" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --data_dir="$dir/ledger-data" \
    >"$dir/ledger.stdout" 2>"$dir/ledger.stderr" &
  ledger_pid=$!
  ledger_port=""
  read -r ledger_port _ < <(wait_ports "$dir/ledger.stdout" "$ledger_pid") || true
  if [ -z "$ledger_port" ]; then cat "$dir/ledger.stdout" "$dir/ledger.stderr"; fi
}

# stop_pids PID...: kills what is still running and reaps it.
stop_pids() {
  local p
  for p in "$@"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
}

# make_test_tls DIR: a throwaway CA (DIR/ca.crt), a certificate for 127.0.0.1 and localhost
# usable by servers and clients (DIR/tls.crt, DIR/tls.key: the names of the chart's Secret;
# identity urn:lodestone:node:chart-test, as the programs' certificate has one), a client
# certificate without identity (DIR/client.crt, DIR/client.key) and the administrator's
# (DIR/admin.crt, DIR/admin.key: urn:lodestone:party:lodestone-admin), made with openssl, valid
# 2 days.
make_test_tls() {
  local dir=$1 name uri
  mkdir -p "$dir"
  printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = Lodestone chart test CA\n[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n' >"$dir/ca.cnf"
  openssl req -x509 -config "$dir/ca.cnf" -extensions v3_ca -newkey ec \
    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -days 2 </dev/null >>"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log"; return 1; }
  for name in tls client admin; do
    case $name in
      tls) uri=", URI:urn:lodestone:node:chart-test" ;;
      admin) uri=", URI:urn:lodestone:party:lodestone-admin" ;;
      *) uri="" ;;
    esac
    printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = %s\n[ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost%s\n' \
      "$name" "$uri" >"$dir/$name.cnf"
    if ! { openssl req -new -config "$dir/$name.cnf" -newkey ec \
             -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/$name.key" \
             -out "$dir/$name.csr" </dev/null >>"$dir/openssl.log" 2>&1 &&
           openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
             -set_serial "$RANDOM$RANDOM" -days 2 -extfile "$dir/$name.cnf" -extensions ext \
             -out "$dir/$name.crt" </dev/null >>"$dir/openssl.log" 2>&1; }; then
      cat "$dir/openssl.log"
      return 1
    fi
  done
}
