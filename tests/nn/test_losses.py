"""Every loss and its gradient: central finite differences, torch, and extreme logits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.problems.base import Array
from server.problems.nn.losses import LOSSES, loss

H = 1e-6


def _case(name: str, seed: int = 0, scale: float = 2.0) -> tuple[Array, Array]:
    """Outputs ``(N=3, B=8, K)`` and a target ``(B, K)`` suited to the loss."""
    rng = np.random.default_rng(seed)
    k = 1 if name == "bce" else 4
    z = scale * rng.standard_normal((3, 8, k))
    if name == "bce":
        t = rng.integers(0, 2, size=(8, 1)).astype(np.float64)
    elif name == "softmax":
        t = np.eye(k)[rng.integers(0, k, size=8)]
    else:
        t = rng.standard_normal((8, k))
    return z, t


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_matches_finite_differences(name: str) -> None:
    fn = loss(name)
    z, t = _case(name)
    value, grad = fn.value_and_grad(z, t)
    assert value.shape == (3,)
    np.testing.assert_array_equal(value, fn.value(z, t))
    np.testing.assert_array_equal(grad, fn.grad(z, t))
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += H
        minus[idx] -= H
        numeric[idx] = (fn.value(plus, t)[idx[0]] - fn.value(minus, t)[idx[0]]) / (2 * H)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def _torch_loss(name: str, z: Any, t: Array) -> Any:
    import torch

    target = torch.tensor(t)
    if name == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(z, target)
    if name == "softmax":
        return torch.nn.functional.cross_entropy(z, target.argmax(dim=1))
    return torch.nn.functional.mse_loss(z, target)


@pytest.mark.parametrize("scale", [1.0, 30.0])
@pytest.mark.parametrize("name", LOSSES)
def test_value_and_gradient_match_torch(name: str, scale: float) -> None:
    torch = pytest.importorskip("torch")
    fn = loss(name)
    z, t = _case(name, seed=1, scale=scale)
    value, grad = fn.value_and_grad(z, t)
    for run in range(z.shape[0]):
        zt = torch.tensor(z[run], requires_grad=True)
        out = _torch_loss(name, zt, t)
        out.backward()
        assert abs(value[run] - out.item()) < 1e-12 * max(1.0, abs(value[run]))
        np.testing.assert_allclose(grad[run], zt.grad.numpy(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", ["bce", "softmax"])
def test_extreme_logits_stay_finite_and_exact(name: str) -> None:
    fn = loss(name)
    z, t = _case(name, seed=2, scale=800.0)
    value, grad = fn.value_and_grad(z, t)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    if name == "bce":
        # softplus(z) - t z: a confident right answer costs ~0, a wrong one ~|z|
        per_point = np.where((z > 0) == (t > 0.5), 0.0, np.abs(z))
        np.testing.assert_allclose(value, per_point.mean(axis=(1, 2)), rtol=1e-12)


def test_mse_averages_over_every_element() -> None:
    z = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    t = np.zeros((2, 2))
    assert loss("mse").value(z, t)[0] == pytest.approx(30.0 / 4)
    np.testing.assert_allclose(loss("mse").grad(z, t), 2.0 * z / 4)


def test_unknown_loss_is_refused() -> None:
    with pytest.raises(ValueError, match="hinge"):
        loss("hinge")
