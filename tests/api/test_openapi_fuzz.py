"""schemathesis against a live server: every operation of /openapi.json, all checks.

The run is the command a person would type (``schemathesis run URL --checks all``) from the
repository root, so ``schemathesis.toml`` and its hooks apply, against uvicorn on a free port.
New routes are covered as soon as they are in the schema. Seed and examples are fixed: the run
is reproducible and bounded: 1-2 minutes on the project's 2-core machines when they are quiet
(the analysis routes' cases are made small by the hooks); measured 580 s with 15 other jobs
running (load average 15-17), of which about 100 s were the analysis routes and backprop.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.optim.registry import OPTIMIZERS

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261203
EXAMPLES = 5
NOT_YET_DESCRIBED: set[str] = {"/api/parity/network"}
"""Routes whose schema does not yet say all the server checks; every other route is fuzzed.
``/api/parity/network``'s ``network`` is an object there: the MLP, CNN and RNN fields and their
rules are checked by the server (tests/libraries/test_network_parity_api.py), not yet described."""
SAMPLED = {"sgd", "nesterov", "rprop", "adam", "newton"}
REPEATS = {f"/api/optimizers/{name}/torch" for name in OPTIMIZERS if name not in SAMPLED}
"""One handler described once per optimizer: a sample (the ones with rules between their
hyperparameters among them) keeps the deterministic coverage phase within the time budget."""


@pytest.mark.timeout(600)  # 1-2 minutes on a quiet machine; 10 on one running 15 jobs
def test_schemathesis_finds_no_mismatch(server_url: str) -> None:
    # The first POST /api/parity imports torch, jax, optax and keras (and compiles their steps),
    # which on a loaded machine can take longer than the response-time check allows; that
    # one-off cost is paid before the run.
    httpx.post(f"{server_url}/api/parity", json={"surface": "booth", "steps": 2}, timeout=120)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server_url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--output-truncate",
        "true",
        # The first POST /api/parity imports torch (seconds on a loaded 2-core machine).
        "--request-timeout",
        "60",
        *(arg for path in sorted(NOT_YET_DESCRIBED | REPEATS) for arg in ("--exclude-path", path)),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "No issues found" in done.stdout, report
    health = httpx.get(f"{server_url}/healthz", timeout=10).json()
    assert health["status"] == "ok"  # the server is still up and answering after the run
