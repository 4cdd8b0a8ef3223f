"""Observers of a :class:`server.analysis.batch.Batch`: where each row ends up, and from when.

Both keep, per running row, the current "target" (the listed minimum within ``tol``, or being
within ``tol`` of the best loss) and the first step of the current stretch on it; at the end the
target of the last point and the step from which the row stayed on it. Work buffers are reused
from step to step: these run over up to 62,500 rows, 500 times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from server.optim.base import Array

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Targets = npt.NDArray[np.signedinteger[Any]]

NONE = -1
DIVERGED = -2


class _Streak:
    """The stretch bookkeeping shared by both observers.

    Per step it costs a few passes over one-byte targets (``int8``; ``int16`` past 126 minima)
    and, on the steps where some row changed its target, a masked write of the step number:
    masked writes are fast only on masks that are mostly one value, which these are.
    """

    def __init__(self, n: int, targets: int = 1) -> None:
        self.result = np.full(n, NONE, dtype=np.int64)
        self.settled = np.full(n, -1, dtype=np.int64)
        self.index = np.arange(n)
        self.dtype = np.int8 if targets < 127 else np.int16
        self._resize(n)

    def _resize(self, n: int) -> None:
        self.near: Targets = np.full(n, NONE, dtype=self.dtype)
        self.since = np.zeros(n, dtype=np.int32)
        self.idx: Targets = np.empty(n, dtype=self.dtype)
        self.work: Targets = np.empty(n, dtype=self.dtype)
        self.changed = np.empty(n, dtype=bool)
        self.mask = np.empty(n, dtype=bool)
        self.a = np.empty(n)
        self.b = np.empty(n)

    def flags(self) -> Targets:
        """``mask`` as 0 / 1 numbers of the targets' type (a view: booleans are 0 / 1 bytes)."""
        ones: Targets = self.mask.view(np.int8)
        if self.dtype != np.int8:
            np.copyto(self.work, ones)
            return self.work
        return ones

    def commit(self, k: int) -> None:
        """``idx`` holds this step's target of every row: extend or restart each stretch."""
        np.not_equal(self.idx, self.near, out=self.changed)
        if self.changed.any():
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
    """Which listed minimum (within ``tol`` in distance) each row's point is at (the last of
    them where the balls overlap)."""

    def __init__(self, n: int, minima: list[tuple[float, float]], tol: float) -> None:
        super().__init__(n, len(minima))
        self.minima = minima
        self.tol2 = tol * tol

    def step(self, k: int, x: Array, y: Array, loss: Array) -> None:
        a, b = self.a, self.b
        if not self.minima:
            self.idx.fill(NONE)
        for j, (mx, my) in enumerate(self.minima):
            np.subtract(x, mx, out=a)
            np.multiply(a, a, out=a)
            np.subtract(y, my, out=b)
            np.multiply(b, b, out=b)
            np.add(a, b, out=a)
            np.less_equal(a, self.tol2, out=self.mask)
            if j == 0:
                np.subtract(self.flags(), 1, out=self.idx)  # near: 0, else -1
            else:
                target = np.multiply(self.flags(), j + 1, out=self.work)
                target -= 1  # near: j, else -1
                np.maximum(self.idx, target, out=self.idx)
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
            np.subtract(self.flags(), 1, out=self.idx)  # True -> 0, False -> -1
        self.commit(k)
