"""RMSprop: torch.optim.RMSprop.

Variant: torch's. eps is added after the square root; the squared-gradient average, the centered
gradient average and the momentum buffer all start at zero (no bias correction). With momentum
the buffer accumulates the normalised gradient, ``b = μ b + g / (√v + ε)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, decay_square, is_on, lerp, zeros_row


class RMSpropState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    square_avg: Array
    grad_avg: Array
    momentum_buffer: Array


def init(params: Array, hyper: Hyper) -> RMSpropState:
    return RMSpropState(
        zeros_row(params), np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
    )


def update(
    grads: Array,
    state: RMSpropState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, RMSpropState]:
    alpha = hyper["alpha"]
    momentum = hyper["momentum"]
    g = coupled_decay(grads, params, hyper["weight_decay"])
    square_avg = decay_square(state.square_avg, g, alpha)
    # The gradient average is kept for every row so that turning `centered` on mid-run is sound.
    grad_avg = lerp(state.grad_avg, g, 1.0 - alpha)
    avg = np.where(is_on(hyper["centered"]), square_avg - grad_avg * grad_avg, square_avg)
    np.sqrt(avg, out=avg)
    avg += hyper["eps"]
    np.divide(g, avg, out=avg)
    with_momentum = momentum > 0.0
    buffer = np.where(with_momentum, momentum * state.momentum_buffer + avg, state.momentum_buffer)
    step = np.where(with_momentum, buffer, avg)
    step *= -hyper["lr"]
    return step, RMSpropState(state.count + 1.0, square_avg, grad_avg, buffer)


RMSPROP = Optimizer(
    OptimizerSpec(
        name="rmsprop",
        title="RMSprop",
        summary="Divides each step by a running root-mean-square of recent gradients.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}\n"
            "v_t = α v_{t-1} + (1 − α) g_t²;  centered: ḡ_t = α ḡ_{t-1} + (1 − α) g_t, "
            "ṽ_t = v_t − ḡ_t²\n"
            "μ > 0: b_t = μ b_{t-1} + g_t / (√ṽ_t + ε), θ_t = θ_{t-1} − γ b_t\n"
            "μ = 0: θ_t = θ_{t-1} − γ g_t / (√ṽ_t + ε)"
        ),
        reference=(
            "Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, "
            "lecture 6e; Graves 2013, 'Generating Sequences With Recurrent Neural Networks' "
            "(centered)"
        ),
        torch="RMSprop",
        hyper=(
            h.lr(1e-2),
            h.real("alpha", 0.99, 0.0, 0.9999, "Decay rate α of the squared-gradient average."),
            h.eps(1e-8),
            h.weight_decay(),
            h.real("momentum", 0.0, 0.0, 0.999, "Momentum factor μ (0 = none)."),
            h.flag("centered", False, "Divide by the gradient's running std, not its RMS."),
        ),
    ),
    init,
    update,
)
