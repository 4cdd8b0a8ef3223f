"""Every optimizer optax or Keras has follows our path to 1e-9 in float64, on random settings.

A table: our 15 optimizers x seeded random draws of every hyperparameter (lr, betas, eps,
momentum, weight decay coupled and decoupled, the flags), some with a schedule or gradient
noise, 50 steps on a rotated ill-conditioned quadratic from a start far from its minimum (no
chaotic regime: Lion's sign never sits near 0 there). A draw a library has no exact counterpart
for must say why, and each library must match every optimizer it is listed with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from server.libraries import keras_run, optax_run
from server.libraries.keras_plan import keras_plan
from server.libraries.optax_plan import optax_plan
from server.libraries.plan import Plan, Unavailable
from server.optim.registry import OPTIMIZERS, validate_hyper
from tests.libraries.paths import diff, ours, theirs

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available()), reason="optax and keras are needed"
)

DRAWS = 3
PLANNERS = {"optax": optax_plan, "keras": keras_plan}
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


def cases() -> list[tuple[str, int, dict[str, Any], dict[str, Any] | None, float]]:
    rng = np.random.default_rng(20261203)
    out = []
    for name in OPTIMIZERS:
        for i in range(DRAWS):
            schedule = SCHEDULES[i % len(SCHEDULES)]
            noise = 0.3 if i == 1 else 0.0
            out.append((name, i, draw(name, rng), schedule, noise))
    return out


CASES = cases()
matched: dict[str, set[str]] = {"optax": set(), "keras": set()}


@pytest.mark.parametrize("library", ["optax", "keras"])
@pytest.mark.parametrize(
    ("name", "i", "hyper", "schedule", "noise"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_library_follows_our_path(
    library: str,
    name: str,
    i: int,
    hyper: dict[str, Any],
    schedule: dict[str, Any] | None,
    noise: float,
) -> None:
    plan = PLANNERS[library](name, validate_hyper(name, hyper), schedule is not None)
    if isinstance(plan, Unavailable):
        assert name in plan.reason.lower() or len(plan.reason) > 30, plan.reason
        return
    values = validate_hyper(name, hyper)
    assert name in EXACT[library] or values.get("amsgrad", 1.0) == 0.0  # amsgrad off: Adam
    path = ours(name, hyper, schedule=schedule, noise=noise)
    other = theirs(plan, hyper["lr"], schedule=schedule, noise=noise)
    assert np.abs(path[-1, :2] - path[0, :2]).max() > 1e-3  # the run moved
    assert diff(other, path) < 1e-9, plan.source()
    if name in EXACT[library]:
        matched[library].add(name)


@pytest.mark.parametrize("library", ["optax", "keras"])
def test_every_listed_optimizer_was_matched(library: str) -> None:
    """Runs after the table (pytest keeps file order): each optimizer a library is said to have
    met at least one draw it could run."""
    assert matched[library] == EXACT[library]


@pytest.mark.parametrize("library", ["optax", "keras"])
def test_defaults_map_too(library: str) -> None:
    for name in EXACT[library]:
        plan = PLANNERS[library](name, validate_hyper(name, {}), False)
        assert isinstance(plan, Plan), (library, name, plan)
        assert diff(theirs(plan, validate_hyper(name, {})["lr"]), ours(name, {})) < 1e-9
