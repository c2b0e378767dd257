#!/usr/bin/env bash
# The library as integrators get it (`hls-ladder` with `default-features = false`):
#   1. its dependency tree holds none of the service's crates;
#   2. it passes clippy (alone, and with the command only: `--features cli`) and builds its
#      documentation with no warning;
#   3. `cargo package` ships only what a user needs, and the packaged crate builds.
# Run by `make test` (target `library`); prints the packaged size for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"

echo "== the engine's dependency tree (no default features)"
# Normal and build dependencies only: what an integrator compiles.
tree="$($CARGO tree --locked --no-default-features --edges normal,build --prefix none --format '{p}')"
service='^(tokio|tokio-util|sqlx|sqlx-[a-z-]+|axum|axum-core|hyper|hyper-util|reqwest|aws-[a-z0-9-]+|tower|tower-http|utoipa) '
if grep -E "$service" <<<"$tree" | sort -u | grep .; then
  echo "error: the crates above are in the library's dependency tree; put them behind a feature"
  exit 1
fi
echo "$(sort -u <<<"$tree" | wc -l) crates, none of them the service's"

echo "== clippy and rustdoc (no default features; the command alone)"
$CARGO clippy --locked --no-default-features --all-targets -- -D warnings
$CARGO clippy --locked --no-default-features --features cli --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" $CARGO doc --locked --no-default-features --no-deps

echo "== cargo package"
# The packaged crate is verified the way an integrator builds it: the engine alone.
$CARGO package --locked --allow-dirty --no-default-features >/dev/null
crate="$(ls -t target/package/hls-ladder-*.crate | head -1)"
files="$($CARGO package --locked --allow-dirty --list)"
if grep -E '^(fixtures|tests|bench|scripts|docs|web/node_modules)/' <<<"$files"; then
  echo "error: the files above are for development only; keep them out of the package"
  exit 1
fi
largest="$(tar -tzvf "$crate" | sort -k3 -n | tail -1)"
largest_bytes="$(awk '{print $3}' <<<"$largest")"
if (( largest_bytes > 512 * 1024 )); then
  echo "error: a packaged file is over 512 KiB: $largest"
  exit 1
fi
echo "$crate: $(wc -l <<<"$files") files, $(stat -c %s "$crate") bytes compressed, $(tar -tzvf "$crate" | awk '{s+=$3} END {print s}') bytes unpacked"
