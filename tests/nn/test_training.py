"""NetworkProblem: configuration, mini-batch order, metrics, and training beside torch.

The training loop here is the engine's: for update k = 1, 2, ...
``g = problem.grad_batch(params, k - 1)``, ``updates, state = opt.update(g, state, params,
hyper, None)``, ``params = params + updates``; the loss reported after update k is
``problem.value(params)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from server.optim.registry import get_optimizer, hyper_rows, validate_hyper
from server.optim.schedules import learning_rates, parse_schedule
from server.problems.base import Array
from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.problem import NetworkConfig, NetworkProblem

ROOT = Path(__file__).resolve().parents[2]


def train(
    problem: NetworkProblem,
    name: str,
    hyper_rows_: list[dict[str, Any]],
    params: Array,
    steps: int,
    schedule: Any = None,
) -> tuple[Array, Array]:
    """Our loop for N runs at once; returns the final params and losses ``(steps, N)``."""
    opt = get_optimizer(name)
    hyper = hyper_rows(name, hyper_rows_)
    base_lr = hyper["lr"].copy()
    state = opt.init(params, hyper)
    losses = np.empty((steps, params.shape[0]))
    for k in range(1, steps + 1):
        if schedule is not None:
            hyper["lr"] = learning_rates(schedule, base_lr, k - 1)
        g = problem.grad_batch(params, k - 1)
        updates, state = opt.update(g, state, params, hyper, None)
        params = params + updates
        losses[k - 1] = problem.value(params)
    return params, losses


# -- configuration --------------------------------------------------------------------


def test_defaults_parse_and_round_trip() -> None:
    config = NetworkConfig.from_json({})
    assert config == NetworkConfig()
    assert NetworkConfig.from_json(config.to_json()) == config
    problem = NetworkProblem(config)
    assert problem.mlp.sizes == (2, 16, 16, 1) and problem.loss.name == "bce"
    assert problem.dim == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"hidden": [8] * 7}, "network.hidden"),
        ({"hidden": [65]}, "network.hidden[0]"),
        ({"hidden": [8, 0]}, "network.hidden[1]"),
        ({"hidden": "16,16"}, "network.hidden"),
        ({"n": 2001}, "network.n"),
        ({"n": True}, "network.n"),
        ({"n": 10.5}, "network.n"),
        ({"noise": float("inf")}, "network.noise"),
        ({"dataset": "iris"}, "network.dataset"),
        ({"activation": "swish"}, "network.activation"),
        ({"loss": "hinge"}, "network.loss"),
        ({"dataset": "blobs", "loss": "bce"}, "network.loss"),
        ({"dataset": "sine", "loss": "softmax"}, "network.loss"),
        ({"batch_size": 0}, "network.batch_size"),
        ({"l2": -1.0}, "network.l2"),
        ({"seed": -1}, "network.seed"),
        ({"layers": 3}, "network.layers"),
    ],
)
def test_invalid_config_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        NetworkConfig.from_json(data)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_loss_auto_and_output_units() -> None:
    def build(**kw: Any) -> NetworkProblem:
        return NetworkProblem.from_json({"n": 40, **kw})

    assert build(dataset="moons").outputs == 1
    assert build(dataset="spiral", arms=3).loss.name == "softmax"
    assert build(dataset="spiral", arms=3).outputs == 3
    assert build(dataset="moons", loss="softmax").outputs == 2
    assert build(dataset="sine").loss.name == "mse"
    assert build(dataset="blobs", classes=4, loss="mse").outputs == 4


def test_hessian_is_refused_with_a_clear_message() -> None:
    problem = NetworkProblem.from_json({"n": 40})
    with pytest.raises(NotImplementedError, match="newton"):
        problem.hessian(problem.init_params(0))


# -- mini-batches ---------------------------------------------------------------------


def test_batch_order_is_seeded_and_covers_each_epoch() -> None:
    problem = NetworkProblem.from_json({"n": 100, "test_fraction": 0.0, "batch_size": 30})
    again = NetworkProblem.from_json({"n": 100, "test_fraction": 0.0, "batch_size": 30})
    other = NetworkProblem.from_json({"n": 100, "test_fraction": 0.0, "batch_size": 30, "seed": 1})
    assert problem.batches_per_epoch == 4
    sizes = [problem.batch_indices(k).size for k in range(4)]
    assert sizes == [30, 30, 30, 10]
    epochs = [
        np.concatenate([problem.batch_indices(e * 4 + k) for k in range(4)]) for e in range(3)
    ]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(100))
    assert not np.array_equal(epochs[0], epochs[1])
    for k in (0, 5, 11):
        assert np.array_equal(problem.batch_indices(k), again.batch_indices(k))
    assert not np.array_equal(problem.batch_indices(0), other.batch_indices(0))


def test_grad_batch_is_the_gradient_on_that_batch() -> None:
    problem = NetworkProblem.from_json({"n": 100, "batch_size": 16, "l2": 0.05})
    p = np.stack([problem.init_params(0), problem.init_params(1)])
    for step in (0, 7, 4, 0):  # also out of order: the epoch cache must not leak
        idx = problem.batch_indices(step)
        x, t = problem.dataset.x_train[idx], problem.train_targets[idx]
        z, cache = problem.mlp.forward_cached(p, x)
        expected = problem.mlp.backward(p, cache, problem.loss.grad(z, t))
        expected += 0.05 * p * problem.mlp.weight_mask()
        np.testing.assert_allclose(problem.grad_batch(p, step), expected, rtol=0, atol=1e-15)


def test_full_batch_grad_batch_equals_grad() -> None:
    problem = NetworkProblem.from_json({"n": 60, "batch_size": 1000})
    p = problem.init_params(0)
    np.testing.assert_array_equal(problem.grad_batch(p, 3), problem.grad(p))
    assert np.array_equal(problem.batch_indices(9), np.arange(48))


# -- what the page shows ----------------------------------------------------------------


def test_metrics_per_task() -> None:
    cls = NetworkProblem.from_json({"dataset": "moons", "n": 50})
    p = np.stack([cls.init_params(0), cls.init_params(1)])
    m = cls.metrics(p)
    assert set(m) == {"train_loss", "test_loss", "train_acc", "test_acc"}
    np.testing.assert_allclose(m["train_loss"], cls.value(p), rtol=0, atol=1e-15)
    assert all(v.shape == (2,) for v in m.values())
    assert np.all((m["train_acc"] >= 0) & (m["train_acc"] <= 1))
    reg = NetworkProblem.from_json({"dataset": "sine", "n": 50, "test_fraction": 0.0})
    assert set(reg.metrics(reg.init_params(0))) == {"train_loss"}


def test_accuracy_counts_correct_predictions() -> None:
    problem = NetworkProblem.from_json({"dataset": "xor", "n": 200, "hidden": [], "noise": 0})
    # a linear model cannot solve xor: a constant positive output predicts class 1 everywhere
    p = np.zeros(problem.dim)
    p[-1] = 5.0
    acc = problem.metrics(p)["train_acc"]
    assert acc == pytest.approx(np.mean(problem.dataset.y_train == 1.0))


def test_boundary_shapes_and_values() -> None:
    binary = NetworkProblem.from_json({"dataset": "moons", "n": 40})
    p = np.stack([binary.init_params(0), binary.init_params(1)])
    probs = binary.boundary(p, n=12)
    assert probs.shape == (2, 12, 12) and np.all((probs > 0) & (probs < 1))
    gx, gy = binary.grid_axes(12)
    assert gy is not None
    point = np.array([[gx[3], gy[7]]])
    z = binary.mlp.forward(p[:1], point)[0, 0, 0]
    assert probs[0, 7, 3] == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-15)
    multi = NetworkProblem.from_json({"dataset": "spiral", "arms": 3, "n": 60})
    classes = multi.boundary(multi.init_params(0), n=10)
    assert classes.shape == (10, 10) and set(np.unique(classes)) <= {0.0, 1.0, 2.0}
    reg = NetworkProblem.from_json({"dataset": "sine", "n": 40})
    curve = reg.boundary(reg.init_params(0), n=30)
    assert curve.shape == (30,)


def test_to_json_describes_the_problem() -> None:
    problem = NetworkProblem.from_json({"dataset": "spiral", "n": 100, "hidden": [8]})
    doc = problem.to_json()
    assert doc["sizes"] == [2, 8, 1] and doc["dim"] == problem.dim
    assert len(doc["train"]["x"]) == 80 and len(doc["test"]["y"]) == 20
    assert len(doc["grid"]["x"]) == 40 and doc["config"]["hidden"] == [8]


def test_value_takes_any_leading_shape() -> None:
    problem = NetworkProblem.from_json({"n": 40, "hidden": [4]})
    p = np.random.default_rng(0).standard_normal((2, 3, problem.dim))
    assert problem.value(p).shape == (2, 3)
    assert problem.grad(p).shape == (2, 3, problem.dim)
    with pytest.raises(ValueError, match="shape"):
        problem.value(np.zeros(problem.dim + 1))


def test_training_lowers_the_loss_and_diverges_to_non_finite() -> None:
    problem = NetworkProblem.from_json({"dataset": "moons", "n": 200})
    p0 = np.stack([problem.init_params(0)] * 2)
    _, losses = train(problem, "adam", [{"lr": 0.02}, {"lr": 0.05}], p0, 150)
    assert np.all(losses[-1] < 0.5 * losses[0])
    relu = NetworkProblem.from_json({"dataset": "sine", "n": 100, "activation": "relu"})
    with np.errstate(all="ignore"):
        _, losses = train(relu, "sgd", [{"lr": 10.0}], relu.init_params(0)[None], 80)
    assert losses[0, 0] > 1e3 and not np.isfinite(losses[-1, 0])


# -- the torch twin -------------------------------------------------------------------

TWIN_CASES = [
    ("moons-tanh", {"dataset": "moons", "n": 300, "hidden": [16, 16]}),
    (
        "spiral-relu-softmax",
        {"dataset": "spiral", "arms": 3, "n": 240, "hidden": [16, 16], "activation": "relu"},
    ),
    (
        "spiral-minibatch-l2",
        {"dataset": "spiral", "n": 200, "hidden": [16, 16], "batch_size": 32, "l2": 0.001},
    ),
]
TWIN_OPTIMIZERS = [
    ("sgd", {"lr": 0.1}),
    ("momentum", {"lr": 0.05}),
    ("adam", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.003}),
]


@pytest.mark.parametrize(("name", "hyper"), TWIN_OPTIMIZERS, ids=[o[0] for o in TWIN_OPTIMIZERS])
@pytest.mark.parametrize("case", [c[1] for c in TWIN_CASES], ids=[c[0] for c in TWIN_CASES])
def test_loss_curve_equals_torch_after_200_steps(
    case: dict[str, Any], name: str, hyper: dict[str, float]
) -> None:
    pytest.importorskip("torch")
    from server.problems.nn.torch_twin import TorchTwin

    problem = NetworkProblem.from_json(case)
    start = problem.init_params(7)
    params, ours = train(problem, name, [hyper], start[None], 200)
    twin = TorchTwin(problem, name, validate_hyper(name, hyper), start)
    theirs = np.array([twin.step() for _ in range(200)])
    assert ours[-1, 0] < ours[0, 0]  # it trained
    np.testing.assert_allclose(ours[:, 0], theirs, rtol=0, atol=1e-8)
    np.testing.assert_allclose(params[0], twin.params(), rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    "name",
    ["nesterov", "adamw", "amsgrad", "adagrad", "adadelta", "adamax", "nadam", "radam", "rprop"],
)
def test_other_optimizers_track_torch(name: str) -> None:
    pytest.importorskip("torch")
    from server.problems.nn.torch_twin import TorchTwin

    problem = NetworkProblem.from_json({"dataset": "moons", "n": 100, "hidden": [8]})
    start = problem.init_params(1)
    hyper = {"lr": 0.01}
    _, ours = train(problem, name, [hyper], start[None], 60)
    twin = TorchTwin(problem, name, validate_hyper(name, hyper), start)
    theirs = np.array([twin.step() for _ in range(60)])
    np.testing.assert_allclose(ours[:, 0], theirs, rtol=0, atol=1e-8)


def test_schedule_is_applied_like_torch() -> None:
    pytest.importorskip("torch")
    from server.problems.nn.torch_twin import TorchTwin

    problem = NetworkProblem.from_json({"dataset": "moons", "n": 100, "batch_size": 25})
    schedule = parse_schedule({"name": "step", "step_size": 10, "gamma": 0.5})
    start = problem.init_params(2)
    _, ours = train(problem, "momentum", [{"lr": 0.2}], start[None], 50, schedule)
    twin = TorchTwin(problem, "momentum", {"lr": 0.2, "momentum": 0.9}, start, schedule)
    theirs = np.array([twin.step() for _ in range(50)])
    np.testing.assert_allclose(ours[:, 0], theirs, rtol=0, atol=1e-8)


def test_twin_refuses_optimizers_torch_lacks() -> None:
    pytest.importorskip("torch")
    from server.problems.nn.torch_twin import TorchTwin

    problem = NetworkProblem.from_json({"n": 40})
    with pytest.raises(ValueError, match="lion"):
        TorchTwin(problem, "lion", {"lr": 0.1}, problem.init_params(0))


def test_everything_but_the_twin_works_without_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # import torch now raises ImportError
        import numpy as np
        from server.problems.nn.torch_twin import torch_available
        from server.problems.nn.problem import NetworkProblem
        from server.problems.nn.landscape import landscape
        from server.optim.registry import get_optimizer, hyper_rows
        assert not torch_available()
        problem = NetworkProblem.from_json({"n": 60, "hidden": [4]})
        p = problem.init_params(0)[None]
        opt = get_optimizer("adam")
        hyper = hyper_rows("adam", [{"lr": 0.01}])
        state = opt.init(p, hyper)
        for k in range(1, 6):
            u, state = opt.update(problem.grad_batch(p, k - 1), state, p, hyper, None)
            p = p + u
        landscape(problem, p[0], [p], n=5)
        assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
