"""One run as ``POST /api/trajectory`` computes it, with its ``until`` rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from gradscape.race import Array, Point, Run
from server.errors import from_validation
from server.schemas import TrajectoryRequest
from server.settings import Settings
from server.trajectory import trajectory as compute


@dataclass(frozen=True)
class Trajectory:
    """``points`` is ``(k + 1, 3)``: ``[x, y, loss]`` after each update; ``status`` is
    ``finished`` (ran ``steps``), ``converged`` or ``diverged``."""

    points: Array
    status: str

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def trajectory(
    run: Run,
    surface: str | None = None,
    *,
    expression: str | None = None,
    params: Mapping[str, float] | None = None,
    start: Point | None = None,
    steps: int = 500,
    seed: int = 0,
    until: Literal["converged", "max_steps"] = "converged",
) -> Trajectory:
    """The path of one run, exactly as ``POST /api/trajectory`` answers it.

    ``until="max_steps"`` keeps going after the run has converged (some optimizers leave a
    minimum again); the default stops there, as the page does.

    >>> t = trajectory(Run("rmsprop", lr=0.01, centered=True, eps=1e-10), "himmelblau",
    ...                start=(0, 0), steps=400, until="max_steps")
    >>> t.status, t.points.shape
    ('finished', (401, 3))
    """
    body: dict[str, Any] = {
        "surface": surface,
        "surface_params": dict(params or {}),
        "expression": expression,
        "optimizer": run.optimizer,
        "hyper": dict(run.hyper),
        "schedule": run.schedule,
        "noise": run.noise,
        "start": start,
        "steps": steps,
        "seed": seed,
        "until": until,
    }
    try:
        request = TrajectoryRequest.model_validate(body)
    except ValidationError as exc:
        raise from_validation(exc) from None
    out = compute(request, Settings().max_trajectory_steps)
    return Trajectory(np.asarray(out["points"], dtype=np.float64), str(out["status"]))
