"""POST /api/parity/network through the app and its worker process: an MLP, a CNN and an RNN
beside torch.optim, optax and Keras, the published response schema, bad input, a missing
library."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # (schemathesis depends on it)
import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.inside.network_parity import NetworkParityRequest, network_parity
from server.libraries import keras_run, optax_run
from server.libraries import parity as library_parity
from server.problems.nn.torch_twin import torch_available
from server.settings import Settings

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available() and torch_available()),
    reason="torch, optax and keras are needed",
)
MLP = {"dataset": "spiral", "n": 120, "hidden": [8, 8], "batch_size": 32, "torch": True}
ADAM = {"optimizer": "adam", "hyper": {"lr": 0.02}, "seed": 1}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(allowed_origins=["http://testserver"]))) as c:
        yield c


def _post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/parity/network", json=body)
    assert r.status_code == 200, r.text
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/api/parity/network"]["post"]["responses"]["200"]["content"]
    out: dict[str, Any] = r.json()
    jsonschema.validate(out, content["application/json"]["schema"])
    return out


def _all_exact(out: dict[str, Any], steps: int) -> None:
    assert out["ours"]["steps"] == steps and len(out["ours"]["loss"]) == steps + 1
    for name in ("torch", "optax", "keras"):
        entry = out["libraries"][name]
        assert len(entry["diff"]) == steps + 1, name
        assert entry["max_diff"] == max(entry["diff"]) < 1e-9, name
        assert "our backprop" in " ".join(entry["notes"]), name


def test_an_mlp_race_run_coincides_in_every_library_and_keras_says_why_its_default_would_not(
    client: TestClient,
) -> None:
    out = _post(client, {"network": MLP, **ADAM, "steps": 60})
    _all_exact(out, 60)
    assert out["ours"]["weights"] == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1  # two arms: one logit
    loss = out["ours"]["loss"]
    assert loss[-1] < loss[0] - 0.01  # it trained
    keras = out["libraries"]["keras"]["notes"]
    default = next(n for n in keras if "defaults to epsilon=1e-07" in n)
    assert float(default.split("differs from ours by ")[1].split()[0]) > 1e-9


@pytest.mark.parametrize(
    "network",
    [
        {"model": "cnn", "dataset": "digits", "n": 200, "filters": 3, "batch_size": 50},
        {"model": "rnn", "dataset": "adding", "n": 100, "hidden": 6, "steps": 8, "clip": 0.5},
    ],
    ids=["cnn", "rnn-clipped"],
)
def test_cnn_and_rnn_runs_coincide_too(client: TestClient, network: dict[str, Any]) -> None:
    _all_exact(_post(client, {"network": network, **ADAM, "steps": 15}), 15)


def test_a_bad_network_names_its_field(client: TestClient) -> None:
    r = client.post("/api/parity/network", json={"network": {"hidden": [0]}, "steps": 5})
    assert r.status_code == 422
    assert r.json()["field"] == "network.hidden[0]"
    r = client.post("/api/parity/network", json={"network": {}, "optimizer": "newton"})
    assert (r.status_code, r.json()["field"]) == (422, "optimizer")
    r = client.post("/api/parity/network", json={"network": {}, "steps": 501})
    assert (r.status_code, r.json()["field"]) == (422, "steps")


def test_a_library_that_is_not_installed_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(library_parity, "_installed", lambda library: library != "keras")
    monkeypatch.setattr(library_parity, "_told", set())
    body = NetworkParityRequest(network=MLP, optimizer="sgd", hyper={"lr": 0.1}, steps=10)
    with caplog.at_level(logging.WARNING, logger="server.libraries.parity"):
        for _ in range(2):
            out = network_parity(body)
            assert out["libraries"]["keras"] == {"unavailable": keras_run.INSTALL}
            assert "pip install keras jax" in keras_run.INSTALL
            assert out["libraries"]["optax"]["max_diff"] < 1e-9
            assert np.asarray(out["libraries"]["torch"]["diff"]).shape == (11,)
    told = [rec for rec in caplog.records if "keras is not installed" in rec.getMessage()]
    assert len(told) == 1
