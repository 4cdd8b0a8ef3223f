"""Adam, AMSGrad and AdamW: torch.optim.Adam / torch.optim.AdamW.

Variant: torch's. eps is added outside the square root, to the bias-corrected
``√v̂ = √v / √(1 − β₂ᵗ)``; AMSGrad takes the running maximum of the raw (uncorrected) ``v`` and
corrects it the same way. AdamW shrinks the weights by ``1 − γλ`` before the Adam step
(decoupled weight decay) and defaults to ``weight_decay = 0.01``; Adam adds ``λθ`` to the gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, HyperSpec, Optimizer, OptimizerSpec, UpdateFn
from server.optim.ops import coupled_decay, decay_square, is_on, lerp, zeros_row


class AdamState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    mu: Array
    nu: Array
    nu_max: Array
    """Running maximum of ``nu`` (kept for every row so AMSGrad may be switched on mid-run)."""


def init(params: Array, hyper: Hyper) -> AdamState:
    return AdamState(
        zeros_row(params), np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
    )


def _update(decoupled: bool) -> UpdateFn:
    def update(
        grads: Array,
        state: AdamState,
        params: Array,
        hyper: Hyper,
        hessian: Array | None = None,
    ) -> tuple[Array, AdamState]:
        lr = hyper["lr"]
        beta1 = hyper["beta1"]
        beta2 = hyper["beta2"]
        count = state.count + 1.0
        g = grads if decoupled else coupled_decay(grads, params, hyper["weight_decay"])
        mu = lerp(state.mu, g, 1.0 - beta1)
        nu = decay_square(state.nu, g, beta2)
        nu_max = np.maximum(state.nu_max, nu)
        step_size = lr / (1.0 - beta1**count)
        denom = np.sqrt(np.where(is_on(hyper["amsgrad"]), nu_max, nu))
        denom /= np.sqrt(1.0 - beta2**count)
        denom += hyper["eps"]
        step = np.divide(-step_size * mu, denom, out=denom)
        if decoupled:
            step -= (lr * hyper["weight_decay"]) * params
        return step, AdamState(count, mu, nu, nu_max)

    return update


RULE = (
    "g_t = ∇f(θ_{t-1}) + λ θ_{t-1}\n"
    "m_t = β₁ m_{t-1} + (1 − β₁) g_t;  v_t = β₂ v_{t-1} + (1 − β₂) g_t²\n"
    "amsgrad: v̄_t = max(v̄_{t-1}, v_t), else v̄_t = v_t\n"
    "θ_t = θ_{t-1} − γ / (1 − β₁ᵗ) · m_t / (√v̄_t / √(1 − β₂ᵗ) + ε)"
)
RULE_W = (
    "g_t = ∇f(θ_{t-1})\n"
    "m_t = β₁ m_{t-1} + (1 − β₁) g_t;  v_t = β₂ v_{t-1} + (1 − β₂) g_t²\n"
    "amsgrad: v̄_t = max(v̄_{t-1}, v_t), else v̄_t = v_t\n"
    "θ_t = (1 − γλ) θ_{t-1} − γ / (1 − β₁ᵗ) · m_t / (√v̄_t / √(1 − β₂ᵗ) + ε)"
)
ADAM_REFERENCE = "Kingma & Ba 2015, 'Adam: A Method for Stochastic Optimization', ICLR"


def _hyper(weight_decay: float, amsgrad: bool, decay_doc: str) -> tuple[HyperSpec, ...]:
    return (
        h.lr(1e-3),
        h.beta1(),
        h.beta2(),
        h.eps(1e-8, "Added to √v̂ (outside the square root)."),
        h.weight_decay(weight_decay, decay_doc),
        h.flag("amsgrad", amsgrad, "Normalise by the running maximum of v (AMSGrad)."),
    )


update = _update(decoupled=False)
update_decoupled = _update(decoupled=True)

ADAM = Optimizer(
    OptimizerSpec(
        name="adam",
        title="Adam",
        summary="Momentum divided by a running RMS of gradients, both bias-corrected.",
        rule=RULE,
        reference=ADAM_REFERENCE,
        torch="Adam",
        hyper=_hyper(0.0, False, "L2 penalty added to the gradient."),
    ),
    init,
    update,
)
AMSGRAD = Optimizer(
    OptimizerSpec(
        name="amsgrad",
        title="AMSGrad",
        summary="Adam normalised by the largest second moment seen so far.",
        rule=RULE,
        reference="Reddi, Kale & Kumar 2018, 'On the Convergence of Adam and Beyond', ICLR",
        torch="Adam",
        hyper=_hyper(0.0, True, "L2 penalty added to the gradient."),
    ),
    init,
    update,
)
ADAMW = Optimizer(
    OptimizerSpec(
        name="adamw",
        title="AdamW",
        summary="Adam with weight decay applied to the weights, not the gradient.",
        rule=RULE_W,
        reference="Loshchilov & Hutter 2019, 'Decoupled Weight Decay Regularization', ICLR",
        torch="AdamW",
        hyper=_hyper(1e-2, False, "Decoupled decay λ: weights shrink by γλ each step."),
    ),
    init,
    update_decoupled,
)
