#!/bin/sh
# Builds the image's libav: Debian's FFmpeg 5.1 source package (Debian's security patches
# applied), configured with only the components docker/libav-components names, installed
# into /usr/local. Runs in the Dockerfile's `libav` stage: Debian 12 with deb-src entries.
#   build-libav.sh COMPONENTS_FILE
set -eu
components=$1

# "decoder h264 hevc" lines become --enable-decoder=h264,hevc; "parser all" --enable-parsers.
flags=$(awk '
  /^[[:space:]]*(#|$)/ { next }
  { kind = $1; for (i = 2; i <= NF; i++) names[kind] = names[kind] (names[kind] ? "," : "") $i }
  END {
    for (kind in names) {
      if (names[kind] == "all") printf " --enable-%ss", kind
      else printf " --enable-%s=%s", kind, names[kind]
    }
  }' "$components")

mkdir -p /tmp/libav && cd /tmp/libav
apt-get source --only-source ffmpeg >/dev/null
cd ffmpeg-*/

# shellcheck disable=SC2086 # $flags is a list of words
./configure --prefix=/usr/local --enable-shared --disable-static \
  --disable-everything --disable-autodetect --disable-programs --disable-doc \
  --disable-avdevice --disable-postproc --disable-network --disable-debug \
  --enable-pthreads --enable-zlib --enable-bzlib \
  --enable-gpl --enable-libx264 --enable-libdav1d \
  $flags >configure.out 2>&1 || { tail -n 30 configure.out; exit 1; }

# configure only warns about a name it does not know: here that is an error in the list.
if grep -i "did not match anything\|unknown option" configure.out; then
  echo "build-libav.sh: fix the names above in $components" >&2
  exit 1
fi
grep -E "^(Enabled|External|License)" -A3 configure.out | head -n 40 || true

make -j"$(nproc)" >make.out 2>&1 || { tail -n 40 make.out; exit 1; }
make install >/dev/null
ldconfig
cd / && rm -rf /tmp/libav
