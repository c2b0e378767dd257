#!/usr/bin/env bash
# Where the CPU time goes, by shared library, for our convert and for the ffmpeg CLI doing the
# same 720/480/360 ladder (the commands of compare_with_ffmpeg.py), with `perf record`.
#   bench/profile_by_library.sh INPUT [path/to/hls-ladder]
# Prints, per tool, the share of samples in each library (libx264, libavcodec, libswscale, ...).
# Needs `perf` (Debian: linux-perf) and a release build. GOP is 2 segments at the input's rate.
set -euo pipefail
INPUT="$(realpath "$1")"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${2:-$ROOT/target/release/hls-ladder}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fps="$(ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate -of csv=p=0 "$INPUT")"
gop="$(python3 -c "from fractions import Fraction; print(round(2 * 6 * Fraction('$fps')))")"

profile() { # name, command...
  local name=$1; shift
  rm -rf "$WORK/out"; mkdir -p "$WORK/out"
  perf record -q -F 499 -o "$WORK/$name.data" -- "$@" >/dev/null 2>&1
  echo "== $name ($(basename "$INPUT"))"
  perf report -q -i "$WORK/$name.data" --sort dso --stdio 2>/dev/null \
    | awk 'NF >= 2 && $1 ~ /%$/ && $1+0 >= 0.5 {printf "  %7s  %s\n", $1, $2}'
}

profile ours "$BIN" convert "$INPUT" "$WORK/out/run" --segment-seconds 6 \
  --rungs 720,480,360 --preset veryfast --audio-kbps 128
profile ffmpeg ffmpeg -nostdin -hide_banner -loglevel warning -y -i "$INPUT" \
  -filter_complex '[0:v]split=3[v0][v1][v2]; [v0]scale=1280:720:flags=bicubic[v0out]; [v1]scale=854:480:flags=bicubic[v1out]; [v2]scale=640:360:flags=bicubic[v2out]' \
  -map '[v0out]' -map '[v1out]' -map '[v2out]' -map 0:a -map 0:a -map 0:a \
  -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p -forced-idr 1 -g "$gop" \
  -force_key_frames 'expr:gte(t,n_forced*6)' \
  -b:v:0 2800k -maxrate:v:0 3080k -bufsize:v:0 5600k -b:v:1 1400k -maxrate:v:1 1540k \
  -bufsize:v:1 2800k -b:v:2 800k -maxrate:v:2 880k -bufsize:v:2 1600k \
  -c:a aac -b:a 128k -ar 48000 -ac 2 -f hls -hls_time 6 -hls_playlist_type vod \
  -hls_segment_type mpegts -var_stream_map 'v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p' \
  -master_pl_name master.m3u8 -hls_segment_filename "$WORK/out/%v/segment_%05d.ts" "$WORK/out/%v/index.m3u8"
