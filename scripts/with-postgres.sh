#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL naming a PostgreSQL server the tests may create
# databases in: TEST_DATABASE_URL when set; else the server on 127.0.0.1:5432; else a
# throwaway cluster from Debian's PostgreSQL binaries. Without any, it says so and skips, except
# under CI=true, where a missing PostgreSQL fails the run.
set -euo pipefail

reachable() { psql "$1" -Atc 'select 1' >/dev/null 2>&1; }

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

local_url="postgres://postgres@127.0.0.1:5432/postgres"
if command -v psql >/dev/null && reachable "$local_url"; then
  echo "==> using PostgreSQL on 127.0.0.1:5432"
  TEST_DATABASE_URL="$local_url" exec "$@"
fi

initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$initdb" ]; then
  bin=$(dirname "$initdb")
  dir=$(mktemp -d)
  port=55432
  as_owner=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
  fi
  "${as_owner[@]}" "$bin/initdb" -A trust -U postgres -D "$dir/data" >/dev/null
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  trap '"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null; rm -rf "$dir"' EXIT
  echo "==> using a throwaway PostgreSQL cluster on 127.0.0.1:$port"
  TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
  exit $?
fi

if [ "${CI:-}" = "true" ]; then
  echo "==> PostgreSQL is required under CI=true, and none was found" >&2
  exit 1
fi
echo "==> PostgreSQL suite SKIPPED: no server on 127.0.0.1:5432, no TEST_DATABASE_URL, no PostgreSQL binaries"
