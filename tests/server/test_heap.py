"""The server gives freed memory back as sessions close (server/heap.py; figures in bench/soak.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server import heap

from .conftest import TEST_ORIGIN, session

START = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [{"id": "a", "optimizer": "adam"}],
}


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The results of every malloc_trim the server makes (still the real one)."""
    real = heap._malloc_trim
    if real is None:
        pytest.skip("not glibc: nothing to trim")
    seen: list[int] = []
    lock = threading.Lock()

    def counted(pad: int) -> int:
        result = real(pad)
        with lock:
            seen.append(result)
        return result

    monkeypatch.setattr(heap, "_malloc_trim", counted)
    monkeypatch.setattr(heap, "_closed_since_trim", 0)
    yield seen


def race_once(client: TestClient) -> None:
    """One session that starts a race and leaves; returns once the server has ended it."""
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    before = len(sessions)
    with client.websocket_connect("/ws", headers={"origin": TEST_ORIGIN}) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json(START)
        assert ws.receive_json()["of"] == "start"
        ws.close()
        deadline = time.monotonic() + 10
        while len(sessions) > before and time.monotonic() < deadline:
            time.sleep(0.005)


def wait_for(trims: list[int], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(trims) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_last_session_to_close_trims(client: TestClient, trims: list[int]) -> None:
    race_once(client)
    wait_for(trims, 1)
    assert len(trims) == 1, "closing the last session gave nothing back"
    with session(client):
        for _ in range(3):
            race_once(client)  # closed while another stays open, fewer than TRIM_EVERY
        time.sleep(0.2)
        assert len(trims) == 1
    wait_for(trims, 2)
    assert len(trims) == 2
    assert set(trims) <= {0, 1}  # malloc_trim's own answer: memory given back or not


def test_many_closes_trim_while_others_stay_open(client: TestClient, trims: list[int]) -> None:
    with session(client):
        for _ in range(heap.TRIM_EVERY):
            race_once(client)
        wait_for(trims, 1)
        assert len(trims) == 1
