"""Fair tuning: every optimizer gets the same budget of trials, judged by one criterion.

Each optimizer tries ``trials`` settings (learning rates on a log grid from ``lr_min`` to
``lr_max``; with ``second``, a grid of its main other hyperparameter too) from the same starts,
``steps`` updates each: one batch of ``trials x starts`` runs per optimizer. A trial scores the
mean over the starts of its steps to reach f* + tol (criterion ``steps``; a start that never
gets there counts ``steps + 1``) or of its final loss (``final_loss``); a diverged start scores
``steps + 1`` or infinity. The best trial of each optimizer is its tuned setting.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from server.analysis.batch import Batch, Cancel
from server.analysis.requests import (
    MAX_STARTS,
    MAX_TRIALS,
    MAX_TUNE_UPDATES,
    Problem,
    TuneRequest,
    check_run,
    check_steps,
    problem_of,
    start_of,
)
from server.analysis.track import NearBest
from server.errors import FieldError
from server.optim.base import Array
from server.optim.registry import OPTIMIZERS, get_optimizer, hyper_rows
from server.runs import check_optimizer

SECOND: dict[str, tuple[str, tuple[float, ...]]] = {
    "momentum": ("momentum", (0.5, 0.9, 0.99)),
    "nesterov": ("momentum", (0.5, 0.9, 0.99)),
    "adam": ("beta1", (0.5, 0.9, 0.99)),
    "adamw": ("beta1", (0.5, 0.9, 0.99)),
    "amsgrad": ("beta1", (0.5, 0.9, 0.99)),
    "adamax": ("beta1", (0.5, 0.9, 0.99)),
    "nadam": ("beta1", (0.5, 0.9, 0.99)),
    "radam": ("beta1", (0.5, 0.9, 0.99)),
    "lion": ("beta1", (0.5, 0.9, 0.99)),
    "rmsprop": ("alpha", (0.9, 0.99, 0.999)),
    "adadelta": ("rho", (0.8, 0.9, 0.99)),
}
"""The main other hyperparameter of each optimizer, and the values a tuning tries."""


def _check(body: TuneRequest) -> None:
    check_steps(body.steps)
    if body.trials > MAX_TRIALS:
        raise FieldError("trials", f"trials {body.trials} is above the limit {MAX_TRIALS}")
    if body.n_starts > MAX_STARTS:
        raise FieldError("n_starts", f"n_starts {body.n_starts} is above the limit {MAX_STARTS}")
    if not body.lr_min < body.lr_max:
        raise FieldError("lr_max", "lr_max must be above lr_min")
    for i, name in enumerate(body.optimizers):
        if name not in OPTIMIZERS:
            raise FieldError(
                f"optimizers[{i}]",
                f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}",
            )
    if len(set(body.optimizers)) != len(body.optimizers):
        raise FieldError("optimizers", "each optimizer once")
    for name in body.hyper:
        if name not in body.optimizers:
            raise FieldError(f"hyper.{name}", f"{name!r} is not among the optimizers tuned")
    trials = max(body.trials, 3) if body.second else body.trials
    starts = 1 if body.starts == "current" else body.n_starts
    updates = len(body.optimizers) * trials * starts * body.steps
    if updates > MAX_TUNE_UPDATES:
        raise FieldError(
            "steps",
            f"optimizers x trials x starts x steps = {updates:,} is above the limit "
            f"{MAX_TUNE_UPDATES:,}",
        )


def starts_of(body: TuneRequest, problem: Problem) -> Array:
    if body.starts == "current":
        return start_of(body.start, problem)[None, :]
    (x0, x1), (y0, y1) = problem.domain
    rng = np.random.default_rng(body.seed)
    return np.column_stack([rng.uniform(x0, x1, body.n_starts), rng.uniform(y0, y1, body.n_starts)])


def trials_of(name: str, base: dict[str, float], body: TuneRequest) -> list[dict[str, float]]:
    """The settings an optimizer tries: the same number for every optimizer (with ``second``,
    ``trials // 3`` learning rates x 3 values, or as many learning rates where there is none)."""
    second = SECOND.get(name) if body.second else None
    total = max(3, body.trials - body.trials % 3) if body.second else body.trials
    count = total // 3 if second else total
    lrs = np.geomspace(float(body.lr_min), float(body.lr_max), count).tolist()
    if second is None:
        return [{**base, "lr": lr} for lr in lrs]
    key, values = second
    return [{**base, "lr": lr, key: v} for v in values for lr in lrs]


def _nearest(points: Array, problem: Problem) -> Array:
    if not problem.minima:
        return np.full(len(points), np.nan)
    minima = np.array([m[:2] for m in problem.minima])
    distance: Array = np.sqrt(((points[:, None, :] - minima[None, :, :]) ** 2).sum(axis=-1))
    nearest: Array = distance.min(axis=1)
    return nearest


def tune_one(
    name: str, body: TuneRequest, problem: Problem, starts: Array, cancel: Cancel | None
) -> dict[str, Any]:
    try:
        check_optimizer(name, problem.built)
        base, _ = check_run(name, dict(body.hyper.get(name, {})), None)
    except FieldError as exc:
        raise exc.within(f"hyper.{name}") if exc.field.startswith("hyper") else exc from None
    trials = trials_of(name, base, body)
    m = len(starts)
    rows = hyper_rows(name, [t for t in trials for _ in range(m)])
    everywhere = np.tile(starts, (len(trials), 1))
    observer = NearBest(len(everywhere), problem.best, float(body.tol))
    end = Batch(problem.built.problem, get_optimizer(name), rows, everywhere).run(
        body.steps, observer, cancel
    )
    _, settled = observer.finish()
    diverged = (end.diverged_at >= 0).reshape(len(trials), m)
    reached = np.where(settled >= 0, settled, body.steps + 1).reshape(len(trials), m)
    reached = np.where(diverged, body.steps + 1, reached)
    gap = end.loss - (problem.best if problem.best is not None else 0.0)
    loss = np.where(diverged, np.inf, end.loss.reshape(len(trials), m))
    mean_loss = loss.mean(axis=1)
    if body.criterion == "steps":
        keys = list(zip(reached.mean(axis=1).tolist(), mean_loss.tolist(), strict=True))
    else:
        keys = [(v, 0.0) for v in mean_loss.tolist()]
    best = min(range(len(trials)), key=lambda i: keys[i])
    sl = slice(best * m, (best + 1) * m)
    steps = [
        int(s) if s >= 0 and not d else None
        for s, d in zip(settled[sl], diverged[best], strict=True)
    ]
    tuned = {
        k: trials[best][k]
        for k in ("lr", *(SECOND[name][:1] if body.second and name in SECOND else ()))
    }
    distance = _nearest(end.point[sl], problem)
    return {
        "optimizer": name,
        "hyper": tuned,
        "score": keys[best][0],
        "steps_to_tol": steps,
        "reached": sum(s is not None for s in steps),
        "final_loss": float(mean_loss[best]),
        "loss_gap": float(np.mean(gap[sl])),
        "distance": None if not problem.minima else float(np.mean(distance)),
        "diverged": bool(diverged[best].any()),
        "diverged_trials": int(diverged.any(axis=1).sum()),
        "trials": len(trials),
    }


def tune(body: TuneRequest, cancel: Cancel | None = None) -> dict[str, Any]:
    _check(body)
    problem = problem_of(body)
    if body.criterion == "steps" and problem.best is None:
        raise FieldError(
            "criterion", "this problem lists no minimum to reach: use criterion final_loss"
        )
    starts = starts_of(body, problem)
    rows = [tune_one(name, body, problem, starts, cancel) for name in body.optimizers]
    rows.sort(
        key=lambda r: (r["score"] if math.isfinite(r["score"]) else math.inf, r["final_loss"])
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    per = max(r["trials"] for r in rows)
    return {
        "criterion": body.criterion,
        "tol": body.tol,
        "budget": {
            "trials": per,
            "steps": body.steps,
            "starts": len(starts),
            "runs": per * len(starts),
            "updates": per * len(starts) * body.steps,
        },
        "starts": starts,
        "tuned": {r["optimizer"]: r["hyper"] for r in rows},
        "leaderboard": rows,
    }
