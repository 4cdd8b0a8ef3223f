"""Chunks: the consecutive points of one run that an advance returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from server.optim.base import Array


class Chunk:
    """Consecutive points of one run: ``params[i]`` is the point of step ``step + i``.

    The fast paths hand their points over as they made them: Python tuples
    ``(*point, loss, gnorm)`` (rows), or a ``(D + 2, k)`` table whose rows are the coordinates,
    the losses and the gradient norms (:func:`server.engine.advance_together`). They become
    arrays only when asked for; a frame writes their columns directly.
    """

    __slots__ = ("_dim", "_gnorm", "_loss", "_params", "_rows", "_table", "step")

    def __init__(self, step: int, params: Array, loss: Array, gnorm: Array) -> None:
        self.step = step
        self._params, self._loss, self._gnorm = params, loss, gnorm
        self._rows: list[tuple[float, ...]] | None = None
        self._table: Array | None = None
        self._dim = params.shape[1]

    @classmethod
    def of_rows(cls, step: int, rows: list[tuple[float, ...]], dim: int) -> Chunk:
        chunk = cls.__new__(cls)
        chunk.step, chunk._rows, chunk._table, chunk._dim = step, rows, None, dim
        return chunk

    @classmethod
    def of_table(cls, step: int, table: Array) -> Chunk:
        chunk = cls.__new__(cls)
        chunk.step, chunk._rows, chunk._table, chunk._dim = step, None, table, len(table) - 2
        return chunk

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        if self._table is not None:
            return int(self._table.shape[1])
        return len(self._loss)

    def _arrays(self) -> None:
        if self._rows is not None:
            table = np.array(self._rows)
            self._params, self._loss, self._gnorm = table[:, :-2], table[:, -2], table[:, -1]
            self._rows = None
        elif self._table is not None:
            table = self._table
            self._params, self._loss, self._gnorm = table[:-2].T, table[-2], table[-1]
            self._table = None

    @property
    def params(self) -> Array:  # (k, D)
        self._arrays()
        return self._params

    @property
    def loss(self) -> Array:  # (k,)
        self._arrays()
        return self._loss

    @property
    def gnorm(self) -> Array:  # (k,)
        self._arrays()
        return self._gnorm

    def columns(self) -> list[Sequence[float] | Array]:
        """Each coordinate's values, then the losses, then the gradient norms."""
        if self._rows is not None:
            return list(zip(*self._rows, strict=True))
        if self._table is not None:
            values: list[Sequence[float] | Array] = self._table.tolist()
            return values
        return [*(self._params[:, d] for d in range(self._dim)), self._loss, self._gnorm]


def merge(parts: list[dict[str, Chunk]]) -> dict[str, Chunk]:
    """Per-run chunks of consecutive blocks joined."""
    if len(parts) == 1:
        return parts[0]
    joined: dict[str, list[Chunk]] = {}
    for part in parts:
        for run_id, chunk in part.items():
            joined.setdefault(run_id, []).append(chunk)
    return {
        run_id: Chunk(
            chunks[0].step,
            np.concatenate([c.params for c in chunks]),
            np.concatenate([c.loss for c in chunks]),
            np.concatenate([c.gnorm for c in chunks]),
        )
        if len(chunks) > 1
        else chunks[0]
        for run_id, chunks in joined.items()
    }
