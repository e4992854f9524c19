#!/usr/bin/env bash
# The runtime image's root filesystem without a container engine: assembles it with
# ops/images/assemble-rootfs.sh (as the Dockerfile does), checks that it holds no shell or
# tools, then runs the program inside it with chroot as uid/gid 10001, as the pod would: it
# must start (every shared library present), serve /metrics, exit 0 on SIGTERM, and write
# nothing outside its data directory. Needs root for chroot; skipped (77) otherwise.
# With --ledger=LEDGER_BINARY a ledger is started first (outside) and the program gets
# --ledger_address=127.0.0.1:<its port>.
#   usage: check_image_rootfs.sh SOURCE_DIR PROGRAM_BINARY [--ledger=LEDGER_BINARY]
set -euo pipefail
src=${1:?} bin=${2:?}
ledger=""
case ${3-} in --ledger=*) ledger=${3#--ledger=} ;; "") ;; *) echo "unknown argument $3" >&2; exit 2 ;; esac
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then echo "skipped: chroot needs root"; exit 77; fi
program=$(basename "$bin")
# lodestone-server serves EPCIS on 127.0.0.1:7480 by default: a free port here instead.
http_flag=(); [ "$program" = lodestone-server ] && http_flag=(--http_listen=127.0.0.1:0)
work=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-rootfs-XXXXXX")
pid=""
ledger_pid=""
cleanup() { stop_pids "$pid" "$ledger_pid"; rm -rf "$work"; }
trap cleanup EXIT
root="$work/rootfs"

bash "$src/ops/images/assemble-rootfs.sh" "$root" "$bin"
problems=0
for tool in bin/sh bin/bash usr/bin/sh usr/bin/env usr/bin/apt-get usr/bin/dpkg; do
  if [ -e "$root/$tool" ]; then echo "FAIL the image has /$tool"; problems=$((problems + 1)); fi
done
[ -z "$(find "$root" -perm -0002 -not -type l)" ] || { echo "FAIL world-writable paths:"; find "$root" -perm -0002 -not -type l; problems=$((problems + 1)); }
[ "$(stat -c %u "$root/var/lib/lodestone")" = 10001 ] || { echo "FAIL /var/lib/lodestone is not owned by 10001"; problems=$((problems + 1)); }
grep -q '^lodestone:x:10001:10001:' "$root/etc/passwd" || { echo "FAIL no user 10001"; problems=$((problems + 1)); }

extra=()
if [ -n "$ledger" ]; then
  start_ledger "$ledger" "$work"
  [ -n "$ledger_port" ] || { echo "FAIL the ledger did not start"; exit 1; }
  extra+=(--ledger_address="127.0.0.1:$ledger_port")
fi

touch "$work/marker"
# The output files exist before the program starts (the redirections happen in the child).
: >"$work/stdout"; : >"$work/stderr"
chroot --userspec=10001:10001 "$root" "/usr/local/bin/$program" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 "${http_flag[@]}" \
  --data_dir=/var/lib/lodestone "${extra[@]}" >"$work/stdout" 2>"$work/stderr" &
pid=$!
metrics_port=""
read -r _ metrics_port < <(wait_ports "$work/stdout" "$pid") || true
if [ -z "$metrics_port" ]; then
  echo "FAIL $program did not start in the image's root filesystem:"; cat "$work/stdout" "$work/stderr"; exit 1
fi
# (to a file: `curl | grep -q` fails under pipefail when grep stops reading early)
curl -sS --fail --max-time 10 "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt" || true
grep -q '^# TYPE lodestone_' "$work/metrics.txt" ||
  { echo "FAIL no Lodestone metrics from inside the image"; problems=$((problems + 1)); }
if command -v promtool >/dev/null; then
  promtool check metrics <"$work/metrics.txt" || { echo "FAIL promtool check metrics"; problems=$((problems + 1)); }
fi
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "FAIL $program exited $status after SIGTERM"; cat "$work/stderr"; problems=$((problems + 1)); }
written=$(cd "$root" && find . -newer "$work/marker" -not -path './var/lib/lodestone' -not -path './var/lib/lodestone/*')
[ -z "$written" ] || { echo "FAIL $program wrote outside its data directory:"; echo "$written"; problems=$((problems + 1)); }
[ "$problems" = 0 ] || exit 1
echo "ok: $program runs as 10001 from the image's root filesystem (no shell), writes only its data directory"
