"""POST /api/parity with optax and Keras: the lecturer's Adam, missing and failing libraries,
and every answer in the published response schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # (schemathesis depends on it)
import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.libraries import keras_run, optax_run
from server.libraries import parity as library_parity
from server.settings import Settings

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available()), reason="optax and keras are needed"
)
ADAM = {"surface": "rosenbrock", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [-1.5, 2.0]}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(allowed_origins=["http://testserver"]))) as c:
        yield c


def _schema(client: TestClient) -> dict[str, Any]:
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/api/parity"]["post"]["responses"]["200"]["content"]
    return content["application/json"]["schema"]  # type: ignore[no-any-return]


def test_adam_coincides_in_every_library_and_keras_says_why_its_default_would_not(
    client: TestClient,
) -> None:
    out = client.post("/api/parity", json={**ADAM, "steps": 300, "until": "max_steps"}).json()
    jsonschema.validate(out, _schema(client))
    ours = np.array(out["ours"]["points"])
    assert len(ours) == 301
    for name in ("torch", "optax", "keras"):
        entry = out["libraries"][name]
        assert np.array(entry["points"]).shape == ours.shape, name
        assert entry["max_diff"] < 1e-9, name
    assert out["libraries"]["optax"]["notes"][0].startswith("optax.adam(learning_rate=0.01")
    keras = out["libraries"]["keras"]["notes"]
    assert keras[0].startswith("keras.optimizers.Adam(learning_rate=0.01")
    default = next(n for n in keras if "defaults to epsilon=1e-07" in n)
    assert "eps=1e-08" in default and "differs from ours by" in default
    assert float(default.split("differs from ours by ")[1].split()[0]) > 1e-9


def test_a_library_that_is_not_installed_is_reported_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(library_parity, "_installed", lambda library: library != "optax")
    monkeypatch.setattr(library_parity, "_told", set())
    with caplog.at_level(logging.WARNING, logger="server.libraries.parity"):
        for _ in range(2):
            r = client.post("/api/parity", json={**ADAM, "steps": 5})
            assert r.status_code == 200
            optax = r.json()["libraries"]["optax"]
            assert optax == {"unavailable": optax_run.INSTALL}
            assert "pip install optax jax" in optax["unavailable"]
            assert r.json()["libraries"]["keras"]["max_diff"] < 1e-9
    told = [rec for rec in caplog.records if "optax is not installed" in rec.getMessage()]
    assert len(told) == 1


def test_a_library_that_fails_is_reported_not_raised(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("no device")

    monkeypatch.setattr(keras_run, "stepper", broken)
    r = client.post("/api/parity", json={**ADAM, "steps": 5})
    assert r.status_code == 200
    jsonschema.validate(r.json(), _schema(client))
    assert r.json()["libraries"]["keras"] == {
        "unavailable": "keras failed on this run: RuntimeError: no device"
    }
    assert r.json()["libraries"]["optax"]["max_diff"] < 1e-9


@pytest.mark.parametrize(
    "body",
    [
        {"surface": "booth", "optimizer": "rprop", "steps": 20},
        {"surface": "himmelblau", "optimizer": "momentum", "steps": 30, "noise": 0.5, "seed": 4,
         "schedule": {"name": "step", "step_size": 5, "gamma": 0.5}},
        {"expression": "sin(x)*cos(y) + 0.1*(x^2+y^2)", "optimizer": "lion", "steps": 30,
         "hyper": {"lr": 0.01, "weight_decay": 0.1}},
        {"surface": "himmelblau", "optimizer": "nadam", "hyper": {"lr": 0.05}, "steps": 100},
        {"surface": "saddle", "optimizer": "sgd", "hyper": {"lr": 0.6}, "start": [1.0, 1.0],
         "steps": 500},
    ],
    ids=["rprop", "momentum-schedule-noise", "lion-formula", "nadam-torch", "sgd-diverges"],
)  # fmt: skip
def test_answers_keep_the_schema(client: TestClient, body: dict[str, Any]) -> None:
    out = client.post("/api/parity", json=body).json()
    jsonschema.validate(out, _schema(client))
    ours = np.array(out["ours"]["points"])
    for entry in out["libraries"].values():
        if "points" in entry:  # relative: the diverging run reaches 1e150
            theirs = np.array(entry["points"])
            assert theirs.shape == ours.shape
            scale = np.maximum(np.abs(ours[:, :2]), 1.0)
            assert np.max(np.abs(theirs[:, :2] - ours[:, :2]) / scale) < 1e-12
