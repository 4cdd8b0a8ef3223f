"""Every optimizer optax or Keras has follows our path to 1e-9 in float64, on random settings.

A table: our 15 optimizers x seeded random draws of every hyperparameter (lr, betas, eps,
momentum, weight decay coupled and decoupled, the flags), some with a schedule or gradient
noise, 50 steps on a rotated ill-conditioned quadratic from a start far from its minimum (no
chaotic regime: Lion's sign never sits near 0 there). A draw a library has no exact counterpart
for must say why, and each library must match every optimizer it is listed with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.libraries import keras_run, optax_run
from server.libraries.keras_plan import keras_plan
from server.libraries.optax_plan import optax_plan
from server.libraries.plan import Plan, Unavailable
from server.optim.registry import OPTIMIZERS, validate_hyper
from tests.libraries.draws import EXACT, SCHEDULES, draw
from tests.libraries.paths import diff, ours, theirs

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available()), reason="optax and keras are needed"
)

DRAWS = 3
PLANNERS = {"optax": optax_plan, "keras": keras_plan}


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
