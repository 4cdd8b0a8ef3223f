"""``POST /api/parity``: one trajectory computed by us and by other libraries from the same start.

torch: ``torch.optim`` (the class and keywords of ``torch_twin.torch_optimizer``) in float64
steps a tensor ``p`` whose ``.grad`` is set to the problem's closed-form gradient at ``p`` (plus
the same noise draws the engine makes), so the comparison isolates the optimizer; the schedule
sets ``param_groups[0]["lr"]`` before each step, as ``TorchTwin`` does. optax and keras are not
installed here: they report ``unavailable`` with the reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from server.optim.base import Array
from server.optim.registry import validate_hyper
from server.optim.schedules import Schedule, learning_rate, parse_schedule
from server.problems.base import Problem
from server.problems.factory import build_expression, build_surface
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS, torch_optimizer
from server.schemas import TrajectoryRequest
from server.trajectory import trajectory

Result = dict[str, Any]


def _problem(body: TrajectoryRequest) -> Problem:
    if body.surface is not None:
        return build_surface(
            body.surface, {k: float(v) for k, v in body.surface_params.items()}
        ).problem
    return build_expression(body.expression or "").problem


def torch_points(
    problem: Problem,
    optimizer: str,
    hyper: dict[str, float],
    schedule: Schedule,
    start: Array,
    steps: int,
    noise: float,
    seed: int,
) -> Array:
    """``(steps + 1, 3)`` rows of ``[x, y, loss]`` from torch.optim; stops early at a
    non-finite value (the rows so far)."""
    import torch

    p = torch.tensor(np.asarray(start, dtype=np.float64), dtype=torch.float64, requires_grad=True)
    cls, kwargs = torch_optimizer(optimizer, hyper)
    opt = cls([p], **kwargs)
    base_lr = float(kwargs.get("lr", opt.defaults["lr"]))
    rng = np.random.default_rng([seed, 0])  # the engine's generator for run 0
    rows = [[*start.tolist(), float(problem.value(start[None, :])[0])]]
    for k in range(steps):
        point = p.detach().numpy().copy()
        grad = np.asarray(problem.grad(point[None, :]), dtype=np.float64)[0]
        if noise > 0.0:
            grad = grad + noise * rng.standard_normal(len(grad))
        if schedule.name != "constant":
            opt.param_groups[0]["lr"] = learning_rate(schedule, base_lr, k)
        p.grad = torch.from_numpy(grad)
        opt.step()
        new = p.detach().numpy().copy()
        loss = float(problem.value(new[None, :])[0])
        if not np.isfinite(new).all() or not np.isfinite(loss):
            break
        rows.append([*new.tolist(), loss])
    return np.array(rows, dtype=np.float64)


def _torch(body: TrajectoryRequest, ours: Array) -> Result:
    if importlib.util.find_spec("torch") is None:
        return {"unavailable": "torch is not installed on this server (pip install torch)."}
    if body.optimizer not in TORCH_OPTIMIZERS:
        return {"unavailable": f"torch.optim has no counterpart of {body.optimizer!r}."}
    hyper = validate_hyper(body.optimizer, body.hyper)
    schedule = parse_schedule(body.schedule)
    start = ours[0, :2]
    points = torch_points(
        _problem(body),
        body.optimizer,
        hyper,
        schedule,
        start,
        len(ours) - 1,
        float(body.noise),
        body.seed,
    )
    n = min(len(points), len(ours))
    diff = float(np.max(np.abs(points[:n, :2] - ours[:n, :2]))) if n else 0.0
    cls, kwargs = torch_optimizer(body.optimizer, hyper)
    notes = [
        f"torch.optim.{cls.__name__}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) in float64",
        "p.grad is the surface's closed-form gradient at p (autograd is not involved), so the "
        "difference measures the optimizers alone",
    ]
    if schedule.name != "constant":
        notes.append(f"lr set before each step from the {schedule.name} schedule")
    if body.noise > 0.0:
        notes.append("the same gradient noise draws as ours (numpy default_rng([seed, 0]))")
    if len(points) != len(ours):
        notes.append(f"torch stopped after {len(points) - 1} steps, ours after {len(ours) - 1}")
    return {"points": points, "max_diff": diff, "notes": notes}


def _missing(name: str, package: str) -> Result:
    if importlib.util.find_spec(package) is None:
        return {"unavailable": f"{name} is not installed on this server."}
    return {"unavailable": f"{name} is installed but Gradscape has no {name} parity runner yet."}


def parity(body: TrajectoryRequest, max_steps: int) -> Result:
    """Ours (exactly ``POST /api/trajectory``'s points) and each library's path."""
    ours = trajectory(body, max_steps)
    points = np.asarray(ours["points"], dtype=np.float64).reshape(-1, 3)
    libraries: Result = {
        "torch": _torch(body, points) if len(points) else {"unavailable": "no finite start point"},
        "optax": _missing("optax", "optax"),
        "keras": _missing("keras", "keras"),
    }
    return {
        "ours": {"points": points, "status": ours["status"], "steps": ours["steps"]},
        "libraries": libraries,
    }
