"""POST /api/basin/stream over a real uvicorn server: a client that goes away (the page's Cancel
aborts its fetch) stops the map's computation in the worker process, not only its sending."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from server.analysis.worker import POOL, ended_since

from .conftest import LiveServer

BIG = {"surface": "himmelblau", "optimizer": "sgd", "hyper": {"lr": 0.01}, "n": 250, "steps": 2000}


def test_a_client_that_goes_away_stops_the_map(live_server: Callable[..., LiveServer]) -> None:
    live = live_server()
    POOL.idle(timeout=600)
    before = POOL.outcomes.copy()
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{live.url}/api/basin/stream", json=BIG) as response,
    ):
        assert response.status_code == 200
        next(response.iter_lines())  # the head; the first block of rows is (about to be) computed
    # The first block's job was stopped (under way, or before it began): it ended Cancelled, and
    # none of the 16 blocks was completed or started after it.
    after = ended_since(before)
    assert after == {"cancelled": 1}, after  # no job completed (idle probes are not counted)
    small = {"surface": "booth", "optimizer": "adam", "n": 4, "steps": 3}
    assert httpx.post(f"{live.url}/api/basin", json=small, timeout=60).status_code == 200
