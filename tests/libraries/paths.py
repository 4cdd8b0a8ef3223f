"""Shared set-up of the library tests: our path and a library plan's path on one problem."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from server.libraries import keras_run, optax_run
from server.libraries.follow import follow, rates
from server.libraries.plan import Plan
from server.optim.schedules import parse_schedule
from server.problems.factory import build_surface
from server.schemas import TrajectoryRequest
from server.trajectory import trajectory

SURFACE = "quadratic"
PARAMS = {"kappa": 4.0, "angle": 30.0}
START = (3.0, -2.0)
RUNNERS: dict[str, Any] = {"optax": optax_run, "keras": keras_run}
STEPS = 50
Update = Callable[[int, np.ndarray, np.ndarray, dict[str, Any]], np.ndarray]


def formula(update: Update, start: tuple[float, float] = START) -> np.ndarray:
    """The path of a numpy update ``update(t, θ, g, state) -> θ'`` (t from 1) on the problem."""
    problem = build_surface(SURFACE, dict(PARAMS)).problem
    state: dict[str, Any] = {}
    return follow(
        problem,
        np.array(start),
        STEPS,
        0.0,
        0,
        lambda k, p, g: update(k + 1, p, g, state),
    )


def ours(
    optimizer: str,
    hyper: Mapping[str, object],
    steps: int = 50,
    schedule: dict[str, Any] | None = None,
    noise: float = 0.0,
    surface: str = SURFACE,
    params: Mapping[str, float] = PARAMS,
    start: tuple[float, float] = START,
) -> np.ndarray:
    """Our path, exactly ``POST /api/trajectory``'s (run to ``steps``)."""
    body = TrajectoryRequest(
        surface=surface,
        surface_params=dict(params),
        optimizer=optimizer,
        hyper=dict(hyper),  # type: ignore[arg-type]
        schedule=schedule,
        start=start,
        steps=steps,
        noise=noise,
        until="max_steps",
    )
    return np.asarray(trajectory(body, 100_000)["points"])


def theirs(
    plan: Plan,
    lr: float = 0.0,
    steps: int = 50,
    schedule: dict[str, Any] | None = None,
    noise: float = 0.0,
    surface: str = SURFACE,
    params: Mapping[str, float] = PARAMS,
    start: tuple[float, float] = START,
) -> np.ndarray:
    """The path of ``plan`` run by its library on the same problem (``lr``: our base rate)."""
    problem = build_surface(surface, dict(params)).problem
    lrs = rates(parse_schedule(schedule), lr, steps)
    step = RUNNERS[plan.library].stepper(plan, np.array(start), lrs)
    return follow(problem, np.array(start), steps, noise, 0, step)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a[:, :2] - b[:, :2]).max())
