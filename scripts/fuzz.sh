#!/usr/bin/env bash
# A long property-test run: the probe of arbitrary and of damaged bytes, the conversion of
# damaged videos (a tenth as many cases), the multipart upload parser and hostile containers
# over the API (a tenth as many), CASES cases each (default 5000). Needs what `make test` needs (PostgreSQL, LocalStack for the upload test).
# Prints the time taken; a failure prints the minimal failing input and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-5000}"
export SQLX_OFFLINE=true PROPTEST_CASES="$cases"
start=$(date +%s)
cargo nextest run --locked -p hls-ladder --test engine fuzz:: --no-capture
cargo nextest run --locked --test api fuzz_multipart --no-capture
PROPTEST_CASES=$(( cases / 10 )) cargo nextest run --locked --test api fuzz_containers --no-capture
echo "fuzz: ${cases} cases per property, all passed in $(( $(date +%s) - start )) s"
