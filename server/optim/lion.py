"""Lion (EvoLved Sign Momentum), as in Chen et al. 2023 (Algorithm 2) and common implementations.

Variant: the paper's. The step is the sign of an interpolation between the momentum and the
current gradient (``sign(0) = 0``, so a coordinate with an exactly zero interpolation stays put);
the momentum is updated afterwards with its own rate β₂; weight decay is decoupled,
``θ ← θ − γ (sign(c) + λθ)``. There is no bias correction and no eps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import lerp, zeros_row


class LionState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    mu: Array


def init(params: Array, hyper: Hyper) -> LionState:
    return LionState(zeros_row(params), np.zeros_like(params))


def update(
    grads: Array,
    state: LionState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, LionState]:
    step = np.sign(lerp(state.mu, grads, 1.0 - hyper["beta1"]))
    step += hyper["weight_decay"] * params
    step *= -hyper["lr"]
    mu = lerp(state.mu, grads, 1.0 - hyper["beta2"])
    return step, LionState(state.count + 1.0, mu)


LION = Optimizer(
    OptimizerSpec(
        name="lion",
        title="Lion",
        summary="Moves every coordinate by exactly lr, in the sign of a momentum blend.",
        rule=(
            "c_t = β₁ m_{t-1} + (1 − β₁) g_t\n"
            "θ_t = θ_{t-1} − γ (sign(c_t) + λ θ_{t-1})\n"
            "m_t = β₂ m_{t-1} + (1 − β₂) g_t"
        ),
        reference="Chen et al. 2023, 'Symbolic Discovery of Optimization Algorithms', NeurIPS",
        torch=None,
        hyper=(
            h.lr(1e-4, "Size of every coordinate's step (typically 3-10x smaller than Adam's)."),
            h.beta1(0.9),
            h.real("beta2", 0.99, 0.0, 0.9999, "Decay rate β₂ of the momentum kept between steps."),
            h.weight_decay(0.0, "Decoupled decay λ: weights shrink by γλ each step."),
        ),
    ),
    init,
    update,
)
