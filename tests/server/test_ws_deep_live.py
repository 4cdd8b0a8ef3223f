"""A CNN race steered live: a `set` mid-race applies from its acked update to the run and to its
torch twin, whose curve stays on ours (what the page's run cards do during a Digits race)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from .conftest import session
from .test_ws_deep import CNN, Msg, send, series, start, until


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_a_live_lr_change_reaches_the_run_and_its_twin(client: TestClient, optimizer: str) -> None:
    pytest.importorskip("torch")
    runs = [{"id": "a", "optimizer": optimizer, "hyper": {"lr": 0.01}}]
    with session(client) as ws:
        send(ws, start({**CNN, "torch": True}, runs, 30, paused=True))
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "ack" and m["of"] == "start", seen)
        send(ws, {"type": "step", "n": 12})
        until(ws, lambda m: m["type"] == "status" and m["state"] == "paused", seen)
        send(ws, {"type": "set", "run": "a", "hyper": {"lr": 0.2}})
        ack = until(ws, lambda m: m["type"] == "ack" and m["of"] == "set", seen)
        send(ws, {"type": "resume"})
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    got = series(seen)
    first = ack["step"]
    assert 1 < first <= 14
    ours = np.array(got["a"]["train_loss"])
    twin = np.array(got["a~torch"]["train_loss"])
    assert len(ours) == len(twin) == 31
    np.testing.assert_allclose(twin, ours, atol=1e-9)
    # the new rate shows: the steps after the change move the loss more than those before
    before = np.abs(np.diff(ours[: first - 1])).mean()
    after = np.abs(np.diff(ours[first - 1 : first + 5])).mean()
    assert after > before
