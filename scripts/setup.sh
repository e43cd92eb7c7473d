#!/usr/bin/env bash
# What `make test` needs beyond Rust, Node and PostgreSQL, installed when it is missing.
#
#   scripts/setup.sh                          Rust's rustfmt, clippy and cargo-nextest; the Debian
#                                             packages the checks run; PostgreSQL to test on
#   scripts/setup.sh venv DIR REQUIREMENTS    the tests' Python peers: a virtual environment in
#                                             DIR made afresh from the pinned REQUIREMENTS file
#
# A Debian package is installed only when it is missing, and only as root with apt-get (with one
# `apt-get update` per run). Otherwise each missing package is named on a line of its own, and a
# missing required one fails the run once all are named.
set -euo pipefail
cd "$(dirname "$0")/.."

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@"
}

# has COMMAND...: one of the commands is on PATH.
has() {
  for name in "$@"; do
    command -v "$name" >/dev/null && return 0
  done
  return 1
}

# need PACKAGE WHAT CHECK...: installs Debian's PACKAGE when CHECK fails; when it cannot, names
# the package and marks the run failed. `want` is the same for a package the checks can do
# without.
missing=""
need() { ensure required "$@"; }
want() { ensure optional "$@"; }
ensure() {
  local kind=$1 package=$2 what=$3
  shift 3
  "$@" >/dev/null 2>&1 && return 0
  if can_install && apt_install "$package" && "$@" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$kind" = required ]; then
    echo "==> missing: Debian's $package, for $what (apt-get install $package)" >&2
    missing=1
  else
    echo "==> not installed, carrying on without it: Debian's $package, for $what (apt-get install $package)" >&2
  fi
}

fail_if_missing() {
  if [ -n "$missing" ]; then
    echo "==> install the packages named above, then run make test again" >&2
    exit 1
  fi
}

if [ "${1:-}" = venv ]; then
  dir=$2 requirements=$3
  need python3 "the tests' Python peers" has python3
  # Debian keeps the bootstrap of a virtual environment's pip in python3-venv.
  need python3-venv "the tests' Python virtual environment" python3 -c 'import venv, ensurepip'
  fail_if_missing
  echo "==> the tests' Python peers ($requirements) into $dir"
  python3 -m venv --clear "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  exit 0
fi

# Rust: the lints, and cargo-nextest, which runs each test in its own process (the Makefile falls
# back to plain cargo test without it).
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked \
  || echo "==> cargo-nextest could not be installed; the suites run with plain cargo test" >&2

# Node runs the SPA's tools and the real OAuth server of the API tests (Node 20.19+).
need nodejs "the SPA's tools and the API tests' OAuth server" has node
need npm "the SPA's tools and the API tests' OAuth server" has npm
# The README's partner lines (tests/partner.py) run with curl and jq.
need curl "the README's partner lines" has curl
need jq "the README's partner lines" has jq
# The SPA's browser tests drive Debian's Chromium (never a downloaded browser).
need chromium "the SPA's browser tests" has chromium chromium-browser
# The benchmark harness (make test runs it once at a tiny size): its load generator, pgbench and
# psql, openssl; and perf for its profiles (without it the results say they were not profiled).
need wrk "the benchmark harness" has wrk
need postgresql-client "the benchmark harness and the PostgreSQL suites" has pgbench psql
need openssl "the benchmark harness" has openssl
want linux-perf "the benchmark's profiles" has perf

# PostgreSQL (scripts/with-postgres.sh): TEST_DATABASE_URL when set, else the local server on
# 127.0.0.1:5432 (started here if it is installed and stopped), else Debian's binaries for a
# throwaway cluster. Without any, the PostgreSQL suites are skipped (a failure under CI=true).
local_url="postgres://postgres@127.0.0.1:5432/postgres"
reachable() { psql "$local_url" -Atc 'select 1' >/dev/null 2>&1; }
initdb_found() { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
if [ -z "${TEST_DATABASE_URL:-}" ] && ! reachable; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  reachable || want postgresql "a throwaway cluster for the PostgreSQL suites" initdb_found
fi

fail_if_missing
