#!/usr/bin/env bash
# The one test command: set up, lint, type-check, then every test (browser tests included),
# and the engine and server tests again with the compiled fast path off (numpy everywhere).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
bash scripts/setup-dev.sh
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy
"$PY" -m pytest --durations=25 "$@"
# (without the Redis transport: nothing the mode changes)
GRADSCAPE_FASTPATH=off "$PY" -m pytest -q tests/test_engine*.py tests/server tests/export \
    --ignore=tests/server/test_rooms_redis.py
