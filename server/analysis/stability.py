"""Local stability of gradient descent: the largest stable learning rate at a point.

On a quadratic with curvature h along a direction, the classical methods are linear recurrences
whose stability edge is known in closed form (torch.optim.SGD's variants, weight decay ``w``
adding ``w`` to the curvature, dampening ``τ`` scaling the gradient after the first step):

- plain gradient descent: ``lr · h < 2``;
- heavy ball, ``b = μ b + (1 − τ) g``: ``lr (1 − τ) h < 2 (1 + μ)``;
- Nesterov (torch's form, no dampening): ``lr · h < 2 (1 + μ) / (1 + 2μ)``.

Near a point, h is the largest eigenvalue λmax of the exact Hessian there (plus ``w``): above the
edge, the component of the path along that eigenvector grows by ``|root| > 1`` each step. Other
optimizers rescale their steps by gradient statistics and have no such edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from server.optim.base import Array


@dataclass(frozen=True)
class Edge:
    """The stable range ``lr < factor / (λmax + shift)`` of one configuration."""

    factor: float
    shift: float
    formula: str
    """How the limit is computed, in words a student can check (``2(1+μ)/λmax, μ = 0.9``)."""

    def limit(self, lambda_max: float) -> float | None:
        """The largest stable learning rate at curvature ``lambda_max`` (None: no limit)."""
        curvature = lambda_max + self.shift
        if not curvature > 0.0 or not math.isfinite(curvature):
            return None
        return self.factor / curvature


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def edge(optimizer: str, hyper: Mapping[str, float]) -> Edge | None:
    """The stability edge of ``optimizer`` with validated ``hyper``, or None if it has none."""
    if optimizer not in ("sgd", "momentum", "nesterov"):
        return None
    mu = float(hyper.get("momentum", 0.0))
    damp = float(hyper.get("dampening", 0.0))
    decay = float(hyper.get("weight_decay", 0.0))
    shift_note = f", λmax + weight_decay {_fmt(decay)}" if decay else ""
    if mu == 0.0:
        return Edge(2.0, decay, f"2/λmax{shift_note}")
    if hyper.get("nesterov", 0.0):
        factor = 2.0 * (1.0 + mu) / (1.0 + 2.0 * mu)
        return Edge(
            factor, decay, f"2(1+μ)/((1+2μ)λmax) with μ = {_fmt(mu)} (Nesterov){shift_note}"
        )
    if damp >= 1.0:
        return None
    factor = 2.0 * (1.0 + mu) / (1.0 - damp)
    damp_note = f" and dampening τ = {_fmt(damp)}, /(1−τ)" if damp else ""
    return Edge(factor, decay, f"2(1+μ)/λmax with momentum μ = {_fmt(mu)}{damp_note}{shift_note}")


def lambda_max(hessians: Array) -> Array:
    """Largest eigenvalue of each symmetric matrix of ``hessians`` (``(N, D, D)`` -> ``(N,)``).

    2x2 in closed form (the surfaces); NaN where the Hessian is not finite.
    """
    if hessians.shape[-1] == 2:
        a, b, c = hessians[..., 0, 0], hessians[..., 0, 1], hessians[..., 1, 1]
        half = 0.5 * (a - c)
        with np.errstate(all="ignore"):
            top: Array = 0.5 * (a + c) + np.hypot(half, b)
        return top
    finite = np.isfinite(hessians).all(axis=(-2, -1))
    out = np.full(hessians.shape[:-2], np.nan)
    if finite.any():
        out[finite] = np.linalg.eigvalsh(hessians[finite])[..., -1]
    return out


def growth_factor(lr: float, curvature: float) -> float:
    """How much plain gradient descent multiplies the error along the curvature each step."""
    return abs(1.0 - lr * curvature)
