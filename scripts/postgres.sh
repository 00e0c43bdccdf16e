#!/usr/bin/env bash
# A private PostgreSQL server for tests and benchmarks, never one someone started by hand:
# installs the server if it is missing, creates a cluster in a new temporary folder, listens
# on 127.0.0.1 only (a free port), and trusts local connections (nothing else can reach it).
#
#   eval "$(scripts/postgres.sh start)"   # exports ORDERHUB_TEST_PG_URL and ORDERHUB_PG_DIR
#   scripts/postgres.sh stop "$ORDERHUB_PG_DIR"
set -euo pipefail

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

# initdb and postgres refuse to run as root: use the postgres account then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin
  if ! bin=$(find_bin); then
    echo "installing the PostgreSQL server (apt-get install postgresql)" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
    # Debian's package starts a server of its own on 5432; the tests use theirs, not that one.
    bin=$(find_bin)
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
  fi
  local dir port
  dir=$(mktemp -d /tmp/orderhub-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U orderhub --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=300 -c shared_buffers=128MB" >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export ORDERHUB_TEST_PG_URL='postgresql://orderhub@127.0.0.1:$port/postgres'"
  echo "export ORDERHUB_PG_DIR='$dir'"
  echo "export ORDERHUB_PG_BIN='$bin'"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  local bin
  bin=$(find_bin)
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
