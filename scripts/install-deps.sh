#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only when some are missing.
# FFmpeg 5.1's -dev libraries for the build; the ffmpeg/ffprobe commands as independent
# checkers in tests and benchmarks (never used by the product itself); Node.js/npm when
# missing, for the web page's packages. With --test, also Chromium, for the test of the web
# page (driven by playwright-core from npm), and jq.
set -euo pipefail

packages=(
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev
  libswscale-dev libswresample-dev pkg-config libclang-dev clang
  ffmpeg curl
)
# jq: the direct-upload session of docs/uploads.md, run by a test, reads the API's JSON with it.
[ "${1:-}" = "--test" ] && packages+=(chromium jq)
# Node.js may come from elsewhere than Debian (a newer one); only install Debian's if none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# With --test: Python clients and checkers nobody here wrote, in a venv of its own, exactly as
# tests/clients/requirements.txt pins them (the official Standard Webhooks library, tuspy,
# webvtt-py, openapi-spec-validator, Schemathesis, openapi-python-client); installed again
# whenever that file changes.
if [ "${1:-}" = "--test" ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/.venv-test"
  requirements="$root/tests/clients/requirements.txt"
  if ! cmp -s "$requirements" "$venv/installed-requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/installed-requirements.txt"
  fi
fi
