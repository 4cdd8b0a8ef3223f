"""Basin maps: from every start of a grid, which listed minimum a run ends at, and from when.

Cell ``[i][j]`` is the run started at ``(x[j], y[i])``, run to ``steps`` (never stopped early):
``minimum`` is the index of the listed minimum within ``tol`` (distance) of its last point, -1
for none, -2 if it diverged; ``steps`` is the first step from which it stayed within ``tol`` of
that minimum (None otherwise). All cells are one :class:`~server.analysis.batch.Batch`, or one
per block of grid rows when the map is streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.analysis.batch import Batch, Cancel
from server.analysis.requests import (
    MAX_CELL_STEPS,
    MAX_CELLS,
    BasinRequest,
    Problem,
    check_domain,
    check_run,
    check_steps,
    problem_of,
)
from server.analysis.track import Ints, NearestMinimum
from server.errors import FieldError
from server.optim.base import Array
from server.optim.registry import get_optimizer, hyper_rows
from server.runs import check_optimizer


@dataclass(frozen=True)
class BasinPlan:
    problem: Problem
    x: Array
    y: Array
    batch: Callable[[Array], Batch]
    steps: int
    tol: float


def plan(body: BasinRequest) -> BasinPlan:
    """Check the request (422 errors name the field) and lay out the grid."""
    if body.n * body.n > MAX_CELLS:
        raise FieldError("n", f"n {body.n} is above the limit {int(MAX_CELLS**0.5)}")
    check_steps(body.steps)
    if body.n * body.n * body.steps > MAX_CELL_STEPS:
        raise FieldError(
            "steps",
            f"n² x steps = {body.n * body.n * body.steps:,} is above the limit {MAX_CELL_STEPS:,}",
        )
    problem = problem_of(body)
    check_optimizer(body.optimizer, problem.built)
    hyper, schedule = check_run(body.optimizer, dict(body.hyper), body.schedule)
    (x0, x1), (y0, y1) = check_domain(body.domain, problem)
    x, y = np.linspace(x0, x1, body.n), np.linspace(y0, y1, body.n)
    optimizer = get_optimizer(body.optimizer)

    def batch(starts: Array) -> Batch:
        rows = {
            k: np.full((len(starts), 1), v) for k, v in hyper_rows(body.optimizer, [hyper]).items()
        }
        return Batch(problem.built.problem, optimizer, rows, starts, schedule)

    return BasinPlan(problem, x, y, batch, body.steps, float(body.tol))


CACHE_CELLS = 32_768
"""Cells run together in a whole map (rows are independent, so the bits are the same). On the
December 4 machine (32 MB of L3, 1 MB of L2 a core) the columns of a step do not fit in L2 at
any block size worth its per-call cost; 250 x 250 Adam, CPU time, best - median of 5, load 0.4:
0.432-0.436 s in blocks of this size (2 blocks), 0.440-0.446 s in one, 0.450-0.465 s in 16,384
(the December 3 machine, 8 MB of L3, had 16,384 best)."""


def _cells(p: BasinPlan, rows: slice, cancel: Cancel | None) -> tuple[Ints, Ints]:
    xs, ys = np.meshgrid(p.x, p.y[rows])
    starts = np.column_stack([xs.ravel(), ys.ravel()])
    observer = NearestMinimum(len(starts), [(m[0], m[1]) for m in p.problem.minima], p.tol)
    p.batch(starts).run(p.steps, observer, cancel)
    minimum, settled = observer.finish()
    shape = (len(p.y[rows]), len(p.x))
    return minimum.reshape(shape), settled.reshape(shape)


def _steps_json(settled: Ints) -> list[list[int | None]]:
    cells = settled.astype(object)  # Python ints (3.6x faster than a comprehension over rows)
    cells[settled < 0] = None
    out: list[list[int | None]] = cells.tolist()
    return out


def basin(body: BasinRequest, cancel: Cancel | None = None) -> dict[str, Any]:
    """The whole map, as ``POST /api/basin`` answers it."""
    p = plan(body)
    blocks = [_cells(p, slice(i0, i1), cancel) for i0, i1 in row_blocks(p, CACHE_CELLS, 1)]
    minimum = np.concatenate([b[0] for b in blocks])
    settled = np.concatenate([b[1] for b in blocks])
    return {
        "x": p.x,
        "y": p.y,
        "minimum": minimum.tolist(),
        "steps": _steps_json(settled),
        "minima": [list(m) for m in p.problem.minima],
    }


def basin_head(p: BasinPlan) -> dict[str, Any]:
    """The first line of a streamed map: the grid, the minima and the number of rows."""
    return {"x": p.x, "y": p.y, "minima": [list(m) for m in p.problem.minima], "rows": len(p.y)}


def row_blocks(p: BasinPlan, block_cells: int = 4096, at_least: int = 8) -> list[tuple[int, int]]:
    """Blocks of whole grid rows ``[i0, i1)``: about ``block_cells`` cells each (at most), and
    ``at_least`` blocks or more (the streamed map's progress)."""
    n = len(p.y)
    per_block = max(1, min(block_cells, n * len(p.x) // at_least) // len(p.x))
    return [(i0, min(n, i0 + per_block)) for i0 in range(0, n, per_block)]


def basin_rows(p: BasinPlan, i0: int, i1: int, cancel: Cancel | None = None) -> dict[str, Any]:
    """Grid rows ``i0`` to ``i1`` of the map (``row``: the first one's index)."""
    minimum, settled = _cells(p, slice(i0, i1), cancel)
    return {
        "row": i0,
        "minimum": minimum.tolist(),
        "steps": _steps_json(settled),
        "done": i1 / len(p.y),
    }


def basin_blocks(
    p: BasinPlan, block_cells: int = 4096, cancel: Cancel | None = None
) -> Iterator[dict[str, Any]]:
    """The map of a checked :func:`plan` as a head (grid and minima) then blocks of whole
    grid rows (``row``: the first one's index), for streaming."""
    yield basin_head(p)
    for i0, i1 in row_blocks(p, block_cells):
        yield basin_rows(p, i0, i1, cancel)
