#!/usr/bin/env bash
# Runs COMMAND with a PostgreSQL answering at DATABASE_URL's host and port:
#
#   scripts/with_postgres.sh postgres://postgres@127.0.0.1:5432/hls_ladder COMMAND [ARGS...]
#
# When something answers there already (the machine's own PostgreSQL), it is used as it is.
# When nothing does and the URL names this machine, a private PostgreSQL is started for the
# command's time: Debian's `postgresql` package (installed if missing), a cluster of its own
# under .postgres/ in the checkout (trust authentication, listening on the URL's port on
# 127.0.0.1 only, owned by the `postgres` user as initdb needs), stopped again when COMMAND
# ends, however it ends. `make run` and `make test` run through this, so both work on a fresh
# Debian 12 machine with no PostgreSQL running.
set -euo pipefail

url="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${POSTGRES_STATE:-$root/.postgres}"

# host and port of a postgres://[user[:password]@]host[:port][/database] URL
rest="${url#*://}"
rest="${rest#*@}"
hostport="${rest%%/*}"
host="${hostport%%:*}"
port=5432
[[ "$hostport" == *:* ]] && port="${hostport##*:}"

answers() {
  pg_isready -q -h "$host" -p "$port" 2>/dev/null
}

if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-client
fi

if answers; then
  echo "postgres: using the PostgreSQL that answers at $host:$port"
  exec "$@"
fi

case "$host" in
  127.0.0.1 | localhost | ::1) ;;
  *)
    echo "postgres: nothing answers at $host:$port, and it is not this machine: start it, or name another with DATABASE_URL" >&2
    exit 1
    ;;
esac

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "postgres: installing Debian's postgresql for a private server"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # The package starts a cluster of its own by default; this one is ours, so keep it stopped.
  echo exit 101 | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql
  $sudo rm -f /usr/sbin/policy-rc.d
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi

# initdb and postgres refuse to run as root: as root, the cluster is the `postgres` user's.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
fi
mkdir -p "$state/run"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$state"
if [ ! -f "$state/data/PG_VERSION" ]; then
  "${as_owner[@]}" "$bin/initdb" -D "$state/data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log"
fi
"${as_owner[@]}" "$bin/pg_ctl" -D "$state/data" -l "$state/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $state/run -c max_connections=300" start >/dev/null
stop() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$state/data" -m fast -w stop >/dev/null 2>&1 || true
  echo "postgres: stopped the private PostgreSQL in $state"
}
trap stop EXIT
echo "postgres: nothing answered at $host:$port, so a private PostgreSQL runs there for now (its cluster in $state, its log in $state/postgres.log)"
"$@"
