"""Damped Newton's method with absolute-value eigenvalue modification ("saddle-free" Newton).

The Hessian of every run is decomposed as ``H = Q diag(λ) Qᵀ`` (``np.linalg.eigh`` on the whole
``(N, D, D)`` batch; only its lower triangle is read) and each eigenvalue is replaced by
``max(|λ_i|, min_curvature)``. The step ``−lr · Q diag(1 / max(|λ|, δ)) Qᵀ g`` is therefore
always a descent direction (the modified matrix is positive definite):

* positive-definite H with every λ ≥ δ: the exact Newton step; ``lr = 1`` solves a convex
  quadratic in one step;
* a negative eigenvalue (a saddle or a maximum): the step moves *downhill* along that eigenvector
  with step length ``|g_i| / |λ_i|``, instead of jumping to the saddle as plain Newton would;
* an eigenvalue near zero (flat direction, singular H): floored at δ = ``min_curvature``, so the
  step along it is at most ``|g_i| / δ`` (a gradient step with rate 1/δ) instead of infinite.

A run whose Hessian is not finite gets a NaN update (the engine reports it as diverged) instead
of an exception.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import zeros_row


class NewtonState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax


def init(params: Array, hyper: Hyper) -> NewtonState:
    return NewtonState(zeros_row(params))


def update(
    grads: Array,
    state: NewtonState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, NewtonState]:
    if hessian is None:
        raise ValueError("newton needs the Hessian: pass hessian of shape (N, D, D)")
    # A NaN or infinity anywhere in a row's Hessian makes its sum non-finite.
    finite = np.isfinite(hessian.sum(axis=(1, 2)))
    all_finite = bool(finite.all())
    if not all_finite:
        hessian = np.where(finite[:, None, None], hessian, np.eye(grads.shape[1]))
    curvature, basis = np.linalg.eigh(hessian)
    np.abs(curvature, out=curvature)
    np.maximum(curvature, hyper["min_curvature"], out=curvature)
    coords = np.einsum("nji,nj->ni", basis, grads)
    coords /= curvature
    step = np.einsum("nij,nj->ni", basis, coords)
    step *= -hyper["lr"]
    if not all_finite:
        step = np.where(finite[:, None], step, np.nan)
    return step, NewtonState(state.count + 1.0)


NEWTON = Optimizer(
    OptimizerSpec(
        name="newton",
        title="Newton (damped)",
        summary="Steps to the minimum of the local quadratic model; needs the Hessian.",
        rule=(
            "H_t = ∇²f(θ_{t-1}) = Q diag(λ) Qᵀ;  |H|_δ = Q diag(max(|λ|, δ)) Qᵀ\n"
            "θ_t = θ_{t-1} − γ |H|_δ⁻¹ ∇f(θ_{t-1})"
        ),
        reference=(
            "Nocedal & Wright 2006, 'Numerical Optimization', 2nd ed., sec. 3.4 (Hessian "
            "modification); Dauphin et al. 2014, 'Identifying and attacking the saddle point "
            "problem in high-dimensional non-convex optimization', NeurIPS (|λ| form)"
        ),
        torch=None,
        hyper=(
            h.lr(1.0, "Damping γ of the Newton step (1 = the full step)."),
            h.real(
                "min_curvature",
                1e-2,
                1e-6,
                1e3,
                "Floor δ on |eigenvalue| of the Hessian; bounds the step in flat directions.",
                "log",
            ),
        ),
        needs_hessian=True,
    ),
    init,
    update,
)
