"""What the library tables share: the optimizers each library has exactly, and random settings."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from server.optim.registry import OPTIMIZERS, validate_hyper

EXACT = {
    "optax": {
        "sgd", "momentum", "nesterov", "rmsprop", "adadelta", "adam", "adamw", "adamax",
        "radam", "lion",
    },
    "keras": {"sgd", "momentum", "nesterov", "adadelta", "adam", "adamw", "amsgrad", "lion"},
}  # fmt: skip
LR = {"adadelta": (0.2, 2.0), "lion": (1e-3, 0.02), "sgd": (1e-3, 0.2), "newton": (0.1, 1.0)}

SCHEDULES: list[dict[str, Any] | None] = [
    None,
    {"name": "step", "step_size": 7, "gamma": 0.5},
    {"name": "cosine", "T_max": 40},
]


def draw(name: str, rng: np.random.Generator) -> dict[str, Any]:
    """Random values of every hyperparameter of ``name``, inside ranges that stay smooth."""
    lo, hi = LR.get(name, LR["sgd"] if name in ("momentum", "nesterov") else (1e-3, 0.1))
    out: dict[str, Any] = {"lr": math.exp(rng.uniform(math.log(lo), math.log(hi)))}
    for h in OPTIMIZERS[name].spec.hyper:
        if h.name == "lr":
            continue
        if h.kind == "bool":
            out[h.name] = bool(rng.integers(2))
        elif h.name in ("beta1", "momentum"):
            out[h.name] = rng.uniform(0.5, 0.95)
        elif h.name in ("beta2", "alpha", "rho"):
            out[h.name] = rng.uniform(0.9, 0.9999)
        elif h.name == "eps":  # Adadelta's first steps are about √eps: keep it moving
            low = 1e-6 if name == "adadelta" else 1e-10
            out[h.name] = math.exp(rng.uniform(math.log(low), math.log(1e-3)))
        elif h.name == "weight_decay":
            out[h.name] = rng.choice([0.0, rng.uniform(0.0, 0.2)])
        elif h.name == "dampening":
            out[h.name] = rng.choice([0.0, 0.0, rng.uniform(0.0, 0.5)])
    if name in ("sgd", "momentum", "nesterov"):
        out["nesterov"] = out["nesterov"] and out["dampening"] == 0.0
    validate_hyper(name, out)
    return out
