#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for tests and benchmarks (issue 21), from Debian's
# `postgresql` package (its binaries in /usr/lib/postgresql/<version>/bin). Runs as an unprivileged
# user: `postgres` when called as root (initdb refuses root), else the caller.
#
#   scripts/postgres-cluster.sh start   # creates the cluster if needed, starts it, prints the env
#   scripts/postgres-cluster.sh env     # prints ERX_TEST_POSTGRES_URL and ERX_TEST_POSTGRES_PASSWORD
#   scripts/postgres-cluster.sh stop    # stops it (the data stays until `destroy`)
#   scripts/postgres-cluster.sh destroy
#
# The cluster lives in $ERX_PG_DIR (default /tmp/erx-pg-<uid>), listens on 127.0.0.1:$ERX_PG_PORT
# (default 54329), and has a role `erx` (password `erx-test`, SCRAM) owning a database `erx`; tests
# create a database per test from it. fsync stays on: the durability tests mean it.
set -euo pipefail

dir=${ERX_PG_DIR:-/tmp/erx-pg-$(id -u)}
port=${ERX_PG_PORT:-54329}
password=erx-test
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Runs a command with no file descriptor beyond 0-2: the server it starts lives on, and anything it
# inherited (a pipe or socket of whoever ran this script, which Foundation's Process watches for
# the script's end) would stay open as long as the server, and the caller would wait forever.
detached() {
  (
    for fd in $(ls /proc/$BASHPID/fd); do
      [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-"
    done 2>/dev/null
    "$@" </dev/null
  )
}

print_env() {
  echo "ERX_TEST_POSTGRES_URL=postgres://erx@127.0.0.1:$port/erx"
  echo "ERX_TEST_POSTGRES_PASSWORD=$password"
}

case ${1:-start} in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      printf '%s\n' "$password" >"$dir.pw"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir.pw"
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir.pw" -E UTF8 --locale=C.UTF-8 >/dev/null
      rm -f "$dir.pw"
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 400
shared_buffers = 256MB
CONF
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      detached as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
    fi
    # The role and database, once (over the owner's Unix socket, which trusts it).
    if ! as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'erx'" | grep -q 1; then
      as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q \
        -c "CREATE ROLE erx LOGIN CREATEDB PASSWORD '$password'" -c "CREATE DATABASE erx OWNER erx"
    fi
    print_env
    ;;
  env) print_env ;;
  stop) as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null ;;
  destroy)
    as_owner "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|env|stop|destroy" >&2; exit 2 ;;
esac
