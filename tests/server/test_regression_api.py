"""Two-parameter regression: the exact (w, b) surface over REST and a race on it over the websocket."""

from __future__ import annotations

import numpy as np
import orjson
from fastapi.testclient import TestClient

from .conftest import session


def test_regression_surface_and_data(client: TestClient) -> None:
    body = client.post(
        "/api/regression", json={"regression": {"model": "linear", "n": 40}, "n": 30}
    ).json()
    x, y = np.array(body["data"]["x"]), np.array(body["data"]["y"])
    assert x.shape == y.shape == (40,)
    ((w_star, b_star, loss_star),) = body["minima"]
    np.testing.assert_allclose([w_star, b_star], np.polyfit(x, y, 1), rtol=1e-9)
    assert loss_star <= min(min(row) for row in body["grid"]["z"])
    w, b = np.array(body["grid"]["x"]), np.array(body["grid"]["y"])
    z = np.array(body["grid"]["z"])
    assert np.isclose(z[3, 7], np.mean((w[7] * x + b[3] - y) ** 2), rtol=1e-12)
    bad = client.post("/api/regression", json={"regression": {"model": "cubic"}})
    assert bad.status_code == 422 and bad.json()["field"] == "regression.model"


def test_a_race_on_the_regression_surface_streams_w_and_b(client: TestClient) -> None:
    start = {
        "type": "start",
        "problem": {"regression": {"model": "logistic", "noise": 0.5}},
        "runs": [{"id": "g", "optimizer": "sgd", "hyper": {"lr": 0.5}}],
        "max_steps": 50,
        "steps_per_second": 2000,
    }
    with session(client) as ws:
        ws.send_text(orjson.dumps(start).decode())
        losses: list[float] = []
        while True:
            msg = ws.receive_json()
            assert msg["type"] != "error", msg
            if msg["type"] == "frame":
                losses.extend(msg["runs"]["g"]["loss"])
            if msg["type"] == "status" and msg["state"] == "done":
                break
    assert len(losses) == 51 and losses[-1] < losses[0]
