"""The loop every library runner shares: our problem's gradient in, the library's step out.

The gradient is ours at the library's current point: a surface's closed form, or a network's
hand-written backprop on the mini-batch of that update (``grad_batch(point, k)`` for update
``k + 1``, as the engine does), plus, with ``noise``, the same draws the engine makes for run 0
(``default_rng([seed, 0]).standard_normal(D)`` each update). So a difference between paths is a
difference between optimizers. Points are ``(D,)`` vectors of any length.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from server.engine.config import StochasticProblem
from server.optim.base import Array
from server.optim.schedules import Schedule, learning_rates
from server.problems.base import Problem

StepFn = Callable[[int, Array, Array], Array]
"""``step(k, point, grad) -> new point`` for update number ``k + 1`` (numpy float64 ``(D,)``)."""


def rates(schedule: Schedule, lr: float, steps: int) -> list[float]:
    """``lr_t`` for ``t = 1..steps``: the rate our schedule gives each update."""
    if steps == 0:
        return []
    values = learning_rates(schedule, np.float64(lr), np.arange(steps))
    return [float(v) for v in np.broadcast_to(values, (steps,))]


def follow(
    problem: Problem, start: Array, steps: int, noise: float, seed: int, step: StepFn
) -> Array:
    """``(n + 1, D + 1)`` rows of ``[*point, loss]`` from ``start`` (``[x, y, loss]`` on a
    surface); stops before the first non-finite point or loss (``n <= steps``)."""
    point = np.asarray(start, dtype=np.float64)
    rng = np.random.default_rng([seed, 0])  # the engine's generator for run 0
    batched = problem if isinstance(problem, StochasticProblem) else None
    rows = [[*point.tolist(), float(problem.value(point[None, :])[0])]]
    for k in range(steps):
        at = point[None, :]
        raw = problem.grad(at) if batched is None else batched.grad_batch(at, k)
        grad = np.asarray(raw, dtype=np.float64)[0]
        if noise > 0.0:
            grad = grad + noise * rng.standard_normal(len(grad))
        new = np.asarray(step(k, point, grad), dtype=np.float64)
        loss = float(problem.value(new[None, :])[0])
        if not np.isfinite(new).all() or not np.isfinite(loss):
            break
        rows.append([*new.tolist(), loss])
        point = new
    return np.array(rows, dtype=np.float64)
