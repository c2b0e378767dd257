#!/bin/sh
# Builds the image's libav: Debian's FFmpeg 5.1 source package (Debian's security patches
# applied), configured with only the components docker/libav-components names, installed
# into /usr/local. Runs in the Dockerfile's `libav` stage: Debian 12 with deb-src entries.
#   build-libav.sh COMPONENTS_FILE
set -eu
export LC_ALL=C
components=$1

mkdir -p /tmp/libav && cd /tmp/libav
apt-get source --only-source ffmpeg >/dev/null
cd ffmpeg-*/

# The names of KIND the components file lists, one per line (`all` for every one).
listed() { awk -v kind="$1" '$1 == kind { for (i = 2; i <= NF; i++) print $i }' "$components" | sort -u; }
kinds=$(awk '/^[[:space:]]*(#|$)/ { next } { print $1 }' "$components" | sort -u)

# Every name must be one configure knows (it warns only when none of a list matches); each
# kind becomes one option: "decoder h264 hevc" --enable-decoder=h264,hevc, "parser all"
# --enable-parsers.
flags=
for kind in $kinds; do
  listed "$kind" >"/tmp/listed.$kind"
  if [ "$(cat "/tmp/listed.$kind")" = all ]; then
    flags="$flags --enable-${kind}s"
    continue
  fi
  ./configure "--list-${kind}s" | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u >"/tmp/known.$kind"
  unknown=$(comm -23 "/tmp/listed.$kind" "/tmp/known.$kind")
  if [ -n "$unknown" ]; then
    echo "build-libav.sh: configure knows no $kind named:" $unknown "($components)" >&2
    exit 1
  fi
  flags="$flags --enable-$kind=$(paste -sd, "/tmp/listed.$kind")"
done

# shellcheck disable=SC2086 # $flags is a list of words
./configure --prefix=/usr/local --enable-shared --disable-static \
  --disable-everything --disable-autodetect --disable-programs --disable-doc \
  --disable-avdevice --disable-postproc --disable-network --disable-debug \
  --enable-pthreads --enable-zlib --enable-bzlib \
  --enable-gpl --enable-libx264 --enable-libdav1d \
  $flags >configure.out 2>&1 || { tail -n 30 configure.out; exit 1; }

# A component whose dependencies are missing is dropped with a warning: an error here.
if grep "WARNING" configure.out; then
  echo "build-libav.sh: configure dropped or did not know the components above" >&2
  exit 1
fi
grep -E "^(Enabled|External|License)" -A3 configure.out | head -n 40 || true

# What configure decided is what will be built: every listed component is in the lists it
# generated, and the demuxers are exactly the listed ones (the service's allow-list).
generated() { # KIND FILE: the names in a generated list, without their ff_..._KIND dress
  case $1 in
    filter) grep -o 'ff_[av]\(f\|src\|sink\)_[a-z0-9_]*' "$2" | sed 's/^ff_[a-z]*_//' ;;
    *) grep -o "ff_[a-z0-9_]*_$1\b" "$2" | sed "s/^ff_//; s/_$1\$//" ;;
  esac | sort -u
}
check() { # KIND FILE
  generated "$1" "$2" >"/tmp/built.$1"
  missing=$(comm -23 "/tmp/listed.$1" "/tmp/built.$1")
  if [ -n "$missing" ]; then
    echo "build-libav.sh: configure left out these ${1}s:" $missing >&2
    exit 1
  fi
}
check decoder libavcodec/codec_list.c
check encoder libavcodec/codec_list.c
check muxer libavformat/muxer_list.c
check filter libavfilter/filter_list.c
check protocol libavformat/protocol_list.c
check demuxer libavformat/demuxer_list.c
if ! cmp -s /tmp/listed.demuxer /tmp/built.demuxer; then
  echo "build-libav.sh: the demuxers built are not exactly the listed ones:" >&2
  diff /tmp/listed.demuxer /tmp/built.demuxer >&2
  exit 1
fi
echo "build-libav.sh: every listed component is configured; demuxers: $(wc -l </tmp/built.demuxer)"

make -j"$(nproc)" >make.out 2>&1 || { tail -n 40 make.out; exit 1; }
make install >/dev/null
ldconfig
cd / && rm -rf /tmp/libav
