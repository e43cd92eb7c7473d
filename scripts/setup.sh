#!/usr/bin/env bash
# What `make test` needs beyond Rust, Node and PostgreSQL, installed when it is missing.
#
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
