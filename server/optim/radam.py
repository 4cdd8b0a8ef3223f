"""RAdam: torch.optim.RAdam.

Variant: torch's. While the approximated SMA length ``ρ_t`` is at most 5 the step is bias-corrected
momentum SGD; after that the adaptive step ``√(1 − β₂ᵗ) / (√v + ε)`` (eps outside the square root
of the uncorrected ``v``) is applied with the variance rectification ``r_t``.
``decoupled_weight_decay`` shrinks the weights by ``1 − γλ`` instead of adding ``λθ`` to g.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, Optimizer, OptimizerSpec
from server.optim.ops import coupled_decay, decay_square, is_on, lerp, zeros_row


class RAdamState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    mu: Array
    nu: Array


def init(params: Array, hyper: Hyper) -> RAdamState:
    return RAdamState(zeros_row(params), np.zeros_like(params), np.zeros_like(params))


def update(
    grads: Array,
    state: RAdamState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, RAdamState]:
    lr = hyper["lr"]
    beta1 = hyper["beta1"]
    beta2 = hyper["beta2"]
    weight_decay = hyper["weight_decay"]
    decoupled = is_on(hyper["decoupled_weight_decay"])
    count = state.count + 1.0
    g = coupled_decay(grads, params, np.where(decoupled, 0.0, weight_decay))
    mu = lerp(state.mu, g, 1.0 - beta1)
    nu = decay_square(state.nu, g, beta2)
    correction2 = 1.0 - beta2**count
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * count * beta2**count / correction2
    rectified = rho_t > 5.0
    # Rows still in the warm-up get a harmless 1 so that no division or root can fail.
    spread = np.where(rectified, (rho_inf - 4.0) * (rho_inf - 2.0) * rho_t, 1.0)
    rectifier = np.sqrt(np.where(rectified, (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / spread, 1.0))
    step = mu / (1.0 - beta1**count)
    step *= lr
    adaptive = np.sqrt(nu)
    adaptive += hyper["eps"]
    np.divide(np.sqrt(correction2), adaptive, out=adaptive)
    adaptive *= step
    adaptive *= rectifier
    step = np.where(rectified, adaptive, step)
    step += np.where(decoupled, lr * weight_decay, 0.0) * params
    np.negative(step, out=step)
    return step, RAdamState(count, mu, nu)


RADAM = Optimizer(
    OptimizerSpec(
        name="radam",
        title="RAdam",
        summary="Adam whose adaptive step is phased in once its variance estimate is reliable.",
        rule=(
            "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}   (decoupled: θ_{t-1} ← (1 − γλ) θ_{t-1} instead)\n"
            "m_t = β₁ m_{t-1} + (1 − β₁) g_t;  v_t = β₂ v_{t-1} + (1 − β₂) g_t²;  "
            "m̂_t = m_t / (1 − β₁ᵗ)\n"
            "ρ_∞ = 2 / (1 − β₂) − 1;  ρ_t = ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ)\n"
            "ρ_t > 5: r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t)), "
            "θ_t = θ_{t-1} − γ m̂_t r_t √(1 − β₂ᵗ) / (√v_t + ε)\n"
            "otherwise: θ_t = θ_{t-1} − γ m̂_t"
        ),
        reference=(
            "Liu et al. 2020, 'On the Variance of the Adaptive Learning Rate and Beyond', ICLR"
        ),
        torch="RAdam",
        hyper=(
            h.lr(1e-3),
            h.beta1(),
            h.beta2(),
            h.eps(1e-8, "Added to √v (outside the square root)."),
            h.weight_decay(),
            h.decoupled_weight_decay(),
        ),
    ),
    init,
    update,
)
