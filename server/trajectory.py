"""One run computed offline: the path behind ``POST /api/trajectory`` and ``gradscape export``."""

from __future__ import annotations

from typing import Any

import numpy as np

from server.engine import Race, RunStatus
from server.errors import FieldError
from server.problems.factory import build_expression, build_surface
from server.runs import build_run
from server.schemas import RunSpec, TrajectoryRequest


def trajectory(body: TrajectoryRequest, max_steps: int) -> dict[str, Any]:
    """``{"points": (k+1, 3) array of [x, y, loss], "status", "steps": k}``; FieldError if bad.

    ``status`` is ``converged`` when the run stopped because its gradient and step vanished
    (only with ``until="converged"``), ``diverged`` when it stopped at a non-finite value, and
    ``finished`` when it ran all ``steps``.
    """
    if body.steps > max_steps:
        raise FieldError("steps", f"steps {body.steps} is above the limit {max_steps}")
    if (body.surface is None) == (body.expression is None):
        raise FieldError("surface", "give exactly one of surface or expression")
    if body.surface is not None:
        params = {k: float(v) for k, v in body.surface_params.items()}
        try:
            built = build_surface(body.surface, params)
        except FieldError as exc:
            field = exc.field.replace("params.", "surface_params.")
            raise FieldError(field, exc.message) from None
    else:
        built = build_expression(body.expression or "")
    run = RunSpec(
        id="run",
        optimizer=body.optimizer,
        hyper=body.hyper,
        start=body.start,
        schedule=body.schedule,
        noise=body.noise,
    )
    race = Race(
        built.problem,
        [build_run(run, built)],
        seed=body.seed,
        max_steps=max(body.steps, 1),
        until=body.until,
    )
    first = race.initial_chunks().get("run")
    if first is None:
        return {"points": np.zeros((0, 3)), "status": "diverged", "steps": 0}
    rest = race.advance(body.steps)[0].get("run")
    points = np.empty((1 + (len(rest) if rest is not None else 0), 3))
    points[0, :2], points[0, 2] = first.params[0], first.loss[0]
    if rest is not None:
        columns = rest.columns()  # x, y, loss, gnorm as made: no (k, 4) table in between
        for j in range(3):
            points[1:, j] = columns[j]
    return {"points": points, "status": status_of(race.status[0]), "steps": len(points) - 1}


def status_of(status: RunStatus) -> str:
    """What the run's end is called: converged, diverged, or finished (it ran to ``steps``)."""
    if status in (RunStatus.CONVERGED, RunStatus.DIVERGED):
        return status.value
    return RunStatus.FINISHED.value
