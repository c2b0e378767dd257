#!/usr/bin/env bash
# Peak memory (RSS) and wall time of the worst inputs we can craft, for RELIABILITY.md:
# the probe (as the service runs it: a child with PROBE_MEMORY_LIMIT) and the conversion (as a
# worker runs it: default ladder and limits), each under /usr/bin/time.
#   scripts/worst_case_memory.sh [path/to/hls-ladder]
# Inputs are made with the ffmpeg CLI into a temporary directory (8K ones take a minute).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-$ROOT/target/release/hls-ladder}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 1; }

raw() { # name, lavfi source, extra ffmpeg args...
  local name=$1 source=$2; shift 2
  ffmpeg -nostdin -v error -y -f lavfi -i "$source" "$@" -c:v libx264 -preset ultrafast -f h264 "$WORK/$name"
}

raw small.h264 testsrc2=size=320x240:rate=25:duration=1
raw big8k.h264 testsrc2=size=7680x4320:rate=25:duration=1
raw big444.h264 testsrc2=size=7680x4320:rate=25:duration=1 -pix_fmt yuv444p10le
raw huge.h264 testsrc2=size=9600x5400:rate=1:duration=2
raw tiny.h264 color=black:size=16x16:rate=1000:duration=1200
cat "$WORK/small.h264" "$WORK/big8k.h264" > "$WORK/grows_to_8k.h264"
cat "$WORK/small.h264" "$WORK/big444.h264" > "$WORK/grows_to_8k_444_10bit.h264"
cat "$WORK/small.h264" "$WORK/huge.h264" > "$WORK/grows_past_the_limit.h264"
cp "$WORK/tiny.h264" "$WORK/a_million_tiny_frames.h264"

measure() { # label, command...
  local label=$1; shift
  local report="$WORK/time.txt"
  /usr/bin/time -v "$@" >/dev/null 2>"$report" || true
  local rss wall code
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$report")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$report")
  code=$(grep -o '"code":"[a-z-]*"' "$report" | head -1 | cut -d'"' -f4 || true)
  [ -z "$code" ] && code=$(grep -oE 'error: .{0,90}' "$report" | head -1 || true)
  printf '| %s | %s MiB | %s | %s |\n' "$label" "$rss" "$wall" "${code:-ok}"
}

echo "| input, step | peak RSS | wall | outcome |"
echo "|---|---|---|---|"
for input in grows_to_8k grows_to_8k_444_10bit grows_past_the_limit a_million_tiny_frames; do
  measure "$input, probe (child, 2 GiB cap)" \
    "$BIN" probe --error-json --memory-limit $((2 << 30)) --cpu-seconds 60 "$WORK/$input.h264"
  measure "$input, convert (default ladder)" "$BIN" convert "$WORK/$input.h264" "$WORK/out_$input"
done
