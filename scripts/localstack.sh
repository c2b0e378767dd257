#!/usr/bin/env bash
# LocalStack (S3 only) on the host, without Docker: install into a Python venv, start, stop.
#   scripts/localstack.sh start   # installs if needed, starts in the background, waits for S3
#   scripts/localstack.sh stop
#   scripts/localstack.sh status
# Versions and settings measured to work on Debian 12 with Python 3.11 (see issue #3).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${LOCALSTACK_STATE:-$ROOT/.localstack}"
VENV="$STATE/venv"
PIDFILE="$STATE/localstack.pid"
LOG="$STATE/localstack.log"
ENDPOINT="http://127.0.0.1:4566"

healthy() {
  curl -fsS "$ENDPOINT/_localstack/health" 2>/dev/null | grep -Eq '"s3": *"(running|available)"'
}

install() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import localstack" 2>/dev/null; then
    return
  fi
  mkdir -p "$STATE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "localstack-core[base-runtime]==4.13.1" "cbor2<6" "pyopenssl==25.3.0" "cryptography<47" "service_identity"
}

start() {
  if healthy; then
    echo "localstack: already running at $ENDPOINT"
    return
  fi
  install
  mkdir -p "$STATE/data"
  (
    cd "$STATE"
    SERVICES=s3 EAGER_SERVICE_LOADING=1 GATEWAY_LISTEN=127.0.0.1:4566 GATEWAY_SERVER=hypercorn \
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$STATE/data" LOCALSTACK_HOST=127.0.0.1:4566 DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
      nohup "$VENV/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
  )
  for _ in $(seq 1 120); do
    if healthy; then
      echo "localstack: S3 running at $ENDPOINT"
      return
    fi
    sleep 0.5
  done
  echo "localstack: did not become healthy; last log lines:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 10); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) healthy && echo running || { echo stopped; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
