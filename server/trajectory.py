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
    """``{"points": (k+1, 3) array of [x, y, loss], "status", "steps": k}``; FieldError if bad."""
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
        built.problem, [build_run(run, built)], seed=body.seed, max_steps=max(body.steps, 1)
    )
    first = race.initial_chunks().get("run")
    if first is None:
        return {"points": np.zeros((0, 3)), "status": "diverged", "steps": 0}
    parts = [np.column_stack([first.params, first.loss])]
    rest = race.advance(body.steps)[0].get("run")
    if rest is not None:
        parts.append(np.column_stack([rest.params, rest.loss]))
    points = np.concatenate(parts)
    diverged = race.status[0] is RunStatus.DIVERGED
    # The engine watches loss and gradient; a point can overflow while both stay finite (a
    # constant formula under weight decay): the path ends before such a point, diverged.
    overflow = np.flatnonzero(~np.isfinite(points).all(axis=1))
    if overflow.size:
        points, diverged = points[: overflow[0]], True
    return {
        "points": points,
        "status": "diverged" if diverged else "finished",
        "steps": len(points) - 1,
    }
