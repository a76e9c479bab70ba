#!/usr/bin/env bash
# Makes sure a real PostgreSQL server runs for the tests and prints (when run) or exports (when sourced)
# GANGWAY_TEST_POSTGRES_URL. Idempotent: a server it started earlier is reused.
#
# The server is a throwaway cluster (Debian's `postgresql` package, its initdb/pg_ctl) in
# $GANGWAY_PG_DIR (default /tmp/gangway-postgres), listening on 127.0.0.1 only, on the first free port
# from $GANGWAY_PG_PORT (default 54329); as root it runs as the `postgres` user. Tests connect as role
# `gangway_test` (password auth) to database `gangway_test` (ICU en-US collation); each test uses its own schema.
#   bash scripts/postgres.sh          # start if needed, print the URL
#   source scripts/postgres.sh        # same, and export GANGWAY_TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop     # stop the throwaway server
gangway_pg_main() {
  set -euo pipefail
  local dir="${GANGWAY_PG_DIR:-/tmp/gangway-postgres}"
  local port="${GANGWAY_PG_PORT:-54329}"
  local role=gangway_test password=gangway_test db=gangway_test

  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql; scripts/bootstrap.sh does)" >&2
    return 1
  fi

  # As root, the server runs as `postgres` (initdb and postgres refuse root).
  local -a as=()
  if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi

  if [ "${1:-}" = "stop" ]; then
    if [ -f "$dir/data/postmaster.pid" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
    return 0
  fi

  mkdir -p "$dir"
  if [ ${#as[@]} -gt 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      return 1
    }
  fi

  local fresh=0
  if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    port="$(sed -n 4p "$dir/data/postmaster.pid")"
  else
    fresh=1
    # The first port nobody listens on.
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null || {
      tail -n 20 "$dir/server.log" >&2
      return 1
    }
  fi

  local -a psql=("${as[@]}" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
  "${psql[@]}" -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN PASSWORD '$password';
  END IF;
END \$\$;
SQL
  # A server this call started has no clients yet: start the tests from an empty database (no old schemas).
  if [ "$fresh" = 1 ]; then "${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null; fi
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
    # An ICU en-US default collation (case-insensitive first, unlike byte order), so the tests prove that
    # the store's key order does not depend on the database's locale.
    "${psql[@]}" -d postgres -c "CREATE DATABASE $db OWNER $role TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'" >/dev/null
  fi

  GANGWAY_TEST_POSTGRES_URL="postgres://$role:$password@127.0.0.1:$port/$db"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  gangway_pg_main "$@"
  [ "${1:-}" = "stop" ] || echo "$GANGWAY_TEST_POSTGRES_URL"
else
  # Sourced: run in a subshell so `set -e` and locals stay there, then export the URL.
  GANGWAY_TEST_POSTGRES_URL="$(gangway_pg_main "$@" && echo "$GANGWAY_TEST_POSTGRES_URL")" || return 1
  export GANGWAY_TEST_POSTGRES_URL
fi
