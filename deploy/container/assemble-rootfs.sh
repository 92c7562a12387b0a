#!/usr/bin/env bash
# Assembles the runtime image's root filesystem from a built `ares` binary: the binary, exactly
# the shared libraries it links (as `ldd` resolves them on the build machine, plus the dynamic
# loader), the CA certificates (outbound TLS to model endpoints and identity providers), a
# passwd/group entry for the unprivileged user, the docs `ares demo` ingests, and nothing else:
# no shell, no package manager.
#
#   deploy/container/assemble-rootfs.sh BINARY ROOTFS
#
# Also makes ROOTFS-data, an empty directory the image copies to /var/lib/ares owned by the
# unprivileged user (COPY --chown applies to what it creates, not to directories that exist).
#
# Used by the Containerfile's builder stage and by the container test (which builds an image
# from scratch out of this machine's binary, since base images cannot be pulled there).
set -euo pipefail
binary=${1:?usage: assemble-rootfs.sh BINARY ROOTFS}
rootfs=${2:?usage: assemble-rootfs.sh BINARY ROOTFS}
repository=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$binary" ] || { echo "assemble-rootfs: $binary is not an executable" >&2; exit 1; }
command -v ldd >/dev/null || { echo "assemble-rootfs: ldd is needed (Debian: libc-bin)" >&2; exit 1; }

mkdir -p "$rootfs/opt/ares/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/var/lib" "$rootfs-data"
install -m 0755 "$binary" "$rootfs/opt/ares/bin/ares"

# Every library the binary links, at the path the loader looks for it (the resolved path, and
# the path the name was found under when that is a symlink, e.g. /lib -> /usr/lib on Debian).
ldd "$binary" | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r library; do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
  resolved=$(readlink -f "$library")
  if [ "$resolved" != "$library" ]; then
    mkdir -p "$rootfs$(dirname "$resolved")"
    cp -L "$library" "$rootfs$resolved"
  fi
done
if ldd "$binary" | grep -q "not found"; then
  echo "assemble-rootfs: $binary links a library this machine does not have:" >&2
  ldd "$binary" | grep "not found" >&2
  exit 1
fi

# CA certificates for outbound TLS; an image without them cannot reach https model endpoints.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
else
  echo "assemble-rootfs: /etc/ssl/certs/ca-certificates.crt is missing (Debian: ca-certificates)" >&2
  exit 1
fi

# The unprivileged user (uid/gid 10001) the image runs as; no login shell exists.
printf 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nares:x:10001:10001:ares:/var/lib/ares:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nares:x:10001:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"

# `ares demo` ingests the project's docs found beside the binary (/opt/ares/docs).
cp -R "$repository/docs" "$rootfs/opt/ares/docs"

chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs-data"
echo "assemble-rootfs: $(find "$rootfs" -type f | wc -l) files, $(du -sh "$rootfs" | cut -f1) in $rootfs"
