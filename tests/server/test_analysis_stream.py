"""POST /api/basin/stream over a real uvicorn server: a client that goes away (the page's Cancel
aborts its fetch) stops the map's computation, not only its sending."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import server.routes.analysis as routes
from server.analysis.batch import Cancelled

from .conftest import LiveServer

BIG = {"surface": "himmelblau", "optimizer": "sgd", "hyper": {"lr": 0.01}, "n": 250, "steps": 2000}


def test_a_client_that_goes_away_stops_the_map(
    live_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks: list[int] = []
    cancelled = threading.Event()
    real = routes.basin_blocks

    def watched(p: Any, block_cells: int = 4096, cancel: Any = None) -> Iterator[dict[str, Any]]:
        try:
            for block in real(p, block_cells, cancel):
                blocks.append(int(block.get("row", -1)))
                yield block
        except Cancelled:
            cancelled.set()
            raise

    monkeypatch.setattr(routes, "basin_blocks", watched)
    live = live_server()
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{live.url}/api/basin/stream", json=BIG) as response,
    ):
        assert response.status_code == 200
        next(response.iter_lines())  # the head; the first block of rows is (about to be) computed
    # Either that block was under way and stopped within 32 steps (Cancelled), or the server saw
    # the client leave before it began it; no block is completed either way.
    cancelled.wait(2)
    routes.WORK.submit(lambda: None).result(timeout=30)  # the worker thread is free again
    assert blocks == [-1], blocks  # only the head was made, of a head and 16 blocks
    small = {"surface": "booth", "optimizer": "adam", "n": 4, "steps": 3}
    assert httpx.post(f"{live.url}/api/basin", json=small, timeout=30).status_code == 200
