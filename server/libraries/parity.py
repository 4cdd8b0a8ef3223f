"""One run stepped by torch.optim, optax and Keras beside ours: paths, differences, notes.

Each library is optional: one that cannot be imported answers ``{"unavailable": "<name> is not
installed ... (pip install ...)"}`` (logged once per process), one with no exact counterpart
of the optimizer or of a setting answers the reason, and one that fails while running answers
what failed: never an exception to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.libraries import keras_run, optax_run, torch_run
from server.libraries.follow import follow, rates
from server.libraries.keras_plan import keras_plan
from server.libraries.notes import default_notes, max_diff, variant_notes
from server.libraries.optax_plan import optax_plan
from server.libraries.plan import Plan, Unavailable
from server.optim.base import Array
from server.optim.registry import validate_hyper
from server.optim.schedules import Schedule
from server.problems.base import Problem
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS, torch_available

LIBRARIES = ("torch", "optax", "keras")
NOTE_STEPS = 1000
"""The notes' comparison runs stop here: a long request costs one library run, not five."""
Result = dict[str, Any]
_log = logging.getLogger(__name__)
_told: set[str] = set()

PLANNERS: dict[str, Callable[[str, Mapping[str, float], bool], Plan | Unavailable]] = {
    "optax": optax_plan,
    "keras": keras_plan,
}
_RUNNERS = {"optax": optax_run, "keras": keras_run}
_SETTING = {
    "optax": "float64 (jax_enable_x64) on CPU",
    "keras": "float64 on Keras' JAX backend",
}


@dataclass(frozen=True)
class Run:
    """What every library is given: the problem, our optimizer and its validated values."""

    problem: Problem
    optimizer: str
    hyper: Mapping[str, float]
    schedule: Schedule
    start: Array
    steps: int
    noise: float
    seed: int
    gradient: str = "the surface's closed form at the library's own point"
    """What each library is fed, in words (a network's: our backprop on the same mini-batch)."""

    @property
    def scheduled(self) -> bool:
        return self.schedule.name != "constant"


def plan_for(
    library: str, optimizer: str, hyper: Mapping[str, object], schedule: Schedule
) -> Plan | Unavailable:
    """The exact ``library`` (optax or keras) counterpart of our ``optimizer`` with ``hyper``
    (our names; defaults filled in and checked here), or why there is none."""
    values = validate_hyper(optimizer, hyper)
    return PLANNERS[library](optimizer, values, schedule.name != "constant")


def _installed(library: str) -> bool:
    if library == "torch":
        return torch_available()
    return bool(_RUNNERS[library].available())


def _not_installed(library: str) -> Result:
    message = torch_run.INSTALL if library == "torch" else _RUNNERS[library].INSTALL
    if library not in _told:
        _told.add(library)
        _log.warning("parity: %s", message)
    return {"unavailable": message}


def _common_notes(run: Run, library: str, points: Array, ours: Array) -> list[str]:
    notes = [
        f"the gradient is {run.gradient} (no autograd), "
        "so the difference measures the optimizers alone"
    ]
    if run.scheduled:
        notes.append(f"the rate is set before each update from the {run.schedule.name} schedule")
    if run.noise > 0.0:
        notes.append("the same gradient noise draws as ours (numpy default_rng([seed, 0]))")
    if len(points) != len(ours):
        notes.append(f"{library} stopped after {len(points) - 1} steps, ours after {len(ours) - 1}")
    return notes


def _decay_note(optimizer: str, weight_decay: float, d: float, steps: int) -> str:
    """torch's Adam ``weight_decay`` is L2 in the gradient, AdamW's is decoupled."""
    coupled = optimizer == "adam"
    this, that = ("Adam", "AdamW") if coupled else ("AdamW", "Adam")
    kind = "L2 in the gradient (g + λθ)" if coupled else "decoupled (θ ← θ − γλθ)"
    return (
        f"torch.optim.{this}'s weight_decay is {kind}, not torch.optim.{that}'s: with "
        f"torch.optim.{that}(weight_decay={weight_decay!r}) the path differs from ours by {d:.3g} "
        f"after {steps} steps"
    )


def _torch(run: Run, ours: Array) -> Result:
    if run.optimizer not in TORCH_OPTIMIZERS:
        return {"unavailable": f"torch.optim has no counterpart of {run.optimizer!r}."}
    lrs = rates(run.schedule, run.hyper["lr"], run.steps) if run.scheduled else None
    step = torch_run.stepper(run.optimizer, run.hyper, run.start, lrs)
    points = follow(run.problem, run.start, run.steps, run.noise, run.seed, step)
    notes = [f"{torch_run.describe(run.optimizer, run.hyper)} in float64"]
    other = {"adam": "adamw", "adamw": "adam"}.get(run.optimizer)
    if other is not None and run.hyper["weight_decay"] != 0.0:
        steps = min(run.steps, NOTE_STEPS)
        step = torch_run.stepper(other, run.hyper, run.start, lrs)
        d = max_diff(follow(run.problem, run.start, steps, run.noise, run.seed, step), ours)
        notes.append(_decay_note(run.optimizer, run.hyper["weight_decay"], d, steps))
    return {
        "points": points,
        "max_diff": max_diff(points, ours),
        "notes": notes + _common_notes(run, "torch", points, ours),
    }


def _library(library: str, run: Run, ours: Array) -> Result:
    plan = PLANNERS[library](run.optimizer, run.hyper, run.scheduled)
    if isinstance(plan, Unavailable):
        return {"unavailable": plan.reason}
    runner = _RUNNERS[library]
    lrs = rates(run.schedule, run.hyper["lr"], run.steps)

    def path(p: Plan, steps: int = run.steps) -> Array:
        step = runner.stepper(p, run.start, lrs)
        return follow(run.problem, run.start, steps, run.noise, run.seed, step)

    def variant(p: Plan) -> Array:
        return path(p, min(run.steps, NOTE_STEPS))

    points = path(plan)
    at_defaults = PLANNERS[library](run.optimizer, validate_hyper(run.optimizer, {}), run.scheduled)
    baseline = at_defaults if isinstance(at_defaults, Plan) else plan
    notes = [f"{plan.source()} in {_SETTING[library]}"]
    if plan.l2:
        notes.append(f"l2 = {plan.l2!r}: {plan.l2!r}·θ is added to each gradient")
    notes += variant_notes(plan, variant, ours)
    notes += default_notes(plan, baseline, runner.library_defaults, variant, ours)
    notes += _common_notes(run, library, points, ours)
    return {"points": points, "max_diff": max_diff(points, ours), "notes": notes}


def library_result(library: str, run: Run, ours: Array) -> Result:
    """``{"points", "max_diff", "notes"}`` or ``{"unavailable": reason}`` for one library."""
    if len(ours) == 0:
        return {"unavailable": "no finite start point"}
    if not _installed(library):
        return _not_installed(library)
    try:
        return _torch(run, ours) if library == "torch" else _library(library, run, ours)
    except Exception as exc:  # a library's own failure is reported, never a 500
        _log.exception("parity: %s failed", library)
        return {"unavailable": f"{library} failed on this run: {type(exc).__name__}: {exc}"}
