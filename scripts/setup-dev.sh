#!/usr/bin/env bash
# Install everything the tests need: the package with its test extra, torch (CPU, from the local
# wheel: never a range, which would pull a multi-GB CUDA build) and Debian's chromium and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Debian packages the tests use: chromium (browser tests), redis-server (multi-worker rooms).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
fi
"$PY" -m pip install -q --disable-pip-version-check 'torch==2.13.0'
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
