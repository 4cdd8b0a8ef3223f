"""Adamax: torch.optim.Adamax.

Variant: torch's. The infinity-norm average is ``u = max(β₂ u, |g| + ε)`` (eps inside the max,
so it is never zero) and only the first moment is bias-corrected.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, lerp, zeros_row


class AdamaxState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    mu: Array
    inf_norm: Array


def init(params: Array, hyper: Hyper) -> AdamaxState:
    return AdamaxState(zeros_row(params), np.zeros_like(params), np.zeros_like(params))


def update(
    grads: Array,
    state: AdamaxState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, AdamaxState]:
    count = state.count + 1.0
    g = coupled_decay(grads, params, hyper["weight_decay"])
    mu = lerp(state.mu, g, 1.0 - hyper["beta1"])
    magnitude = np.abs(g)
    magnitude += hyper["eps"]
    inf_norm = np.maximum(state.inf_norm * hyper["beta2"], magnitude)
    clr = hyper["lr"] / (1.0 - hyper["beta1"] ** count)
    step = np.divide(-clr * mu, inf_norm, out=magnitude)
    return step, AdamaxState(count, mu, inf_norm)


ADAMAX = Optimizer(
    OptimizerSpec(
        name="adamax",
        title="Adamax",
        summary="Adam with the RMS replaced by a decaying maximum of |gradient|.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}\n"
            "m_t = β₁ m_{t-1} + (1 − β₁) g_t;  u_t = max(β₂ u_{t-1}, |g_t| + ε)\n"
            "θ_t = θ_{t-1} − γ / (1 − β₁ᵗ) · m_t / u_t"
        ),
        reference="Kingma & Ba 2015, 'Adam: A Method for Stochastic Optimization', ICLR, sec. 7.1",
        torch="Adamax",
        hyper=(
            h.lr(2e-3),
            h.beta1(),
            h.beta2(),
            h.eps(1e-8, "Added to |g| inside the maximum."),
            h.weight_decay(),
        ),
    ),
    init,
    update,
)
