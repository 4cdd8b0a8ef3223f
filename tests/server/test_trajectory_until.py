"""POST /api/trajectory: `until` and the statuses it reports."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

# Centered RMSprop with a small eps stands still at Himmelblau's minimum (3, 2) at step 153,
# then its step (the gradient over a vanishing centered variance) grows again.
LEAVES = {
    "surface": "himmelblau",
    "optimizer": "rmsprop",
    "hyper": {"lr": 0.01, "centered": True, "eps": 1e-12},
    "start": [3.5, 1.5],
    "steps": 600,
}


def post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/trajectory", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    assert len(out["points"]) == out["steps"] + 1
    return out


def test_a_converged_run_says_converged_and_max_steps_goes_on(client: TestClient) -> None:
    stopped = post(client, LEAVES)
    assert stopped["status"] == "converged" and stopped["steps"] == 153
    np.testing.assert_allclose(stopped["points"][-1][:2], [3.0, 2.0], atol=1e-9)

    going = post(client, {**LEAVES, "until": "max_steps"})
    assert going["status"] == "finished" and going["steps"] == 600
    assert going["points"][:154] == stopped["points"]  # the same path up to the stop
    drift = np.abs(np.array(going["points"])[:, :2] - [3.0, 2.0]).max(axis=1)
    assert drift[153] < 1e-9 and drift[-1] > 1e-3  # it left the minimum it had reached

    assert post(client, {**LEAVES, "until": "converged"}) == stopped  # the default


def test_finished_and_diverged(client: TestClient) -> None:
    slow = {**LEAVES, "hyper": {"lr": 1e-4}, "steps": 50}
    assert post(client, slow)["status"] == "finished"
    assert post(client, {**slow, "until": "max_steps"})["status"] == "finished"
    blowup = {"surface": "quadratic", "optimizer": "sgd", "hyper": {"lr": 5.0}, "steps": 500}
    for until in ("converged", "max_steps"):
        out = post(client, {**blowup, "until": until})
        assert out["status"] == "diverged" and out["steps"] < 500


def test_until_is_checked(client: TestClient) -> None:
    response = client.post("/api/trajectory", json={**LEAVES, "until": "forever"})
    assert response.status_code == 422
    assert "until" in response.text


def test_long_paths_come_gzipped_and_whole(client: TestClient) -> None:
    body = {**LEAVES, "hyper": {"lr": 1e-4}, "steps": 10_000, "until": "max_steps"}
    raw = client.post("/api/trajectory", json=body, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    packed = client.post("/api/trajectory", json=body, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == raw.content  # the client decoded it
    assert packed.num_bytes_downloaded < len(raw.content) / 2
    assert len(raw.json()["points"]) == 10_001
