"""Learning-rate sweeps: one run per learning rate, all in one batch, from one start.

Each run goes to ``steps`` exactly as ``POST /api/trajectory`` with ``until: max_steps`` would:
``final_loss`` is the loss of its last point (the last finite one if it diverged),
``steps_to_tol`` the first step from which its loss stayed within ``tol`` of the lowest listed
minimum (None if it did not, or none is listed). ``edge`` is the measured divergence edge: the
smallest swept lr whose run diverged or ended above its starting loss (above the edge the loss
grows geometrically, but 500 steps of growth need not overflow), None if none did;
``predicted_edge`` is the local stability limit at the start (:mod:`server.analysis.stability`)
where the optimizer has one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from server.analysis.batch import Batch, Cancel
from server.analysis.requests import (
    MAX_LRS,
    SweepRequest,
    check_run,
    check_steps,
    problem_of,
    start_of,
)
from server.analysis.stability import edge, lambda_max
from server.analysis.track import NearBest
from server.errors import FieldError
from server.optim.base import Array
from server.optim.registry import get_optimizer, hyper_rows
from server.runs import check_optimizer


def learning_rates(body: SweepRequest) -> Array:
    if body.lrs is not None:
        if len(body.lrs) > MAX_LRS:
            raise FieldError("lrs", f"at most {MAX_LRS} learning rates (got {len(body.lrs)})")
        lrs = np.array([float(v) for v in body.lrs])
        bad = np.flatnonzero(~(lrs >= 0.0))
        if bad.size:
            raise FieldError(f"lrs[{bad[0]}]", f"Invalid learning rate: {lrs[bad[0]]:g}")
        return lrs
    if body.n > MAX_LRS:
        raise FieldError("n", f"n {body.n} is above the limit {MAX_LRS}")
    if not body.lr_min < body.lr_max:
        raise FieldError("lr_max", "lr_max must be above lr_min")
    return np.geomspace(float(body.lr_min), float(body.lr_max), body.n)


def sweep(body: SweepRequest, cancel: Cancel | None = None) -> dict[str, Any]:
    check_steps(body.steps)
    problem = problem_of(body)
    check_optimizer(body.optimizer, problem.built)
    hyper, schedule = check_run(body.optimizer, dict(body.hyper), body.schedule)
    lrs = learning_rates(body)
    start = start_of(body.start, problem)
    rows = hyper_rows(body.optimizer, [{**hyper, "lr": float(lr)} for lr in lrs])
    starts = np.repeat(start[None, :], len(lrs), axis=0)
    observer = NearBest(len(lrs), problem.best, float(body.tol))
    optimizer = get_optimizer(body.optimizer)
    end = Batch(problem.built.problem, optimizer, rows, starts, schedule).run(
        body.steps, observer, cancel
    )
    _, settled = observer.finish()
    diverged = end.diverged_at >= 0
    with np.errstate(invalid="ignore"):
        above = diverged | (end.loss > problem.built.problem.value(start[None, :])[0])
    measured = float(lrs[above].min()) if above.any() else None
    return {
        "lr": lrs,
        "final_loss": end.loss,
        "diverged": diverged.tolist(),
        "steps_to_tol": [int(s) if s >= 0 else None for s in settled.tolist()],
        "diverged_at": [int(s) if s >= 0 else None for s in end.diverged_at.tolist()],
        "edge": measured,
        "predicted_edge": predicted_edge(body.optimizer, hyper, problem.built.problem, start),
    }


def predicted_edge(optimizer: str, hyper: dict[str, float], problem: Any, start: Array) -> Any:
    """The local stability limit at ``start`` (None where the optimizer has none)."""
    found = edge(optimizer, hyper)
    if found is None:
        return None
    with np.errstate(all="ignore"):
        top = float(lambda_max(np.asarray(problem.hessian(start[None, :]), dtype=np.float64))[0])
    limit = found.limit(top)
    return None if limit is None else {"lr": limit, "lambda_max": top, "formula": found.formula}
