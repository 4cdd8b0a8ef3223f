"""The divergence edge a sweep measures on quadratics against the stability theory."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from server.analysis.requests import SweepRequest
from server.analysis.stability import edge, lambda_max
from server.analysis.sweep import sweep

KAPPA = 100.0  # quadratic: λmax = kappa, λmin = 1

CASES = [
    ("sgd", {}, 2.0 / KAPPA),
    ("momentum", {}, 2.0 * 1.9 / KAPPA),
    ("momentum", {"momentum": 0.5, "dampening": 0.5}, 2.0 * 1.5 / 0.5 / KAPPA),
    ("nesterov", {}, 2.0 * 1.9 / 2.8 / KAPPA),
    ("sgd", {"weight_decay": 0.5}, 2.0 / (KAPPA + 0.5)),
]


@pytest.mark.parametrize(("optimizer", "hyper", "theory"), CASES)
def test_the_measured_edge_is_the_predicted_one(
    optimizer: str, hyper: dict[str, float], theory: float
) -> None:
    factors = [0.5, 0.9, 0.97, 1.03, 1.1, 2.0]
    body = SweepRequest(
        surface="quadratic",
        params={"kappa": KAPPA},
        optimizer=optimizer,
        hyper=hyper,
        start=(1.0, 1.0),
        steps=500,
        lrs=[theory * f for f in factors],
    )
    out = sweep(body)
    assert out["predicted_edge"]["lr"] == pytest.approx(theory, rel=1e-12)
    assert out["edge"] == pytest.approx(theory * 1.03)  # first swept lr above the edge
    final = np.array(out["final_loss"], dtype=float)
    assert (final[:3] < 1e-3).all()  # below the edge: converging
    grown = [d or f > 1.0 for d, f in zip(out["diverged"], final, strict=True)]
    assert grown == [False, False, False, True, True, True]
    assert out["diverged"][-1]  # twice the edge overflows within 500 steps


def test_a_64_point_sweep_brackets_two_over_lambda_max() -> None:
    out = sweep(
        SweepRequest(
            surface="quadratic",
            params={"kappa": KAPPA},
            optimizer="sgd",
            start=(1.0, 1.0),
            steps=500,
            lr_min=1e-4,
            lr_max=1.0,
            n=64,
        )
    )
    lrs = np.array(out["lr"])
    assert len(lrs) == 64 and lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1.0)
    measured = out["edge"]
    below = lrs[lrs < measured].max()
    assert below < 2.0 / KAPPA < measured  # the edge lies between neighbouring grid points
    assert out["predicted_edge"]["formula"] == "2/λmax"


def test_lambda_max_of_two_by_two_matches_eigvalsh() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 2, 2))
    sym = a + a.transpose(0, 2, 1)
    assert np.allclose(lambda_max(sym), np.linalg.eigvalsh(sym)[:, -1])
    big = rng.normal(size=(5, 3, 3))
    big = big + big.transpose(0, 2, 1)
    assert np.allclose(lambda_max(big), np.linalg.eigvalsh(big)[:, -1])


def test_optimizers_without_an_edge_have_none() -> None:
    assert edge("adam", {"lr": 0.1}) is None and edge("newton", {"lr": 1.0}) is None
    found = edge("momentum", {"momentum": 0.9})
    assert found is not None and found.limit(-1.0) is None  # no positive curvature: no limit


def _envelope_ratio(torch: Any, lr: float, mu: float, nesterov: bool, h: float) -> float:
    """max |x| over steps 1800-2000 over the max over steps 200-400, torch.optim.SGD on h x²/2."""
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr, momentum=mu, nesterov=nesterov)
    path = []
    for _ in range(2000):
        opt.zero_grad()
        (0.5 * h * x * x).sum().backward()
        opt.step()
        path.append(abs(float(x.item())))
    late, early = max(path[1800:]), max(path[200:400])
    return late / early if math.isfinite(late) and early > 0 else math.inf


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("mu", [0.3, 0.6, 0.9, 0.99])
def test_the_momentum_edges_are_torch_sgds_own(mu: float, nesterov: bool) -> None:
    """2% below the predicted edge torch's SGD shrinks the error, 2% above it grows it (heavy
    ball: 2(1+μ)/h; Nesterov as torch writes it, p -= lr (g + μ b): 2(1+μ)/((1+2μ) h))."""
    torch = pytest.importorskip("torch")
    h = 3.0
    name = "nesterov" if nesterov else "momentum"
    found = edge(name, {"momentum": mu, "nesterov": float(nesterov)})
    assert found is not None
    limit = found.limit(h)
    assert limit is not None
    expected = 2.0 * (1.0 + mu) / ((1.0 + 2.0 * mu) if nesterov else 1.0) / h
    assert limit == pytest.approx(expected, rel=1e-12)
    assert _envelope_ratio(torch, 0.98 * limit, mu, nesterov, h) < 1.0
    assert _envelope_ratio(torch, 1.02 * limit, mu, nesterov, h) > 1.0
