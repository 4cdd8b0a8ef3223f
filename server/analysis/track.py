"""Observers of a :class:`server.analysis.batch.Batch`: where each row ends up, and from when.

Both keep, per running row, the current "target" (the listed minimum within ``tol``, or being
within ``tol`` of the best loss) and the first step of the current stretch on it; at the end the
target of the last point and the step from which the row stayed on it. Work buffers are reused
from step to step: these run over up to 62,500 rows, 500 times.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from server.optim.base import Array

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

NONE = -1
DIVERGED = -2


class _Streak:
    """The stretch bookkeeping shared by both observers."""

    def __init__(self, n: int) -> None:
        self.result = np.full(n, NONE, dtype=np.int64)
        self.settled = np.full(n, -1, dtype=np.int64)
        self.index = np.arange(n)
        self._resize(n)

    def _resize(self, n: int) -> None:
        self.near = np.full(n, NONE, dtype=np.int64)
        self.since = np.zeros(n, dtype=np.int64)
        self.idx = np.empty(n, dtype=np.int64)
        self.changed = np.empty(n, dtype=bool)
        self.mask = np.empty(n, dtype=bool)
        self.a = np.empty(n)
        self.b = np.empty(n)

    def commit(self, k: int) -> None:
        """``idx`` holds this step's target of every row: extend or restart each stretch."""
        np.not_equal(self.idx, self.near, out=self.changed)
        np.copyto(self.since, k, where=self.changed)
        self.near, self.idx = self.idx, self.near

    def drop(self, keep: Mask) -> None:
        self.result[self.index[~keep]] = DIVERGED
        near, since = self.near[keep], self.since[keep]
        self.index = self.index[keep]
        self._resize(len(self.index))
        self.near[:], self.since[:] = near, since

    def finish(self) -> tuple[Ints, Ints]:
        """Per row: the target of its last point (or NONE / DIVERGED), and the step from which
        it stayed on it (-1 where there is none)."""
        self.result[self.index] = self.near
        on = self.near >= 0
        self.settled[self.index[on]] = self.since[on]
        return self.result, self.settled


class NearestMinimum(_Streak):
    """Which listed minimum (within ``tol`` in distance) each row's point is at."""

    def __init__(self, n: int, minima: list[tuple[float, float]], tol: float) -> None:
        super().__init__(n)
        self.minima = minima
        self.tol2 = tol * tol

    def step(self, k: int, x: Array, y: Array, loss: Array) -> None:
        self.idx.fill(NONE)
        a, b = self.a, self.b
        for j, (mx, my) in enumerate(self.minima):
            np.subtract(x, mx, out=a)
            np.multiply(a, a, out=a)
            np.subtract(y, my, out=b)
            np.multiply(b, b, out=b)
            np.add(a, b, out=a)
            np.less_equal(a, self.tol2, out=self.mask)
            np.copyto(self.idx, j, where=self.mask)
        self.commit(k)


class NearBest(_Streak):
    """Whether each row's loss is within ``tol`` of the best known value ``best`` (target 0)."""

    def __init__(self, n: int, best: float | None, tol: float) -> None:
        super().__init__(n)
        self.limit = None if best is None else best + tol

    def step(self, k: int, x: Array, y: Array, loss: Array) -> None:
        if self.limit is None:
            self.idx.fill(NONE)
        else:
            np.less_equal(loss, self.limit, out=self.mask)
            np.subtract(self.mask, 1, out=self.idx, casting="unsafe")  # True -> 0, False -> -1
        self.commit(k)
