"""POST /api/backprop: every number of the graph equals torch autograd's for the same weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.problems.nn.problem import NetworkProblem
from server.problems.nn.torch_twin import build_model

torch = pytest.importorskip("torch")
TOL = 1e-10

NETWORKS: list[dict[str, Any]] = [
    {"dataset": "moons", "n": 40, "hidden": [3], "activation": "tanh"},
    {"dataset": "xor", "n": 40, "hidden": [4, 4], "activation": "sigmoid"},
    {"dataset": "blobs", "n": 40, "hidden": [4], "activation": "gelu", "classes": 3},
    {"dataset": "sine", "n": 40, "hidden": [2, 3], "activation": "relu"},
]


def torch_graph(problem: NetworkProblem, params: np.ndarray, sample: int) -> dict[str, Any]:
    """Forward and backward of one example in torch, keeping each layer's z, a and grads."""
    model = build_model(problem, params)
    x = torch.tensor(problem.dataset.x_train[sample : sample + 1], requires_grad=True)
    keep: list[Any] = []
    h = x
    for module in model:
        h = module(h)
        h.retain_grad()
        keep.append(h)
    t = torch.tensor(problem.train_targets[sample : sample + 1])
    loss = {
        "bce": torch.nn.BCEWithLogitsLoss(),
        "softmax": torch.nn.CrossEntropyLoss(),
        "mse": torch.nn.MSELoss(),
    }[problem.loss.name](h, t.argmax(dim=1) if problem.loss.name == "softmax" else t)
    loss.backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return {"loss": loss, "x": x, "outputs": keep, "linears": linears, "model": model}


def close(ours: Any, theirs: Any) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    theirs = theirs.detach().numpy().reshape(ours.shape)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: f"{n['dataset']}-{n['activation']}")
def test_every_number_equals_torch_autograd(client: TestClient, network: dict[str, Any]) -> None:
    sample = 5
    body = client.post(
        "/api/backprop",
        json={"network": network, "seed": 2, "sample": sample, "hyper": {"lr": 0.3}},
    ).json()
    problem = NetworkProblem.from_json(network)
    params = problem.init_params(2)
    assert body["params"] == pytest.approx(params.tolist(), abs=0)
    g = torch_graph(problem, params, sample)
    assert abs(body["loss"]["value"] - g["loss"].item()) < TOL
    close(body["input"]["da"], g["x"].grad)
    layers = body["layers"]
    assert len(layers) == len(g["linears"])
    outs = g["outputs"]
    for n, (layer, linear) in enumerate(zip(layers, g["linears"], strict=True)):
        z = outs[2 * n]  # Linear's output; the activation's follows it
        a = outs[2 * n + 1] if 2 * n + 1 < len(outs) else z
        close(layer["weight"], linear.weight)
        close(layer["bias"], linear.bias)
        close(layer["z"], z)
        close(layer["a"], a)
        close(layer["dz"], z.grad)
        close(layer["da"], a.grad)
        close(layer["dweight"], linear.weight.grad)
        close(layer["dbias"], linear.bias.grad)
    close(body["loss"]["dz"], outs[-1].grad)
    # the update: torch.optim.SGD on the same gradient
    opt = torch.optim.SGD(g["model"].parameters(), lr=0.3)
    opt.step()
    flat = torch.nn.utils.parameters_to_vector(g["model"].parameters())
    close(body["update"]["params"], flat)


def test_chain_rule_factors_multiply_to_the_gradient(client: TestClient) -> None:
    body = client.post("/api/backprop", json={"network": NETWORKS[1], "sample": 3}).json()
    layers = body["layers"]
    chains = body["chains"]
    assert len(chains) == sum(np.size(layer["weight"]) for layer in layers)
    for c in chains:
        layer = layers[c["layer"]]
        assert c["grad"] == layer["dweight"][c["i"]][c["j"]]
        assert c["a_in"] * c["dz"] == pytest.approx(c["grad"], abs=1e-15)
        if c["fprime"] is not None:
            total = sum(w * d for w, d in c["upstream"])
            assert c["fprime"] * total == pytest.approx(c["dz"], abs=1e-15)
        else:
            assert c["dz"] == body["loss"]["dz"][c["i"]]


def test_continuing_from_sent_weights_and_refusals(client: TestClient) -> None:
    first = client.post("/api/backprop", json={"sample": 1}).json()
    second = client.post(
        "/api/backprop", json={"sample": 1, "params": first["update"]["params"]}
    ).json()
    assert second["loss"]["value"] == pytest.approx(first["update"]["loss"], abs=1e-15)
    assert second["loss"]["value"] < first["loss"]["value"]
    for body, field in [
        ({"network": {"hidden": [8]}}, "network.hidden"),
        ({"params": [0.0, 1.0]}, "params"),
        ({"sample": 10_000}, "sample"),
        ({"hyper": {"lr": -1}}, "hyper.lr"),
        ({"optimizer": "newton"}, "optimizer"),
        ({"network": {"dataset": "nope"}}, "network.dataset"),
    ]:
        r = client.post("/api/backprop", json=body)
        assert r.status_code == 422, body
        assert r.json()["field"] == field
