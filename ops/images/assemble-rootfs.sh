#!/usr/bin/env bash
# Assembles the root filesystem of a Lodestone runtime image from a Debian system that has the
# programs' shared libraries installed (the image's build stage):
#   /usr/local/bin/<program>      the programs
#   their shared libraries        exactly the ones ldd resolves, from Debian 12's packages
#   /etc/passwd, /etc/group       user and group lodestone, uid/gid 10001 (and root)
#   /etc/ssl/certs/ca-certificates.crt, /etc/nsswitch.conf
#   /var/lib/dpkg/status.d/<pkg>  the Debian packages the libraries come from (for image
#   /usr/share/doc/<pkg>/copyright scanners and licences)
#   /var/lib/lodestone            the data directory, owned by 10001 (the only writable path)
# No shell, no package manager, no tools. The result runs as uid 10001 with a read-only root.
#   usage: assemble-rootfs.sh ROOTFS PROGRAM_BINARY...
set -euo pipefail
root=${1:?usage: assemble-rootfs.sh ROOTFS PROGRAM_BINARY...}
shift
[ $# -gt 0 ] || { echo "usage: assemble-rootfs.sh ROOTFS PROGRAM_BINARY..." >&2; exit 2; }
uid=10001

mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/var/lib/dpkg/status.d" "$root/var/lib/lodestone"
# Debian 12 merges /lib into /usr/lib: keep the same links so that the ELF interpreter path
# (/lib64/ld-linux-x86-64.so.2) and the linker's default directories resolve.
for dir in lib lib32 lib64 libx32; do
  if [ -L "/$dir" ]; then ln -sfn "$(readlink "/$dir")" "$root/$dir"; fi
done

libraries=()
for bin in "$@"; do
  install -m 0755 "$bin" "$root/usr/local/bin/$(basename "$bin")"
  deps=$(ldd "$bin")
  if grep -q 'not found' <<<"$deps"; then
    echo "assemble-rootfs: unresolved libraries of $bin:" >&2; grep 'not found' <<<"$deps" >&2; exit 1
  fi
  # "libx.so.1 => /path/libx.so.1 (0x...)" and the interpreter "/lib64/ld-linux-x86-64.so.2 (0x...)".
  while read -r lib; do libraries+=("$lib"); done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$deps")
done

candidates=()
for lib in $(printf '%s\n' "${libraries[@]}" | sort -u); do
  dir=$(realpath "$(dirname "$lib")")
  mkdir -p "$root$dir"
  cp -L "$lib" "$root$dir/$(basename "$lib")"
  # Paths under which dpkg may know the file (with or without the /usr merge).
  real=$(realpath "$lib")
  candidates+=("$lib" "$dir/$(basename "$lib")" "${lib#/usr}" "$real" "${real#/usr}")
done
# The Debian packages the libraries come from (one dpkg query; unknown paths are ignored).
mapfile -t packages < <(dpkg -S "${candidates[@]}" 2>/dev/null | cut -d: -f1 | sort -u)

for pkg in $(printf '%s\n' "${packages[@]}" | sort -u); do
  dpkg -s "$pkg" | grep -vE '^(Conffiles|Description|Homepage|Original-Maintainer):|^ ' >"$root/var/lib/dpkg/status.d/$pkg"
  if [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$root/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/"
  fi
done

printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nlodestone:x:%d:%d:Lodestone:/var/lib/lodestone:/usr/sbin/nologin\n' \
  "$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\nlodestone:x:%d:\n' "$uid" >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
chown "$uid:$uid" "$root/var/lib/lodestone"
chmod 0750 "$root/var/lib/lodestone"
echo "assemble-rootfs: $# program(s), $(printf '%s\n' "${libraries[@]}" | sort -u | wc -l) libraries from" \
  "$(printf '%s\n' "${packages[@]}" | sort -u | wc -l) Debian packages in $root ($(du -sh "$root" | cut -f1))"
