"""POST /api/sweep and /api/tune over a real uvicorn server: a client that goes away (the page's
Cancel aborts its fetch) stops the computation in the worker process, which is then free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import server.routes.analysis as routes
from server.analysis.worker import POOL, ended_since

from .conftest import LiveServer

# Each takes seconds of numpy steps; the client gives up after a fraction of one.
SWEEP = {"expression": "x**2 + 3*y**2", "optimizer": "sgd", "steps": 20000, "n": 256}
TUNE = {
    "expression": "x**2 + 3*y**2",
    "optimizers": ["sgd", "adam"],
    "criterion": "final_loss",
    "starts": "random",
    "n_starts": 16,
    "trials": 64,
    "steps": 20000,
}
SMALL_SWEEP = {"surface": "booth", "optimizer": "adam", "steps": 3, "n": 4}


def leave_early(url: str, body: dict[str, Any]) -> None:
    """Send ``body`` and close the connection before the answer comes."""
    with (
        httpx.Client(timeout=httpx.Timeout(30.0, read=0.5)) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(url, json=body)


@pytest.mark.parametrize(("path", "body"), [("sweep", SWEEP), ("tune", TUNE)])
def test_a_client_that_goes_away_stops_the_work(
    live_server: Callable[..., LiveServer], path: str, body: dict[str, Any]
) -> None:
    live = live_server()
    POOL.idle(timeout=600)
    before = POOL.outcomes.copy()
    leave_early(f"{live.url}/api/{path}", body)
    # Once the abandoned job has ended (the worker takes jobs in order):
    after = ended_since(before)
    assert after == {"cancelled": 1}, after  # no job completed (idle probes are not counted)
    # Nothing was cached for it, and the worker serves the next request.
    assert not [k for k in routes.CACHE.items if k.startswith(f"{path}:") and '"steps":20000' in k]
    answer = httpx.post(f"{live.url}/api/sweep", json=SMALL_SWEEP, timeout=60)
    assert answer.status_code == 200 and len(answer.json()["lr"]) == 4


def test_a_client_that_waits_gets_the_answer(live_server: Callable[..., LiveServer]) -> None:
    live = live_server()
    POOL.idle(timeout=600)
    before = POOL.outcomes.copy()
    # 40 steps: the flag is read once (at step 32), and stays down.
    answer = httpx.post(f"{live.url}/api/sweep", json={**SMALL_SWEEP, "steps": 40}, timeout=60)
    assert answer.status_code == 200 and len(answer.json()["final_loss"]) == 4
    after = POOL.outcomes - before
    assert after["done"] == 1 and after["cancelled"] == 0, after
