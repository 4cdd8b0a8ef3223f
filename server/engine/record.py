"""Where the arrays and columns modes write the points of a block of steps, and cut them into
chunks once the block is done."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from server.engine.chunks import Chunk
from server.engine.config import RunConfig, RunStatus
from server.engine.stepper import End
from server.fastpath import Column
from server.optim.base import Array


class Record:
    """The points of a block of steps of one group: the run at row j's are ``[..., j]``.

    Chunks are views of these arrays. A stepper keeps its last record and writes the next block
    into it once no chunk refers to it any more: fresh memory is slow to fault in, and a block
    of 10,000 runs is tens of megabytes.
    """

    def __init__(self, steps: int, dim: int, runs: int) -> None:
        self.params = np.empty((steps, dim, runs))
        self.loss = np.empty((steps, runs))
        self.gnorm = np.empty((steps, runs))

    def unused(self) -> bool:
        """No view of the arrays is alive (one reference is ours, one getrefcount's)."""
        return (
            sys.getrefcount(self.params) <= 2
            and sys.getrefcount(self.loss) <= 2
            and sys.getrefcount(self.gnorm) <= 2
        )

    def first(self, steps: int, runs: int) -> Record:
        """The first ``steps`` steps of the first ``runs`` runs, as views."""
        if steps == len(self.loss) and runs == self.loss.shape[1]:
            return self
        view = object.__new__(Record)
        view.params = self.params[:steps, :, :runs]
        view.loss = self.loss[:steps, :runs]
        view.gnorm = self.gnorm[:steps, :runs]
        return view

    @staticmethod
    def reuse(old: Record | None, steps: int, dim: int, runs: int) -> Record:
        """``old``'s memory if it is free and not far too large, else a new record."""
        if (
            old is None
            or not (steps <= len(old.loss) <= 4 * steps)
            or not (runs <= old.loss.shape[1] <= 4 * runs)
            or not old.unused()
        ):
            return Record(steps, dim, runs)
        return old


class Block:
    """One block of steps of a group being recorded: which record column each row writes
    (rows leave as runs stop), how many points each column got, and the runs that stopped."""

    def __init__(self, record: Record, first: int, index: Sequence[int]) -> None:
        self.record = record
        self.first = first
        self.runs = list(index)  # by column: the run it records
        self.slots = list(range(len(index)))  # by row: its column
        self.counts: list[int | None] = [None] * len(index)  # None: still running
        self.ends: list[End] = []
        self.done = 0  # steps taken

    def targets(self, k: int) -> list[Array] | None:
        """Where step ``k`` of the rows goes (coordinates, loss, gradient norm), as writable
        views; None when the rows' columns are not neighbours (then :meth:`put` them)."""
        slots = self.slots
        n = len(slots)
        if slots[-1] - slots[0] != n - 1:
            return None
        cols = slice(slots[0], slots[0] + n)
        step = self.record.params[k]
        loss, gnorm = self.record.loss[k, cols], self.record.gnorm[k, cols]
        return [*(step[d, cols] for d in range(len(step))), loss, gnorm]

    def put(self, k: int, params: Array | Sequence[Column], loss: Array, gnorm: Array) -> None:
        """Record step ``k`` of the rows; ``params`` is ``(N, D)`` or D columns."""
        slots = self.slots
        n = len(slots)
        cols: slice | list[int] = (
            slice(slots[0], slots[0] + n) if slots[-1] - slots[0] == n - 1 else slots
        )
        step = self.record.params[k]
        if isinstance(params, np.ndarray):
            step[:, cols] = params.T
        else:
            for d, column in enumerate(params):
                step[d, cols] = column
        self.record.loss[k, cols] = loss
        self.record.gnorm[k, cols] = gnorm

    def stop(self, k: int, ended: Sequence[tuple[int, RunStatus]]) -> list[int] | None:
        """Rows (in row order) that stopped at step ``k`` of the block; the rows that stay,
        or None when none stopped."""
        if not ended:
            return None
        gone = set()
        for row, status in ended:
            slot = self.slots[row]
            self.counts[slot] = k + (status is not RunStatus.DIVERGED)
            self.ends.append((self.first + k, slot, self.runs[slot], status))
            gone.add(row)
        keep = [r for r in range(len(self.slots)) if r not in gone]
        self.slots = [self.slots[r] for r in keep]
        return keep

    def chunks(self, configs: Sequence[RunConfig]) -> dict[str, Chunk]:
        """Each run's points of the block, up to its stop, by run id."""
        out: dict[str, Chunk] = {}
        record = self.record
        steps = len(record.loss)
        every = zip(
            self.runs,
            self.counts,
            record.params.transpose(2, 0, 1),  # (runs, steps, D)
            record.loss.T,
            record.gnorm.T,
            strict=True,
        )
        for run, count, params, loss, gnorm in every:
            count = self.done if count is None else count
            if count <= 0:
                continue
            if count < steps:
                params, loss, gnorm = params[:count], loss[:count], gnorm[:count]
            out[configs[run].id] = Chunk(self.first, params, loss, gnorm)
        return out
