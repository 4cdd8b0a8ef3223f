"""The code panel's data: our own source read from the code, and the equal PyTorch code."""

from __future__ import annotations

import inspect

import pytest
from fastapi.testclient import TestClient

from server.inside.torchcode import torch_code, torch_kwargs
from server.optim.registry import OPTIMIZERS, validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.nn import layers
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_source_is_the_update_the_engine_runs(client: TestClient, name: str) -> None:
    body = client.get(f"/api/optimizers/{name}/source").json()
    update = OPTIMIZERS[name].update
    assert body["update"]["source"].startswith("def update(")
    assert body["update"]["source"] == inspect.cleandoc(inspect.getsource(update)) + "\n"
    assert body["update"]["file"].startswith("server/optim/")
    assert body["state"]["source"].startswith("class ")
    assert body["tex"], "every optimizer has its rule in TeX"
    for helper in body["helpers"]:
        assert helper["name"] in update.__code__.co_names


def test_unknown_optimizer_is_a_422(client: TestClient) -> None:
    r = client.get("/api/optimizers/sgdd/source")
    assert r.status_code == 422 and r.json()["field"] == "optimizer"


def test_layers_show_forward_and_backward_and_the_torch_module(client: TestClient) -> None:
    body = client.get("/api/layers").json()
    names = [layer["name"] for layer in body]
    assert names[0] == "linear" and set(layers.ACTIVATIONS) <= set(names)
    tanh = client.get("/api/layers/tanh/source").json()
    assert tanh["forward"]["source"].startswith("def forward(")
    assert "np.tanh" in tanh["forward"]["source"]
    assert tanh["backward"]["source"].startswith("def backward(")
    assert tanh["torch"] == "torch.nn.Tanh()"
    assert client.get("/api/layers/conv9/source").status_code == 422


@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
def test_torch_keywords_equal_the_twins(name: str) -> None:
    torch_twin = pytest.importorskip("server.problems.nn.torch_twin")
    pytest.importorskip("torch")
    hyper = validate_hyper(name, {"lr": 0.05})
    cls, expected = torch_twin.torch_optimizer(name, hyper)
    class_name, kwargs = torch_kwargs(name, hyper)
    assert class_name == cls.__name__
    assert kwargs == expected


def test_torch_code_runs_and_matches_our_path(client: TestClient) -> None:
    """The generated code, run with f = Rosenbrock in torch, ends where our trajectory ends."""
    torch = pytest.importorskip("torch")
    body = {
        "hyper": {"lr": 0.05, "beta1": 0.8},
        "start": [-1.5, 2.0],
        "steps": 100,
        "schedule": {"name": "cosine", "T_max": 80, "warmup": 10},
    }
    code = client.post("/api/optimizers/adam/torch", json=body).json()["code"]
    assert "torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.999)" in code
    namespace: dict[str, object] = {"f": lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2}
    exec(compile(code, "<torch code>", "exec"), namespace)  # our own generated code
    ours = client.post(
        "/api/trajectory",
        json={"surface": "rosenbrock", "optimizer": "adam", **body},
    ).json()["points"][-1]
    final = namespace["p"]
    assert isinstance(final, torch.Tensor)
    assert final.detach().tolist() == pytest.approx(ours[:2], rel=1e-9, abs=1e-12)


def test_lion_and_newton_code_are_written_out() -> None:
    for name in ("lion", "newton"):
        code = torch_code(name, validate_hyper(name, {}))
        assert "torch.optim." not in code and "torch.autograd" in code
    sched = parse_schedule({"name": "one_cycle", "total_steps": 300})
    code = torch_code("sgd", validate_hyper("sgd", {"lr": 0.1}), sched)
    assert "OneCycleLR(optimizer, max_lr=0.1, total_steps=300" in code
    assert code.rstrip().endswith("scheduler.step()")
