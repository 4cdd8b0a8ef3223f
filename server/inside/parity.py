"""``POST /api/parity``: one trajectory computed by us and by torch.optim, optax and Keras.

Ours is exactly ``POST /api/trajectory``'s path; each library steps from the same start with our
problem's closed-form gradient (plus the same noise draws), so a difference isolates the
optimizer. The mappings, runners and notes live in ``server.libraries``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from server.libraries.parity import LIBRARIES, Run, library_result
from server.optim.registry import validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.base import Problem
from server.problems.factory import build_expression, build_surface
from server.schemas import TrajectoryRequest
from server.trajectory import trajectory

Result = dict[str, Any]


def _problem(body: TrajectoryRequest) -> Problem:
    if body.surface is not None:
        return build_surface(
            body.surface, {k: float(v) for k, v in body.surface_params.items()}
        ).problem
    return build_expression(body.expression or "").problem


def parity(body: TrajectoryRequest, max_steps: int) -> Result:
    """Ours (exactly ``POST /api/trajectory``'s points) and each library's path."""
    ours = trajectory(body, max_steps)
    points = np.asarray(ours["points"], dtype=np.float64).reshape(-1, 3)
    run = Run(
        problem=_problem(body),
        optimizer=body.optimizer,
        hyper=validate_hyper(body.optimizer, body.hyper),
        schedule=parse_schedule(body.schedule),
        start=points[0, :2] if len(points) else np.zeros(2),
        steps=max(len(points) - 1, 0),
        noise=float(body.noise),
        seed=body.seed,
    )
    return {
        "ours": {"points": points, "status": ours["status"], "steps": ours["steps"]},
        "libraries": {name: library_result(name, run, points) for name in LIBRARIES},
    }
