#!/bin/sh
# Gathers the image's whole root filesystem from the build stage: the shared libraries the
# binary links (its `ldd` closure, nothing else), split into the system's (glibc, libgcc,
# zlib, x264, dav1d: Debian's packages) and our libav (/usr/local/lib); the CA certificates;
# an unprivileged user; the folders the service writes. Runs in the Dockerfile's `rootfs`
# stage; the final image is `FROM scratch` plus these two folders and the binary.
#   runtime-root.sh BINARY
set -eu
binary=$1
system=/rootfs/system
libav=/rootfs/libav

if ldd "$binary" | grep "not found"; then
  echo "runtime-root.sh: $binary links libraries this stage lacks" >&2
  exit 1
fi
for library in $(ldd "$binary" | awk '/=>/ { print $3 } !/=>/ && /^\t\// { print $1 }'); do
  case "$library" in
    /usr/local/lib/*) root=$libav ;;
    *) root=$system ;;
  esac
  # The file under the name the loader asks for (the soname link, resolved).
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done

mkdir -p "$system/etc/ssl/certs" "$system/tmp" "$system/var/lib/hls-ladder/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$system/etc/ssl/certs/"
# The loader's cache: /usr/local/lib is not among its default folders.
cp /etc/ld.so.cache /etc/nsswitch.conf "$system/etc/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nhls:x:10001:10001:hls-ladder:/var/lib/hls-ladder:/sbin/nologin\n' >"$system/etc/passwd"
printf 'root:x:0:\nhls:x:10001:\n' >"$system/etc/group"
chmod 1777 "$system/tmp"
chown -R 10001:10001 "$system/var/lib/hls-ladder"
