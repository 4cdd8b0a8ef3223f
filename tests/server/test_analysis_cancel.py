"""POST /api/sweep and /api/tune over a real uvicorn server: a client that goes away (the page's
Cancel aborts its fetch) stops the computation in the worker thread, which is then free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import server.routes.analysis as routes
from server.analysis.batch import Cancelled

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


def watch(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Replace ``routes.<name>`` by a wrapper that records how each call ended."""
    outcomes: list[str] = []
    real: Callable[..., dict[str, Any]] = getattr(routes, name)

    def watched(body: Any, cancel: Any = None) -> dict[str, Any]:
        try:
            out = real(body, cancel)
        except Cancelled:
            outcomes.append("cancelled")
            raise
        outcomes.append("finished")
        return out

    monkeypatch.setattr(routes, name, watched)
    return outcomes


def leave_early(url: str, body: dict[str, Any]) -> None:
    """Send ``body`` and close the connection before the answer comes."""
    with (
        httpx.Client(timeout=httpx.Timeout(30.0, read=0.5)) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(url, json=body)


@pytest.mark.parametrize(
    ("path", "name", "body"), [("sweep", "sweep", SWEEP), ("tune", "tune", TUNE)]
)
def test_a_client_that_goes_away_stops_the_work(
    live_server: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    name: str,
    body: dict[str, Any],
) -> None:
    outcomes = watch(monkeypatch, name)
    live = live_server()
    leave_early(f"{live.url}/api/{path}", body)
    # The worker thread takes jobs in order: this one runs once the abandoned one has ended.
    routes.WORK.submit(lambda: None).result(timeout=600)
    assert outcomes == ["cancelled"]
    # Nothing was cached for it, and the worker serves the next request.
    assert not [k for k in routes.CACHE.items if k.startswith(f"{path}:") and '"steps":20000' in k]
    answer = httpx.post(f"{live.url}/api/sweep", json=SMALL_SWEEP, timeout=60)
    assert answer.status_code == 200 and len(answer.json()["lr"]) == 4


def test_a_client_that_waits_gets_the_answer(
    live_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = watch(monkeypatch, "sweep")
    live = live_server()
    # 40 steps: the flag is read once (at step 32), and stays down.
    answer = httpx.post(f"{live.url}/api/sweep", json={**SMALL_SWEEP, "steps": 40}, timeout=60)
    assert answer.status_code == 200 and len(answer.json()["final_loss"]) == 4
    assert outcomes == ["finished"]
