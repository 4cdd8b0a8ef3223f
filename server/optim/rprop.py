"""Rprop: torch.optim.Rprop.

Variant: torch's (Rprop without weight-backtracking, "Rprop−" with the gradient zeroed after a
sign change). Every coordinate's step size starts at ``lr`` when the run starts; afterwards lr is
not used (so a schedule or a live change of lr has no effect, exactly as in torch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from server.optim import hyper as h
from server.optim.base import Array, Hyper, InvalidHyperparameter, Optimizer, OptimizerSpec
from server.optim.ops import zeros_row


class RpropState(NamedTuple):
    count: Array  # type: ignore[assignment]  # shadows tuple.count, as in optax
    prev: Array
    step_size: Array


def init(params: Array, hyper: Hyper) -> RpropState:
    step_size = np.broadcast_to(hyper["lr"], params.shape).copy()
    return RpropState(zeros_row(params), np.zeros_like(params), step_size)


def update(
    grads: Array,
    state: RpropState,
    params: Array,
    hyper: Hyper,
    hessian: Array | None = None,
) -> tuple[Array, RpropState]:
    agreement = grads * state.prev
    flipped = agreement < 0.0
    factor = np.where(agreement > 0.0, hyper["eta_plus"], 1.0)
    factor = np.where(flipped, hyper["eta_minus"], factor)
    factor *= state.step_size
    step_size = np.clip(factor, hyper["step_size_min"], hyper["step_size_max"], out=factor)
    g = np.where(flipped, 0.0, grads)
    step = np.sign(g)
    step *= step_size
    np.negative(step, out=step)
    return step, RpropState(state.count + 1.0, g, step_size)


def check(values: Mapping[str, float]) -> None:
    """torch's rule ``0 < eta_minus < 1 < eta_plus``, and ``step_size_min <= step_size_max``."""
    eta_minus, eta_plus = values["eta_minus"], values["eta_plus"]
    if not (0.0 < eta_minus < 1.0 < eta_plus):
        field = "eta_minus" if not 0.0 < eta_minus < 1.0 else "eta_plus"
        raise InvalidHyperparameter(field, f"Invalid eta values: {eta_minus}, {eta_plus}")
    low, high = values["step_size_min"], values["step_size_max"]
    if low > high:
        raise InvalidHyperparameter(
            "step_size_min", f"Invalid step sizes: step_size_min {low} > step_size_max {high}"
        )


RPROP = Optimizer(
    OptimizerSpec(
        name="rprop",
        title="Rprop",
        summary="Uses only the sign of each gradient coordinate; step sizes grow or shrink.",
        rule=(
            "s = sign(g_t · g_{t-1});  Δ_t = clip(Δ_{t-1} · (η₊ if s > 0, η₋ if s < 0, 1 else), "
            "Δ_min, Δ_max)   (Δ_0 = γ)\n"
            "if s < 0: g_t ← 0 (skip this coordinate, forget the sign)\n"
            "θ_t = θ_{t-1} − Δ_t · sign(g_t)"
        ),
        reference=(
            "Riedmiller & Braun 1993, 'A Direct Adaptive Method for Faster Backpropagation "
            "Learning: The RPROP Algorithm', ICNN"
        ),
        torch="Rprop",
        hyper=(
            h.lr(1e-2, "Initial step size of every coordinate (read once, at the start)."),
            h.real("eta_minus", 0.5, 0.01, 0.99, "Step-size factor η₋ after a sign change."),
            h.real("eta_plus", 1.2, 1.01, 3.0, "Step-size factor η₊ while the sign holds."),
            h.real("step_size_min", 1e-6, 1e-9, 1.0, "Smallest step size Δ_min.", "log"),
            h.real("step_size_max", 50.0, 1e-3, 100.0, "Largest step size Δ_max.", "log"),
        ),
    ),
    init,
    update,
)
