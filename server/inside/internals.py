"""What an optimizer holds at the current point of a run: the internals overlay's numbers.

A :class:`Shadow` follows a live race run by run with each optimizer's own numpy ``init`` and
``update`` (the functions the engine runs, which its fast path replays bit for bit), the run's
current settings, its schedule and the same noise generator (``default_rng([seed, i])``), so
its state is the optimizer's real state: the momentum buffer, Adam's moments, Rprop's step
sizes. It catches up after every advance of the race, before any ``set`` can change the run,
which is exactly when the engine's own updates used those settings. ``describe`` then looks
one update ahead, on copies: the gradient that update will use, the step it will take and the
state right after it.

Surfaces, formulas and regressions only (2D, full gradients); networks get nothing.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.engine import Race, RunStatus, StochasticProblem
from server.optim.base import Array, Optimizer, State
from server.optim.registry import get_optimizer, hyper_rows
from server.optim.schedules import learning_rate

MOMENT_FIELDS = ("momentum_buffer", "mu")
"""The state field drawn as the velocity / first moment, where the optimizer has one."""
MAX_CATCH_UP = 20_000
"""Updates replayed in one call at most (a race is capped far below this)."""


def supported(race: Race) -> bool:
    """Whether the overlay can follow this race: a 2D problem with full gradients."""
    dim = np.asarray(race.configs[0].start).shape[-1]
    return dim == 2 and not isinstance(race.problem, StochasticProblem)


@dataclass
class _Run:
    optimizer: Optimizer
    step: int
    params: Array  # (1, D)
    state: State
    rng: np.random.Generator


class Shadow:
    """Follows ``race`` (which it never changes) with the optimizers' own code."""

    def __init__(self, race: Race) -> None:
        self.race = race
        self.runs = [self._fresh(i) for i in range(len(race.configs))]

    def _fresh(self, i: int) -> _Run:
        c = self.race.configs[i]
        opt = get_optimizer(c.optimizer)
        params = np.asarray(c.start, dtype=np.float64).reshape(1, -1).copy()
        state = opt.init(params, hyper_rows(c.optimizer, [c.hyper]))
        return _Run(opt, 0, params, state, np.random.default_rng([self.race.seed, i]))

    def _target(self, i: int) -> int:
        if self.race.status[i] is RunStatus.RUNNING:
            return self.race.step
        return min(self.race.stopped_at[i], self.race.step)

    def _inputs(
        self, i: int, run: _Run, rng: np.random.Generator
    ) -> tuple[Array, dict[str, Array], Array | None]:
        """Gradient (noise drawn from ``rng``), hyperparameter rows and Hessian of update
        number ``run.step + 1`` of run ``i``."""
        c = self.race.configs[i]
        grad = np.asarray(self.race.problem.grad(run.params), dtype=np.float64)
        if c.noise > 0.0:
            grad = grad + c.noise * rng.standard_normal(grad.shape[1])
        rows = hyper_rows(c.optimizer, [c.hyper])
        rows["lr"] = np.array([[learning_rate(c.schedule, float(c.hyper["lr"]), run.step)]])
        needs = run.optimizer.spec.needs_hessian
        hess = np.asarray(self.race.problem.hessian(run.params)) if needs else None
        return grad, rows, hess

    def catch_up(self) -> None:
        """Replay every run's updates up to the race's current step."""
        if any(r.step > self._target(i) for i, r in enumerate(self.runs)):  # a reset
            self.runs = [self._fresh(i) for i in range(len(self.race.configs))]
        for i, run in enumerate(self.runs):
            todo = min(self._target(i) - run.step, MAX_CATCH_UP)
            with np.errstate(all="ignore"):
                for _ in range(todo):
                    grad, rows, hess = self._inputs(i, run, run.rng)
                    updates, run.state = run.optimizer.update(
                        grad, run.state, run.params, rows, hess
                    )
                    run.params = run.params + updates
                    run.step += 1

    def describe(self, ids: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each running run's internals at its current point (``ids``: only these runs)."""
        out: dict[str, dict[str, Any]] = {}
        for i, run in enumerate(self.runs):
            c = self.race.configs[i]
            if ids is not None and c.id not in ids:
                continue
            if self.race.status[i] is not RunStatus.RUNNING:
                continue
            with np.errstate(all="ignore"):
                info = self._describe(i, run)
            if info is not None:
                out[c.id] = info
        return out

    def _describe(self, i: int, run: _Run) -> dict[str, Any] | None:
        grad, rows, hess = self._inputs(i, run, copy.deepcopy(run.rng))
        state = copy.deepcopy(run.state)
        updates, after = run.optimizer.update(grad, state, run.params.copy(), rows, hess)
        step = np.broadcast_to(updates, run.params.shape)[0]
        g = grad[0]
        lr = float(rows["lr"][0, 0])
        values = [*g, *step, lr]
        if not all(math.isfinite(float(v)) for v in values):
            return None
        fields = {name: _value(value) for name, value in zip(after._fields, after, strict=True)}
        moment_name = next((f for f in MOMENT_FIELDS if f in after._fields), None)
        moment = fields.get(moment_name) if moment_name else None
        if moment_name == "momentum_buffer" and not np.any(np.asarray(after.momentum_buffer)):
            moment, moment_name = None, None  # momentum 0: the buffer is unused
        effective = [
            float(-s / gi) if abs(gi) > 1e-300 and math.isfinite(float(-s / gi)) else None
            for s, gi in zip(step, g, strict=True)
        ]
        info = {
            "step": run.step,
            "point": run.params[0].tolist(),
            "grad": g.tolist(),
            "lr": lr,
            "gd_step": (-lr * g).tolist(),
            "next_step": step.tolist(),
            "moment": moment,
            "moment_name": moment_name,
            "effective_lr": effective,
            "state": fields,
        }
        info["why"] = why(run.optimizer.spec.name, info, rows)
        return info


def _value(value: Array) -> float | list[float]:
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    return float(a[0]) if a.size == 1 else a.tolist()


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def why(name: str, info: dict[str, Any], rows: dict[str, Array]) -> str:
    """One line on why this step is not plain gradient descent's, with the numbers."""
    step = np.array(info["next_step"])
    gd = np.array(info["gd_step"])
    size, gd_size = float(np.linalg.norm(step)), float(np.linalg.norm(gd))
    if gd_size == 0.0 or size == 0.0:
        return "The gradient vanishes here: plain gradient descent would not move."
    ratio = size / gd_size
    cos = float(np.clip(step @ gd / (size * gd_size), -1.0, 1.0))
    angle = math.degrees(math.acos(cos))
    than = f"{ratio:.3g}× plain GD's step, turned {angle:.0f}° from −∇f"
    eff = info["effective_lr"]
    per = f"effective lr x {_fmt(eff[0])}, y {_fmt(eff[1])} (lr {info['lr']:.3g})"
    wd = float(rows.get("weight_decay", np.zeros((1, 1)))[0, 0])
    if name in ("sgd", "momentum", "nesterov"):
        if info["moment"] is None:
            extra = " plus weight decay" if wd else ""
            return f"Plain gradient descent{extra}: the step is −lr·∇f ({than})."
        kind = (
            "Nesterov momentum looks ahead along" if rows["nesterov"][0, 0] else "Momentum follows"
        )
        return f"{kind} the velocity b, the sum of past gradients: {than}."
    if name in ("adagrad", "rmsprop", "adadelta"):
        return f"Each coordinate is divided by the root of its running g²: {per}; {than}."
    if name in ("adam", "adamw", "amsgrad", "adamax", "nadam", "radam"):
        return f"First moment m (momentum) over the root of the second moment v: {per}; {than}."
    if name == "rprop":
        return f"Only the sign of each gradient coordinate counts, times its own step size: {per}."
    if name == "lion":
        return f"The sign of the interpolated momentum: each coordinate moves by lr; {than}."
    if name == "newton":
        return f"The curvature sets the step (|H| d = ∇f): {than}."
    return f"{than}."
