#!/usr/bin/env bash
# Install everything the tests need: the package with its test extra, torch (CPU, from the local
# wheel: never a range, which would pull a multi-GB CUDA build) and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
  else
    echo "chromium is missing: sudo apt-get install -y --no-install-recommends chromium" >&2
  fi
fi
"$PY" -m pip install -q --disable-pip-version-check 'torch==2.13.0'
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
