"""Adadelta: torch.optim.Adadelta.

Variant: torch's. eps is added inside both square roots; the step is additionally scaled by
``lr`` (default 1.0, as in torch); both running averages start at zero.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, decay_square, zeros_row


class AdadeltaState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    square_avg: Array
    acc_delta: Array


def init(params: Array, hyper: Hyper) -> AdadeltaState:
    return AdadeltaState(zeros_row(params), np.zeros_like(params), np.zeros_like(params))


def update(
    grads: Array,
    state: AdadeltaState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, AdadeltaState]:
    rho = hyper["rho"]
    eps = hyper["eps"]
    g = coupled_decay(grads, params, hyper["weight_decay"])
    square_avg = decay_square(state.square_avg, g, rho)
    delta = np.sqrt(state.acc_delta + eps)
    delta /= np.sqrt(square_avg + eps)
    delta *= g
    acc_delta = decay_square(state.acc_delta, delta, rho)
    delta *= -hyper["lr"]
    return delta, AdadeltaState(state.count + 1.0, square_avg, acc_delta)


ADADELTA = Optimizer(
    OptimizerSpec(
        name="adadelta",
        title="Adadelta",
        summary="Steps sized by the ratio of recent update size to recent gradient size.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1};  v_t = ρ v_{t-1} + (1 − ρ) g_t²\n"
            "Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t;  u_t = ρ u_{t-1} + (1 − ρ) Δ_t²\n"
            "θ_t = θ_{t-1} − γ Δ_t"
        ),
        reference="Zeiler 2012, 'ADADELTA: An Adaptive Learning Rate Method', arXiv:1212.5701",
        torch="Adadelta",
        hyper=(
            h.lr(1.0, "Scale γ applied to the Adadelta step (1 = the paper's method)."),
            h.real("rho", 0.9, 0.0, 0.9999, "Decay rate ρ of both running averages."),
            h.eps(1e-6, "Added inside both square roots; sets the size of the first steps."),
            h.weight_decay(),
        ),
    ),
    init,
    update,
)
