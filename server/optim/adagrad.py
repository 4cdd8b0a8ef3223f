"""Adagrad: torch.optim.Adagrad.

Variant: torch's. The accumulator starts at ``initial_accumulator_value``; eps is added after the
square root; the learning rate decays as ``lr / (1 + (t - 1) * lr_decay)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, zeros_row


class AdagradState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    sum_squares: Array


def init(params: Array, hyper: Hyper) -> AdagradState:
    accumulator = np.broadcast_to(hyper["initial_accumulator_value"], params.shape).copy()
    return AdagradState(zeros_row(params), accumulator)


def update(
    grads: Array,
    state: AdagradState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, AdagradState]:
    count = state.count + 1.0
    g = coupled_decay(grads, params, hyper["weight_decay"])
    clr = hyper["lr"] / (1.0 + (count - 1.0) * hyper["lr_decay"])
    sum_squares = g * g
    sum_squares += state.sum_squares
    std = np.sqrt(sum_squares)
    std += hyper["eps"]
    g *= -clr
    step = np.divide(g, std, out=std)
    return step, AdagradState(count, sum_squares)


ADAGRAD = Optimizer(
    OptimizerSpec(
        name="adagrad",
        title="Adagrad",
        summary="Per-coordinate steps shrinking with the sum of all past squared gradients.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1};  γ̃_t = γ / (1 + (t − 1) η)\n"
            "s_t = s_{t-1} + g_t²   (s_0 = initial_accumulator_value)\n"
            "θ_t = θ_{t-1} − γ̃_t g_t / (√s_t + ε)"
        ),
        reference=(
            "Duchi, Hazan & Singer 2011, 'Adaptive Subgradient Methods for Online Learning "
            "and Stochastic Optimization', JMLR 12"
        ),
        torch="Adagrad",
        hyper=(
            h.lr(1e-2),
            h.real("lr_decay", 0.0, 0.0, 1.0, "Learning-rate decay η per step."),
            h.weight_decay(),
            h.real(
                "initial_accumulator_value",
                0.0,
                0.0,
                10.0,
                "Starting value of the squared-gradient sum.",
            ),
            h.eps(1e-10),
        ),
    ),
    init,
    update,
)
