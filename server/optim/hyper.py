"""Hyperparameter specs shared by the optimizers, and the mathematical domain of each name.

A hyperparameter name means the same thing in every optimizer (``beta1`` is always the decay of
the first-moment average), so its domain lives in one table, ``DOMAINS``, with torch.optim's own
error wording. Spec ``min``/``max`` are slider ranges for the page, not validation limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.optim.base import HyperSpec, Scale


@dataclass(frozen=True)
class Domain:
    """An interval ``lo (<|<=) value (<|<=) hi``; ``message`` is formatted with ``value``."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    message: str = "Invalid value: {value}"

    def contains(self, value: float) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below


def _nonneg(message: str) -> Domain:
    return Domain(lo=0.0, message=message)


DOMAINS: dict[str, Domain] = {
    "lr": _nonneg("Invalid learning rate: {value}"),
    "momentum": _nonneg("Invalid momentum value: {value}"),
    "dampening": Domain(lo=0.0, hi=1.0, message="Invalid dampening value: {value}"),
    "weight_decay": _nonneg("Invalid weight_decay value: {value}"),
    "eps": _nonneg("Invalid epsilon value: {value}"),
    "lr_decay": _nonneg("Invalid lr_decay value: {value}"),
    "initial_accumulator_value": _nonneg("Invalid initial_accumulator_value value: {value}"),
    "alpha": Domain(lo=0.0, hi=1.0, message="Invalid alpha value: {value}"),
    "rho": Domain(lo=0.0, hi=1.0, message="Invalid rho value: {value}"),
    "beta1": Domain(0.0, 1.0, hi_open=True, message="Invalid beta parameter at index 0: {value}"),
    "beta2": Domain(0.0, 1.0, hi_open=True, message="Invalid beta parameter at index 1: {value}"),
    "momentum_decay": _nonneg("Invalid momentum_decay value: {value}"),
    "step_size_min": _nonneg("Invalid step_size_min value: {value}"),
    "step_size_max": _nonneg("Invalid step_size_max value: {value}"),
    "min_curvature": Domain(lo=0.0, lo_open=True, message="Invalid min_curvature value: {value}"),
}
"""Mathematical domain of every hyperparameter name (torch's rule where torch has one)."""


def real(
    name: str,
    default: float,
    lo: float,
    hi: float,
    doc: str,
    scale: Scale = "linear",
) -> HyperSpec:
    """A float hyperparameter whose slider spans ``[lo, hi]``."""
    return HyperSpec(name, default, lo, hi, scale, "float", doc)


def flag(name: str, default: bool, doc: str) -> HyperSpec:
    """A boolean hyperparameter (sent to ``update`` as 0.0 / 1.0)."""
    return HyperSpec(name, default, None, None, "linear", "bool", doc)


def lr(default: float, doc: str = "Learning rate (step size).") -> HyperSpec:
    return real("lr", default, 1e-5, 10.0, doc, "log")


def weight_decay(default: float = 0.0, doc: str | None = None) -> HyperSpec:
    return real("weight_decay", default, 0.0, 1.0, doc or "L2 penalty added to the gradient.")


def eps(default: float, doc: str = "Added to the denominator for stability.") -> HyperSpec:
    return real("eps", default, 1e-12, 1e-1, doc, "log")


def beta1(default: float = 0.9) -> HyperSpec:
    return real("beta1", default, 0.0, 0.999, "Decay rate of the gradient average (momentum).")


def beta2(default: float = 0.999) -> HyperSpec:
    return real("beta2", default, 0.0, 0.9999, "Decay rate of the squared-gradient average.")


def decoupled_weight_decay(default: bool = False) -> HyperSpec:
    return flag(
        "decoupled_weight_decay",
        default,
        "Shrink the weights directly (AdamW style) instead of adding to the gradient.",
    )
