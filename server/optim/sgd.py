"""Stochastic gradient descent with optional (Nesterov) momentum: torch.optim.SGD.

Variant: torch's. The momentum buffer starts at the first gradient (not at zero and not damped),
dampening scales only the later gradients, and Nesterov looks ahead with ``g + momentum * b``.
``sgd``, ``momentum`` and ``nesterov`` are this one algorithm with different defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, InvalidHyperparameter, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, is_on, zeros_row


class SGDState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    momentum_buffer: Array
    has_buffer: Array
    """1.0 once the row has a buffer; like torch, a row gets one at its first step with momentum."""


RULE = (
    "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}\n"
    "b_1 = g_1;  b_t = μ b_{t-1} + (1 − τ) g_t   (only when μ ≠ 0)\n"
    "d_t = g_t + μ b_t if nesterov else b_t   (d_t = g_t when μ = 0)\n"
    "θ_t = θ_{t-1} − γ d_t"
)
REFERENCE = (
    "Robbins & Monro 1951; Polyak 1964 (heavy ball); Sutskever et al. 2013, "
    "'On the importance of initialization and momentum in deep learning' (Nesterov form)"
)


def init(params: Array, hyper: Hyper) -> SGDState:
    return SGDState(zeros_row(params), np.zeros_like(params), zeros_row(params))


def update(
    grads: Array,
    state: SGDState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, SGDState]:
    momentum = hyper["momentum"]
    g = coupled_decay(grads, params, hyper["weight_decay"])
    with_momentum = momentum != 0.0
    later = momentum * state.momentum_buffer
    later += (1.0 - hyper["dampening"]) * g
    buffer = np.where(is_on(state.has_buffer), later, g)
    buffer = np.where(with_momentum, buffer, state.momentum_buffer)
    direction = np.where(is_on(hyper["nesterov"]), g + momentum * buffer, buffer)
    direction = np.where(with_momentum, direction, g)
    direction *= -hyper["lr"]
    has_buffer = np.maximum(state.has_buffer, with_momentum)
    return direction, SGDState(state.count + 1.0, buffer, has_buffer)


def check(values: Mapping[str, float]) -> None:
    """torch's structural rule: Nesterov needs momentum and no dampening."""
    if values["nesterov"] and (values["momentum"] <= 0.0 or values["dampening"] != 0.0):
        raise InvalidHyperparameter(
            "nesterov", "Nesterov momentum requires a momentum and zero dampening"
        )


def _spec(name: str, title: str, summary: str, momentum: float, nesterov: bool) -> OptimizerSpec:
    return OptimizerSpec(
        name=name,
        title=title,
        summary=summary,
        rule=RULE,
        reference=REFERENCE,
        torch="SGD",
        hyper=(
            h.lr(1e-3),
            h.real("momentum", momentum, 0.0, 0.999, "Momentum factor μ (0 = plain SGD)."),
            h.real("dampening", 0.0, 0.0, 1.0, "Dampening τ of the gradient added to the buffer."),
            h.weight_decay(),
            h.flag("nesterov", nesterov, "Use Nesterov's look-ahead form of momentum."),
        ),
    )


SGD = Optimizer(
    _spec("sgd", "SGD", "Plain gradient descent: step against the gradient.", 0.0, False),
    init,
    update,
)
MOMENTUM = Optimizer(
    _spec(
        "momentum",
        "SGD with momentum",
        "Gradient descent that accumulates a velocity (heavy ball).",
        0.9,
        False,
    ),
    init,
    update,
)
NESTEROV = Optimizer(
    _spec(
        "nesterov",
        "Nesterov momentum",
        "Momentum that corrects the step with a look-ahead gradient.",
        0.9,
        True,
    ),
    init,
    update,
)
