"""POST /api/parity: our path and torch.optim's from the same body, through the real app."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.problems.surfaces import get_surface

pytest.importorskip("torch")

CASES: list[dict[str, Any]] = [
    {"surface": "rosenbrock", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [-1.5, 2.0]},
    {"surface": "himmelblau", "optimizer": "nesterov", "hyper": {"lr": 0.005}},
    {
        "surface": "quadratic",
        "surface_params": {"kappa": 20},
        "optimizer": "rmsprop",
        "hyper": {"lr": 0.01, "centered": True},
    },
    {"surface": "beale", "optimizer": "rprop", "hyper": {"lr": 0.01, "eta_plus": 1.1}},
    {
        "expression": "sin(x)*cos(y) + 0.1*(x^2+y^2)",
        "optimizer": "momentum",
        "hyper": {"lr": 0.02},
        "schedule": {"name": "step", "step_size": 30, "gamma": 0.5},
        "noise": 0.2,
        "seed": 3,
    },
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["optimizer"])
def test_torch_follows_our_path(client: TestClient, case: dict[str, Any]) -> None:
    body = {**case, "steps": 200}
    out = client.post("/api/parity", json=body).json()
    ours = np.array(out["ours"]["points"])
    assert ours.tolist() == client.post("/api/trajectory", json=body).json()["points"]
    torch = out["libraries"]["torch"]
    theirs = np.array(torch["points"])
    assert theirs.shape == ours.shape
    assert len(ours) > 50  # at most 201: a run that converges stops early
    assert torch["max_diff"] == pytest.approx(float(np.abs(theirs[:, :2] - ours[:, :2]).max()))
    assert torch["max_diff"] < 1e-9
    assert any("torch.optim." in note for note in torch["notes"])
    assert np.abs(ours[-1, :2] - ours[0, :2]).max() > 1e-3  # the runs moved


def test_loss_column_is_the_surface_value(client: TestClient) -> None:
    out = client.post("/api/parity", json={"surface": "booth", "optimizer": "sgd", "steps": 5})
    points = np.array(out.json()["libraries"]["torch"]["points"])
    booth = get_surface("booth")
    assert points[:, 2] == pytest.approx(booth.value(points[:, :2]), rel=1e-15)


def test_libraries_without_a_counterpart_say_why(client: TestClient) -> None:
    out = client.post("/api/parity", json={"surface": "booth", "optimizer": "lion", "steps": 5})
    libs = out.json()["libraries"]
    assert "Lion" in libs["torch"]["unavailable"] or "lion" in libs["torch"]["unavailable"]
    assert set(libs["torch"]) == {"unavailable"}
    out = client.post("/api/parity", json={"surface": "booth", "optimizer": "newton", "steps": 5})
    for name, entry in out.json()["libraries"].items():
        assert set(entry) == {"unavailable"}, name
        assert "newton" in entry["unavailable"].lower() or "not installed" in entry["unavailable"]


def test_bad_bodies_are_refused_naming_the_field(client: TestClient) -> None:
    r = client.post(
        "/api/parity", json={"surface": "booth", "optimizer": "adam", "hyper": {"lr": -1}}
    )
    assert r.status_code == 422 and r.json()["field"] == "hyper.lr"
    r = client.post("/api/parity", json={"surface": "booth", "steps": 10**6})
    assert r.status_code == 422 and r.json()["field"] == "steps"
    r = client.post("/api/parity", json={"surface": "nowhere"})
    assert r.status_code == 422 and r.json()["field"] == "surface"
