#!/usr/bin/env bash
# The engine as integrators get it (the `hls-ladder` package, a plain dependency):
#   1. its dependency tree holds none of the service's crates, with default features and with
#      `openapi`, which only adds utoipa;
#   2. it passes clippy (default features, and `openapi`) and builds its documentation with no
#      warning;
#   3. `cargo package -p hls-ladder` ships only the engine (no service code, migrations, query
#      data, page files, tests or fixtures), and the packaged crate builds.
# Run by `make test` (target `library`); prints the packaged size.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
service='^(tokio|tokio-util|sqlx|sqlx-[a-z-]+|axum|axum-core|hyper|hyper-util|reqwest|aws-[a-z0-9-]+|tower|tower-http) '

echo "== the engine's dependency tree"
# Normal and build dependencies only: what an integrator compiles.
for features in "" "--features openapi"; do
  # shellcheck disable=SC2086 # the features are two words when given
  tree="$($CARGO tree --locked -p hls-ladder $features --edges normal,build --prefix none --format '{p}')"
  if grep -E "$service" <<<"$tree" | sort -u | grep .; then
    echo "error: the crates above are in the engine's dependency tree (${features:-default features})"
    exit 1
  fi
  if [ -z "$features" ] && grep -E '^utoipa' <<<"$tree"; then
    echo "error: utoipa is in the engine's default tree; it belongs behind the openapi feature"
    exit 1
  fi
  echo "${features:-default features}: $(sort -u <<<"$tree" | wc -l) crates, none of them the service's"
done

echo "== clippy and rustdoc"
$CARGO clippy --locked -p hls-ladder --all-targets -- -D warnings
$CARGO clippy --locked -p hls-ladder --features openapi --lib -- -D warnings
RUSTDOCFLAGS="-D warnings" $CARGO doc --locked -p hls-ladder --no-deps

echo "== cargo package"
$CARGO package --locked --allow-dirty -p hls-ladder >/dev/null
crate="$(ls -t target/package/hls-ladder-[0-9]*.crate | head -1)"
files="$($CARGO package --locked --allow-dirty -p hls-ladder --list)"
if grep -vE '^(\.cargo_vcs_info\.json|Cargo\.(toml|toml\.orig|lock)|README\.md|LICENSE-(MIT|APACHE)|src/.+\.rs|examples/[a-z_0-9]+\.rs)$' <<<"$files"; then
  echo "error: the files above are not the engine's; keep them out of its package"
  exit 1
fi
# The engine's own folders only: nothing of the service's (its modules, by their names).
if grep -E '^src/(api|db|jobs|imports|storage|webhooks|cli)/|^src/(server|config|uploads)\.rs$' <<<"$files"; then
  echo "error: the files above are the service's; they belong to hls-ladder-server"
  exit 1
fi
largest="$(tar -tzvf "$crate" | sort -k3 -n | tail -1)"
largest_bytes="$(awk '{print $3}' <<<"$largest")"
if (( largest_bytes > 512 * 1024 )); then
  echo "error: a packaged file is over 512 KiB: $largest"
  exit 1
fi
echo "$crate: $(wc -l <<<"$files") files, $(stat -c %s "$crate") bytes compressed, $(tar -tzvf "$crate" | awk '{s+=$3} END {print s}') bytes unpacked"
