"""gradscape.network.train against a websocket network race: the same metrics per step."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from gradscape import Run
from gradscape.network import METRICS, train
from server.app import create_app
from server.settings import Settings

ORIGIN = "http://testserver"
NETWORK: dict[str, Any] = {"dataset": "moons", "n": 80, "hidden": [6], "activation": "tanh"}


def stream(runs: list[Run], steps: int, seed: int) -> dict[str, dict[str, list[float]]]:
    message = {
        "type": "start",
        "problem": {"network": NETWORK},
        "runs": [
            {"id": "ab"[i], "optimizer": r.optimizer, "hyper": dict(r.hyper)}
            for i, r in enumerate(runs)
        ],
        "seed": seed,
        "max_steps": steps,
        "steps_per_second": 2000,
    }
    out: dict[str, dict[str, list[float]]] = {}
    ended: set[str] = set()
    app = create_app(Settings(allowed_origins=[ORIGIN]))
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws,
    ):
        assert orjson.loads(ws.receive_text())["type"] == "hello"
        ws.send_text(orjson.dumps(message).decode())
        while len(ended) < len(runs):
            msg = orjson.loads(ws.receive_text())
            assert msg["type"] != "error", msg
            if msg["type"] == "frame":
                for run, part in msg["runs"].items():
                    cols = out.setdefault(run, {k: [] for k in METRICS})
                    assert part["step"] == len(cols["gnorm"])
                    for key in METRICS:
                        cols[key].extend(part[key])
            elif msg["type"] == "event" and msg["event"] in {"finished", "converged", "diverged"}:
                ended.add(msg["run"])
        ws.close()
        deadline = time.monotonic() + 10
        while app.state.sessions and time.monotonic() < deadline:
            time.sleep(0.01)
    return out


@pytest.mark.timeout(120)
def test_train_equals_the_websocket_network_race() -> None:
    runs = [Run("adam", lr=0.05), Run("momentum", lr=0.1)]
    result = train(NETWORK, runs=runs, steps=120, seed=5)
    live = stream(runs, 120, 5)
    for run, values in result.metrics.items():
        for key in METRICS:
            np.testing.assert_array_equal(values[key], np.array(live[run][key]), err_msg=key)
    assert [e.event for e in result.events] == ["finished", "finished"]
    assert len(result.figure().data) == 4


def test_bad_network_names_the_field() -> None:
    with pytest.raises(ValueError, match="network"):
        train({"dataset": "nowhere"}, runs=[Run("adam")])
