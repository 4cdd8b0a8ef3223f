"""Backprop of every layer and of the whole MLP: central finite differences and torch autograd."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from server.problems.base import Array
from server.problems.nn.layers import ACTIVATIONS, Linear, activation, erf
from server.problems.nn.mlp import MLP
from server.problems.nn.problem import NetworkConfig, NetworkProblem

H = 1e-6


def test_erf_matches_math_erf_everywhere() -> None:
    x = np.concatenate([np.linspace(-8.0, 8.0, 40001), [1e-300, -1e-12, 5.99, 6.01, 30.0]])
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expected)) < 4e-16


def test_erf_propagates_nan_and_handles_infinity() -> None:
    out = erf(np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == -1.0


def _points(seed: int = 0) -> Array:
    z = np.random.default_rng(seed).normal(0.0, 2.0, size=(3, 7, 5))
    return np.where(np.abs(z) < 1e-3, 0.5, z)  # keep away from relu's kink


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_finite_differences(name: str) -> None:
    act = activation(name)
    z = _points()
    da = np.random.default_rng(1).standard_normal(z.shape)
    dz = act.backward(z, act.forward(z), da)
    numeric = (act.forward(z + H) - act.forward(z - H)) / (2 * H) * da
    np.testing.assert_allclose(dz, numeric, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_out_argument_gives_the_same_result(name: str) -> None:
    act = activation(name)
    z = _points(2)
    da = np.ones_like(z)
    a_buf, dz_buf = np.empty_like(z), np.empty_like(z)
    a = act.forward(z, out=a_buf)
    assert a is a_buf
    np.testing.assert_array_equal(a, act.forward(z))
    np.testing.assert_array_equal(act.backward(z, a, da, out=dz_buf), act.backward(z, a, da))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_and_backward_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    from server.problems.nn.torch_twin import _activation_module

    act = activation(name)
    z = _points(3)
    da = np.random.default_rng(4).standard_normal(z.shape)
    zt = torch.tensor(z, requires_grad=True)
    at = _activation_module(name)(zt)
    at.backward(torch.tensor(da))
    a = act.forward(z)
    np.testing.assert_allclose(a, at.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(act.backward(z, a, da), zt.grad.numpy(), rtol=0, atol=1e-13)


def test_relu_derivative_at_zero_is_zero_and_leaky_is_slope() -> None:
    z = np.zeros((1, 1, 3))
    da = np.ones_like(z)
    assert np.all(activation("relu").backward(z, z, da) == 0.0)
    assert np.all(activation("leaky_relu").backward(z, z, da) == 0.01)


def _linear_case(shared: bool) -> tuple[Array, Array, Array, Array]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3)) if shared else rng.standard_normal((2, 6, 3))
    w = rng.standard_normal((2, 4, 3))
    b = rng.standard_normal((2, 1, 4))
    dy = rng.standard_normal((2, 6, 4))
    return x, w, b, dy


def _numeric_gradient(f: Callable[[], float], arr: Array) -> Array:
    """Central differences of the scalar ``f()`` with respect to ``arr``, perturbed in place."""
    out = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + H
        plus = f()
        arr[idx] = old - H
        minus = f()
        arr[idx] = old
        out[idx] = (plus - minus) / (2 * H)
    return out


@pytest.mark.parametrize("shared", [True, False])
def test_linear_backward_matches_finite_differences(shared: bool) -> None:
    x, w, b, dy = _linear_case(shared)
    dx, dw, db = Linear.backward(x, w, dy)
    assert dx is not None

    def scalar() -> float:
        return float((Linear.forward(x, w, b) * dy).sum())

    # a shared input feeds every run, so its gradient is the sum over runs
    np.testing.assert_allclose(
        dx.sum(axis=0) if shared else dx, _numeric_gradient(scalar, x), rtol=1e-7, atol=1e-8
    )
    np.testing.assert_allclose(dw, _numeric_gradient(scalar, w), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(
        db.reshape(b.shape), _numeric_gradient(scalar, b), rtol=1e-7, atol=1e-8
    )


def test_linear_backward_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    x, w, b, dy = _linear_case(shared=False)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (xt @ wt.transpose(1, 2) + bt).backward(torch.tensor(dy))
    dx, dw, db = Linear.backward(x, w, dy)
    assert dx is not None
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(db, bt.grad.numpy().reshape(db.shape), rtol=0, atol=1e-12)


CASES = [
    {"dataset": "moons", "n": 60, "hidden": [5, 4], "activation": name} for name in ACTIVATIONS
] + [
    {"dataset": "spiral", "arms": 3, "n": 60, "hidden": [6], "activation": "tanh", "l2": 0.1},
    {"dataset": "sine", "n": 40, "hidden": [4, 4, 3], "activation": "gelu", "l2": 0.01},
    {"dataset": "blobs", "classes": 4, "n": 60, "hidden": [], "activation": "relu", "loss": "mse"},
    {"dataset": "circles", "n": 40, "hidden": [5], "activation": "sigmoid", "loss": "softmax"},
]


def _problem(case: dict[str, object]) -> NetworkProblem:
    return NetworkProblem(NetworkConfig.from_json({**case, "seed": 3}))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['dataset']}-{c['activation']}")
def test_network_gradient_matches_finite_differences(case: dict[str, object]) -> None:
    problem = _problem(case)
    p = problem.init_params(1)
    g = problem.grad(p)
    eye = np.eye(problem.dim)
    numeric = (problem.value(p + H * eye) - problem.value(p - H * eye)) / (2 * H)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['dataset']}-{c['activation']}")
def test_network_value_and_gradient_match_torch_autograd(case: dict[str, object]) -> None:
    pytest.importorskip("torch")
    from server.problems.nn.torch_twin import TorchTwin

    problem = _problem(case)
    p = problem.init_params(2)
    twin = TorchTwin(problem, "sgd", {"lr": 0.1}, p)
    twin.optimizer.zero_grad()
    value = twin._objective(twin._x, twin._t)
    value.backward()
    torch_grad = np.concatenate([param.grad.numpy().ravel() for param in twin.model.parameters()])
    assert abs(value.item() - float(problem.value(p))) < 1e-12
    np.testing.assert_allclose(problem.grad(p), torch_grad, rtol=0, atol=1e-10)


def test_batched_runs_equal_one_run_at_a_time() -> None:
    problem = _problem(CASES[0])
    p = np.stack([problem.init_params(s) for s in range(5)])
    singles = np.stack([problem.grad(row) for row in p])
    np.testing.assert_allclose(problem.grad(p), singles, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        problem.value(p.reshape(5, 1, -1)), [[problem.value(row)] for row in p], atol=1e-15
    )


def test_init_uses_torch_default_bounds_and_layout() -> None:
    mlp = MLP((2, 16, 3), "tanh")
    assert mlp.dim == 2 * 16 + 16 + 16 * 3 + 3
    p = mlp.init(0)
    first = p[: 2 * 16 + 16]
    second = p[2 * 16 + 16 :]
    assert np.abs(first).max() <= 1 / math.sqrt(2) and np.abs(first).max() > 0.6
    assert np.abs(second).max() <= 1 / math.sqrt(16) and np.abs(second).max() > 0.2
    assert np.array_equal(mlp.init(0), p) and not np.array_equal(mlp.init(1), p)
    (w0, b0), (w1, b1) = mlp.unflatten(p[None])
    assert w0.shape == (1, 16, 2) and b0.shape == (1, 1, 16)
    assert w1.shape == (1, 3, 16) and b1.shape == (1, 1, 3)
    assert w0[0, 1, 0] == p[2] and b0[0, 0, 0] == p[32]
