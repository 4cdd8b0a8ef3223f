"""Every optimizer torch.optim, optax or Keras has steps an MLP's weights as ours does, to 1e-9.

A table: each of our first-order optimizers x a seeded random draw of every hyperparameter (as
the surface table draws them), some with a schedule or gradient noise, 30 updates of a 2-6-5-1
tanh MLP on 80 moons points in mini-batches of 16 with an L2 penalty in the objective. Each
library is fed our backprop gradient at its own weights (``POST /api/parity/network``'s
computation), so the weights follow ours exactly where the optimizer is the same; an optimizer a
library lacks answers why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.inside.network_parity import NetworkParityRequest, network_parity
from server.libraries import keras_run, optax_run
from server.libraries.parity import plan_for
from server.libraries.plan import Unavailable
from server.optim.registry import OPTIMIZERS
from server.optim.schedules import parse_schedule
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS, torch_available
from tests.libraries.draws import EXACT, SCHEDULES, draw

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available() and torch_available()),
    reason="torch, optax and keras are needed",
)

NETWORK = {"dataset": "moons", "n": 100, "hidden": [6, 5], "l2": 0.01, "batch_size": 16}
STEPS = 30
HAS = {"torch": set(TORCH_OPTIMIZERS), **EXACT}
FIRST_ORDER = [name for name, opt in OPTIMIZERS.items() if not opt.spec.needs_hessian]


def cases() -> list[tuple[str, int, dict[str, Any], dict[str, Any] | None, float]]:
    """Per optimizer: a random draw of everything (a schedule, sometimes noise), and its
    defaults with a random rate (which every library that has the optimizer can run)."""
    rng = np.random.default_rng(20261205)
    out = []
    for i, name in enumerate(FIRST_ORDER):
        noise = 0.2 if i % 3 == 1 else 0.0
        out.append((name, 0, draw(name, rng), SCHEDULES[i % len(SCHEDULES)], noise))
        out.append((name, 1, {"lr": draw(name, rng)["lr"]}, None, 0.0))
    return out


CASES = cases()
measured: dict[str, dict[str, float]] = {"torch": {}, "optax": {}, "keras": {}}
"""The largest weight difference per library and optimizer (``-s`` prints them)."""


@pytest.mark.parametrize(
    ("name", "i", "hyper", "schedule", "noise"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_each_library_steps_the_weights_as_ours(
    name: str, i: int, hyper: dict[str, Any], schedule: dict[str, Any] | None, noise: float
) -> None:
    body = NetworkParityRequest(
        network=NETWORK,
        optimizer=name,
        hyper=hyper,
        schedule=schedule,
        steps=STEPS,
        noise=noise,
        seed=3,
    )
    out = network_parity(body)
    assert out["ours"]["steps"] == STEPS and out["ours"]["status"] == "finished"
    assert np.abs(np.diff(out["ours"]["loss"])).max() > 1e-4, "the run barely moved"
    for library, entry in out["libraries"].items():
        if "unavailable" in entry:
            if library == "torch":
                assert name not in TORCH_OPTIMIZERS, entry
            else:  # the mapping's own reason, as for a surface
                plan = plan_for(library, name, hyper, parse_schedule(schedule))
                assert isinstance(plan, Unavailable) and entry["unavailable"] == plan.reason
            continue
        assert name in HAS[library] or (name == "adam" and library == "optax"), library
        diff = np.asarray(entry["diff"])
        assert diff.shape == (STEPS + 1,) and diff[0] == 0.0
        assert entry["max_diff"] == diff.max()
        assert entry["max_diff"] < 1e-9, (library, entry["notes"][0])
        assert np.allclose(entry["loss"], out["ours"]["loss"], rtol=1e-9, atol=1e-12)
        measured[library][name] = max(entry["max_diff"], measured[library].get(name, 0.0))


def test_every_optimizer_a_library_has_was_compared() -> None:
    """After the table (pytest keeps file order): each library met each optimizer it has."""
    for library, names in HAS.items():
        assert set(measured[library]) == names & set(FIRST_ORDER), library
    for library, diffs in measured.items():
        print(library, {name: f"{d:.1e}" for name, d in sorted(diffs.items())})
