"""Cross-session batching: the rows of many races (the live server's sessions) that share a
compiled update, stepped as numpy columns with the very bits each race gives alone.

A call per step for all of them rather than a call per run is the difference between a few and
a few hundred microseconds when hundreds of live sessions stream. Between calls that advance the
same rows, their state stays in the columns (:class:`SharedColumns`); a live change of one row's
hyperparameters is written into the columns, and anything else that needs a row's state (a
reset, a step alone, a read) hands every row its state back first.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from server.engine.chunks import Chunk
from server.engine.config import CONVERGED_GNORM, RunStatus, Stop
from server.engine.model import Race
from server.engine.rows import Row
from server.engine.stepper import converged, row_of
from server.fastpath import Column, ScalarStep, uniform
from server.optim.base import Array

Result = tuple[dict[str, Chunk], list[Stop]]


def advance_together(work: Sequence[tuple[Race, int]]) -> list[Result]:
    """Advance each race by its count, with the very result of ``race.advance(count)``.

    Runs of different races that use the same compiled update (optimizer and surface) take their
    steps together; a run whose count is smaller keeps its state from then on. Races it cannot
    take (noise, schedules, numpy groups, the fast path off) advance alone.
    """
    results: list[Result] = [({}, [])] * len(work)
    joined: list[tuple[int, Race, int]] = []
    batches: dict[int, tuple[ScalarStep, list[Row], list[int], list[int]]] = {}
    for i, (race, count) in enumerate(work):
        n = max(0, min(count, race.max_steps - race.step))
        groups = race.batch_rows(n)
        if groups is None:
            results[i] = race.advance(n)
            continue
        joined.append((i, race, n))
        for fast, group_rows in groups:
            _, rows, firsts, steps = batches.setdefault(id(fast), (fast, [], [], []))
            rows += group_rows
            firsts += [race.step + 1] * len(group_rows)
            steps += [n] * len(group_rows)
    ends: dict[int, tuple[int, RunStatus]] = {}
    recorded: dict[int, Array] = {}
    with np.errstate(all="ignore"):
        for fast, rows, firsts, steps in batches.values():
            if max(steps) > 0:
                _columns_together(fast, rows, firsts, steps, ends, recorded)
    for i, race, n in joined:
        results[i] = race.end_batch(n, ends, recorded)
    return results


class SharedColumns:
    """The state of rows of several races kept as columns between :func:`advance_together`
    calls, as long as the same rows are advanced together; their tuples are stale meanwhile."""

    def __init__(self, fast: ScalarStep, rows: list[Row]) -> None:
        self.fast, self.rows = fast, rows
        self.params: list[Column] = list(np.array([row.params for row in rows]).T)
        self.grad: list[Column] = list(np.array([row.grad for row in rows]).T)
        self.state: list[Column] = [uniform(c) for c in np.array([row.state for row in rows]).T]
        self.hyper: list[Column] = [uniform(c) for c in np.array([row.hyper for row in rows]).T]
        for row in rows:
            row.held = self

    def serves(self, fast: ScalarStep, rows: list[Row]) -> bool:
        mine = self.rows
        return self.fast is fast and len(mine) == len(rows) and all(map(operator.is_, mine, rows))

    def set_hyper(self, row: Row) -> None:
        """Take ``row.hyper`` (changed live) into the columns."""
        j = next(j for j, r in enumerate(self.rows) if r is row)
        m = len(self.rows)
        for c, value in enumerate(row.hyper):
            column = self.hyper[c]
            if not isinstance(column, np.ndarray):
                if column == value:
                    continue
                column = np.full(m, column)
            column[j] = value
            self.hyper[c] = uniform(column)

    def release(self) -> None:
        """Hand every row its state back and let the columns go."""
        m = len(self.rows)
        columns = zip(
            np.stack(np.broadcast_arrays(*self.params), axis=1).tolist(),
            np.stack(np.broadcast_arrays(*self.grad), axis=1).tolist(),
            np.stack([np.broadcast_to(c, (m,)) for c in self.state], axis=1).tolist(),
            strict=True,
        )
        for row, (p, g, st) in zip(self.rows, columns, strict=True):
            row.params, row.grad, row.state = tuple(p), tuple(g), tuple(st)
            row.held = None


def _columns_together(
    fast: ScalarStep,
    rows: list[Row],
    firsts: list[int],
    steps: list[int],
    ends: dict[int, tuple[int, RunStatus]],
    recorded: dict[int, Array],
) -> None:
    """``steps[j]`` updates of each of ``rows`` (of several races), as columns. By ``id`` of
    the row: its new points as a ``(D + 2, k)`` array (coordinates, loss, gradient norm) in
    ``recorded``, and where and how it stopped in ``ends``."""
    first = rows[0].held
    shared = first if isinstance(first, SharedColumns) and first.serves(fast, rows) else None
    if shared is None:
        for row in rows:
            row.own()
        shared = SharedColumns(fast, rows)
    params, grad, state, hyper = shared.params, shared.grad, shared.state, shared.hyper
    m, n, dim = len(rows), max(steps), len(params)
    work = [np.empty(m) for _ in range(fast.buffers)]
    carried = (
        [np.empty(m) for _ in range(fast.carried)],
        [np.empty(m) for _ in range(fast.carried)],
    )
    table = np.empty((n, dim + 2, m))  # the columns step writes each step's points straight here
    counts = list(steps)
    wanted = np.array(steps)
    running = {j for j in range(m) if steps[j]}
    for k in range(n):
        out = [*table[k], *carried[k % 2]]
        step: Any = fast.columns_fn(params, grad, state, hyper, work, out)
        new, loss, new_grad, gnorm, updates, new_state = step
        total = np.add.reduce(sum(new, loss + gnorm), where=wanted > k)
        if (
            not math.isfinite(total)
            or gnorm.min(initial=np.inf, where=wanted > k) <= CONVERGED_GNORM
        ):
            for j in sorted(running):
                if steps[j] <= k:
                    continue
                if not math.isfinite(sum(row_of(new, j), loss[j] + gnorm[j])):
                    ends[id(rows[j])] = (firsts[j] + k, RunStatus.DIVERGED)
                    counts[j] = k
                elif gnorm[j] <= CONVERGED_GNORM and converged(row_of(updates, j), row_of(new, j)):
                    ends[id(rows[j])] = (firsts[j] + k, RunStatus.CONVERGED)
                    counts[j] = k + 1
                else:
                    continue
                running.discard(j)
        kept = [list(new), list(new_grad), list(new_state)]
        if k + 1 > min(steps):  # runs with fewer steps keep the state they reached
            going = wanted > k
            kept = [
                [np.where(going, a, b) for a, b in zip(*pair, strict=True)]
                for pair in zip(kept, (params, grad, state), strict=True)
            ]
        params, grad, state = kept
    shared.params, shared.grad, shared.state = params, grad, state
    by_row = np.ascontiguousarray(table.transpose(2, 1, 0))  # (m, D + 2, n)
    for j, row in enumerate(rows):
        if counts[j]:
            recorded[id(row)] = by_row[j] if counts[j] == n else by_row[j][:, : counts[j]]
