"""NAdam: torch.optim.NAdam.

Variant: torch's, after Dozat's paper: the momentum coefficient warms up as
``μ_t = β₁ (1 − ½ · 0.96^(t ψ))`` (ψ = momentum_decay) and the step mixes the current gradient
with the look-ahead momentum, each corrected by the running product of the μ's. eps is added
outside the square root of the bias-corrected second moment. ``decoupled_weight_decay`` gives
torch's NAdamW-style decay (weights shrink by ``1 − γλ``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, decay_square, is_on, lerp, zeros_row


class NAdamState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    mu_product: Array
    """Product μ_1 ⋯ μ_t of the momentum schedule, an ``(N, 1)`` column starting at 1."""
    mu: Array
    nu: Array


def init(params: Array, hyper: Hyper) -> NAdamState:
    count = zeros_row(params)
    return NAdamState(count, count + 1.0, np.zeros_like(params), np.zeros_like(params))


def update(
    grads: Array,
    state: NAdamState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, NAdamState]:
    lr = hyper["lr"]
    beta1 = hyper["beta1"]
    beta2 = hyper["beta2"]
    decay = hyper["momentum_decay"]
    weight_decay = hyper["weight_decay"]
    decoupled = is_on(hyper["decoupled_weight_decay"])
    count = state.count + 1.0
    g = coupled_decay(grads, params, np.where(decoupled, 0.0, weight_decay))
    mu_t = beta1 * (1.0 - 0.5 * 0.96 ** (count * decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((count + 1.0) * decay))
    mu_product = state.mu_product * mu_t
    mu = lerp(state.mu, g, 1.0 - beta1)
    nu = decay_square(state.nu, g, beta2)
    denom = nu / (1.0 - beta2**count)
    np.sqrt(denom, out=denom)
    denom += hyper["eps"]
    step = (-lr * (1.0 - mu_t) / (1.0 - mu_product)) * g
    step /= denom
    momentum_step = (-lr * mu_next / (1.0 - mu_product * mu_next)) * mu
    step += np.divide(momentum_step, denom, out=momentum_step)
    step -= np.where(decoupled, lr * weight_decay, 0.0) * params
    return step, NAdamState(count, mu_product, mu, nu)


NADAM = Optimizer(
    OptimizerSpec(
        name="nadam",
        title="NAdam",
        summary="Adam with Nesterov momentum: the step looks ahead along the momentum.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}   (decoupled: θ_{t-1} ← (1 − γλ) θ_{t-1} instead)\n"
            "μ_t = β₁ (1 − ½ · 0.96^(t ψ));  Π_t = μ_1 ⋯ μ_t\n"
            "m_t = β₁ m_{t-1} + (1 − β₁) g_t;  v_t = β₂ v_{t-1} + (1 − β₂) g_t²;  "
            "D_t = √(v_t / (1 − β₂ᵗ)) + ε\n"
            "θ_t = θ_{t-1} − γ (1 − μ_t) / (1 − Π_t) · g_t / D_t "
            "− γ μ_{t+1} / (1 − Π_t μ_{t+1}) · m_t / D_t"
        ),
        reference="Dozat 2016, 'Incorporating Nesterov Momentum into Adam', ICLR workshop",
        torch="NAdam",
        hyper=(
            h.lr(2e-3),
            h.beta1(),
            h.beta2(),
            h.eps(1e-8, "Added to the bias-corrected RMS (outside the square root)."),
            h.weight_decay(),
            h.real(
                "momentum_decay",
                4e-3,
                0.0,
                0.1,
                "Warm-up rate ψ of the momentum schedule μ_t.",
            ),
            h.decoupled_weight_decay(),
        ),
    ),
    init,
    update,
)
