"""Advance a race: a batch of optimizer runs on one problem, one step at a time.

Runs that use the same optimizer form a group. Point ``k`` of a run is the parameter vector after
``k`` updates; update ``k`` uses the learning rate its schedule gives after ``k - 1`` updates
(torch's ``optimizer.step(); scheduler.step()`` order). A change made with :meth:`Race.set`
applies from the next update, whose number :meth:`Race.set` returns.

A group advances in one of three ways, chosen at the start of every block of steps; all three give
the same bits (tests/test_engine_fastpath.py):

- arrays: one vectorized ``optimizer.update`` call for the group, then the problem's ``value``
  and ``grad``. Arrays of 2D points are column-major, so that an operation between an ``(N, 2)``
  array and an ``(N, 1)`` hyperparameter column is one long loop rather than N loops of two.
- rows (at most ``FAST_ROWS`` runs on a built-in 2D surface): each run in Python floats, by code
  traced once from the same optimizer and surface (:mod:`server.fastpath`): microseconds instead
  of tens of microseconds of numpy call overhead.
- columns (larger groups on a built-in surface): the same traced code over ``(N,)`` columns, where
  a value shared by the whole group (a hyperparameter, the step count) is one float, so a
  ``where`` on it picks a branch instead of copying arrays.

Across races, :func:`advance_together` steps the rows-mode runs of many races (the live server's
sessions) that share a compiled update as one column group, with the same bits again.
"""

from __future__ import annotations

import enum
import math
import operator
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from server.fastpath import (
    Column,
    Order,
    ScalarStep,
    StepOut,
    compile_step,
    hyper_columns,
    hyper_row,
    uniform,
)
from server.optim.base import Array, Optimizer, State
from server.optim.registry import get_optimizer, hyper_rows
from server.optim.schedules import Schedule, learning_rate, parse_schedule
from server.problems.base import Problem
from server.problems.surfaces.spec import Surface

CONSTANT = parse_schedule(None)


@runtime_checkable
class StochasticProblem(Problem, Protocol):
    """A problem whose gradient depends on the update number (mini-batches)."""

    def grad_batch(self, p: Array, step: int) -> Array: ...


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DIVERGED = "diverged"
    FINISHED = "finished"
    CONVERGED = "converged"


@dataclass(frozen=True)
class RunConfig:
    id: str
    optimizer: str
    hyper: Mapping[str, float]  # validated by server.optim.registry.validate_hyper
    start: Array  # (D,)
    schedule: Schedule = CONSTANT
    noise: float = 0.0


class Chunk:
    """Consecutive points of one run: ``params[i]`` is the point of step ``step + i``.

    The fast paths hand their points over as they made them: Python tuples
    ``(*point, loss, gnorm)`` (rows mode), or a ``(D + 2, k)`` table whose rows are the
    coordinates, the losses and the gradient norms (:func:`advance_together`). They become
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


@dataclass(frozen=True)
class Stop:
    run: str
    status: RunStatus
    step: int


CONVERGED_GNORM = 1e-8
CONVERGED_STEP = 1e-12
FAST_ROWS = 8
"""Largest group advanced row by row in Python floats; larger ones go by columns."""
BLOCK_VALUES = 1 << 25
"""Float64 values (points, losses, gradient norms) recorded per block of steps, at most."""


@dataclass
class _Row:
    """One run of a group in the rows mode, in Python floats."""

    run: int  # position in Race.configs
    params: tuple[float, ...]
    grad: tuple[float, ...]
    state: tuple[float, ...]
    hyper: list[float]
    points: list[tuple[float, ...]] = field(default_factory=list)
    noise: float = 0.0
    schedule: Schedule | None = None  # None: constant
    shared: _Shared | None = None  # while set, params, grad and state live there, not here

    def own(self) -> None:
        """Take the state back from :func:`advance_together`'s columns, before using it."""
        if self.shared is not None:
            self.shared.release()


class _Shared:
    """The state of rows of several races kept as columns between :func:`advance_together`
    calls, as long as the same rows are advanced together; their tuples are stale meanwhile."""

    def __init__(self, fast: ScalarStep, rows: list[_Row]) -> None:
        self.fast, self.rows = fast, rows
        self.params: list[Column] = list(np.array([row.params for row in rows]).T)
        self.grad: list[Column] = list(np.array([row.grad for row in rows]).T)
        self.state: list[Column] = [uniform(c) for c in np.array([row.state for row in rows]).T]
        self.hyper: list[Column] = [uniform(c) for c in np.array([row.hyper for row in rows]).T]
        for row in rows:
            row.shared = self

    def serves(self, fast: ScalarStep, rows: list[_Row]) -> bool:
        mine = self.rows
        return self.fast is fast and len(mine) == len(rows) and all(map(operator.is_, mine, rows))

    def release(self) -> None:
        m = len(self.rows)
        columns = zip(
            np.stack(np.broadcast_arrays(*self.params), axis=1).tolist(),
            np.stack(np.broadcast_arrays(*self.grad), axis=1).tolist(),
            np.stack([np.broadcast_to(c, (m,)) for c in self.state], axis=1).tolist(),
            strict=True,
        )
        for row, (p, g, st) in zip(self.rows, columns, strict=True):
            row.params, row.grad, row.state = tuple(p), tuple(g), tuple(st)
            row.shared = None


@dataclass
class _Columns:
    """A group in the columns mode: per coordinate or field, an ``(N,)`` array or one float."""

    params: list[Column]
    grad: list[Column]
    state: list[Column]
    hyper: list[Column]
    step: ScalarStep  # specialized to the hyperparameters shared by the whole group
    work: list[Array] = field(default_factory=list)  # the step's reused temporaries
    results: tuple[list[Array], list[Array]] = ([], [])  # returned columns, used in turn
    turn: int = 0


@dataclass
class _Group:
    """The running runs of one optimizer, in one of three modes (see the module docstring).

    ``params``, ``grad`` and ``state`` hold the arrays mode; they are stale while ``rows`` or
    ``columns`` is set. ``hyper`` is kept current in every mode.
    """

    optimizer: Optimizer
    index: list[int]  # positions in Race.configs
    hyper: dict[str, Array]  # (N, 1) columns
    params: Array
    grad: Array
    state: State
    fast: ScalarStep | None = None
    rows: list[_Row] | None = None
    columns: _Columns | None = None
    needs_lr: bool = False
    noisy: bool = False


class _Points:
    """The points of a block of steps of the array and column groups: run i's are ``[..., i]``.

    Chunks are views of these arrays. A race keeps its last ``_Points`` and writes the next
    block into it once no chunk refers to it any more: fresh memory is slow to fault in, and a
    block of 10,000 runs is tens of megabytes.
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

    def first(self, steps: int) -> _Points:
        """The first ``steps`` steps, as views."""
        if steps == len(self.loss):
            return self
        view = object.__new__(_Points)
        view.params, view.loss, view.gnorm = (
            self.params[:steps],
            self.loss[:steps],
            self.gnorm[:steps],
        )
        return view

    def targets(self, k: int, index: list[int]) -> list[Array] | None:
        """Where step ``k`` of the runs ``index`` goes (coordinates, loss, gradient norm), as
        writable views; None when the runs are not neighbours (then :meth:`put` them)."""
        n = len(index)
        if index[-1] - index[0] != n - 1:
            return None
        cols = slice(index[0], index[0] + n)
        step = self.params[k]
        return [*(step[d, cols] for d in range(len(step))), self.loss[k, cols], self.gnorm[k, cols]]

    def put(
        self, k: int, index: list[int], params: Array | Sequence[Column], loss: Array, gnorm: Array
    ) -> None:
        """Record step ``k`` of the runs ``index``; ``params`` is ``(N, D)`` or D columns."""
        n = len(index)
        cols: slice | list[int] = (
            slice(index[0], index[0] + n) if index[-1] - index[0] == n - 1 else index
        )
        step = self.params[k]
        if isinstance(params, np.ndarray):
            step[:, cols] = params.T
        else:
            for d, column in enumerate(params):
                step[d, cols] = column
        self.loss[k, cols] = loss
        self.gnorm[k, cols] = gnorm


class Race:
    """A batch of runs on one problem, advanced in lockstep."""

    def __init__(
        self,
        problem: Problem,
        runs: Sequence[RunConfig],
        *,
        seed: int = 0,
        max_steps: int = 1000,
    ) -> None:
        if not runs:
            raise ValueError("a race needs at least one run")
        self.problem = problem
        self._stochastic = problem if isinstance(problem, StochasticProblem) else None
        self._surface = problem if isinstance(problem, Surface) else None
        self.configs = list(runs)
        self.seed = seed
        self.max_steps = max_steps
        self.reset()

    def reset(self) -> None:
        """Back to the starts and step 0, keeping every change made with :meth:`set`."""
        self.step = 0
        self.status = [RunStatus.RUNNING] * len(self.configs)
        self.stopped_at = [0] * len(self.configs)
        self._rngs = [np.random.default_rng([self.seed, i]) for i in range(len(self.configs))]
        start = np.stack([np.asarray(c.start, dtype=np.float64) for c in self.configs])
        self._order: Order = "F" if start.shape[1] <= 4 else "C"
        self._block = max(1, BLOCK_VALUES // (len(self.configs) * (start.shape[1] + 2)))
        start = np.asarray(start, order=self._order)
        self._dim = start.shape[1]
        with np.errstate(all="ignore"):
            self._loss0 = np.asarray(self.problem.value(start), dtype=np.float64)
            # the gradient update 1 uses: on a mini-batch problem, the first batch's
            first = self._stochastic.grad_batch(start, 0) if self._stochastic else None
            grad0 = np.asarray(
                self.problem.grad(start) if first is None else first,
                dtype=np.float64,
                order=self._order,
            )
            self._gnorm0 = _norms(grad0)
        self._groups: list[_Group] = []
        self._pool: _Points | None = None
        by_name: dict[str, list[int]] = {}
        for i, c in enumerate(self.configs):
            by_name.setdefault(c.optimizer, []).append(i)
        for name, index in by_name.items():
            opt = get_optimizer(name)
            hyper = hyper_rows(name, [self.configs[i].hyper for i in index])
            params = np.asarray(start[index], order=self._order)
            grad = np.asarray(grad0[index], order=self._order)
            fast = None
            if self._surface is not None and self._stochastic is None:
                fast = compile_step(opt, self._surface)
            self._groups.append(
                _Group(opt, index, hyper, params, grad, opt.init(params, hyper), fast)
            )
        self._refresh_schedules()
        bad = np.flatnonzero(~np.isfinite(self._loss0 + self._gnorm0))
        self._stop([(int(i), RunStatus.DIVERGED) for i in bad])

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.configs]

    @property
    def done(self) -> bool:
        return RunStatus.RUNNING not in self.status

    def index_of(self, run_id: str) -> int:
        for i, c in enumerate(self.configs):
            if c.id == run_id:
                return i
        raise KeyError(run_id)

    def initial_chunks(self) -> dict[str, Chunk]:
        """The start point (step 0) of every run whose start is finite."""
        out: dict[str, Chunk] = {}
        for i, c in enumerate(self.configs):
            if np.isfinite(self._loss0[i] + self._gnorm0[i]):
                out[c.id] = Chunk(
                    0,
                    np.asarray(c.start, dtype=np.float64)[None, :],
                    self._loss0[i : i + 1],
                    self._gnorm0[i : i + 1],
                )
        return out

    def set(
        self,
        run_id: str,
        *,
        hyper: Mapping[str, float] | None = None,
        schedule: Schedule | None = None,
        noise: float | None = None,
    ) -> int:
        """Change one run from the next update on; returns that update's number."""
        i = self.index_of(run_id)
        c = self.configs[i]
        self.configs[i] = replace(
            c,
            hyper=dict(hyper) if hyper is not None else c.hyper,
            schedule=schedule if schedule is not None else c.schedule,
            noise=float(noise) if noise is not None else c.noise,
        )
        if hyper is not None:
            for g in self._groups:
                if i in g.index:
                    row = g.index.index(i)
                    for name, value in hyper_rows(c.optimizer, [hyper]).items():
                        g.hyper[name][row] = value[0]
                    if g.fast is not None and g.rows is not None:
                        g.rows[row].own()
                        g.rows[row].hyper = hyper_row(g.fast, g.hyper, row)
        self._refresh_schedules()
        for g in self._groups:
            if i in g.index and g.columns is not None:
                self._specialize(g, g.columns)
        return self.step + 1

    def advance(self, n: int = 1) -> tuple[dict[str, Chunk], list[Stop]]:
        """Perform up to ``n`` updates of every running run; return the new points and stops."""
        n = min(n, self.max_steps - self.step)
        if n <= 0 or not self._groups:
            return {}, []
        stops: list[Stop] = []
        block = self._block
        parts = [self._advance_block(min(n, block), stops)]
        while self._groups and n > block:
            n -= block
            parts.append(self._advance_block(min(n, block), stops))
        if self.step >= self.max_steps:
            stops += self._stop([(i, RunStatus.FINISHED) for g in self._groups for i in g.index])
        return _merge(parts), stops

    def _joinable(self, n: int) -> bool:
        """Whether :func:`advance_together` can take this race's next ``n`` steps (none is
        fine): every group runs in Python floats, without noise or a schedule, and ``n`` fits
        in one block."""
        if not 0 <= n <= self._block or not self._groups:
            return False
        for g in self._groups:
            if g.rows is None or len(g.rows) > FAST_ROWS:
                self._choose_mode(g)
            if g.rows is None or g.fast is None or g.noisy or g.needs_lr:
                return False
        return True

    def _finish_joined(
        self, n: int, ends: Mapping[int, tuple[int, RunStatus]], recorded: Mapping[int, Array]
    ) -> tuple[dict[str, Chunk], list[Stop]]:
        """After :func:`advance_together` stepped this race's rows ``n`` times: its chunks and
        stops, exactly as :meth:`advance` would have returned them."""
        first = self.step + 1
        chunks: dict[str, Chunk] = {}
        stopped = False
        for g in self._groups:
            for row in g.rows or ():
                points = recorded.get(id(row))
                if points is not None:
                    chunks[self.configs[row.run].id] = Chunk.of_table(first, points)
                stopped = stopped or id(row) in ends
        stops: list[Stop] = []
        if stopped:
            self._end_rows_block(first, n, ends, stops)
        else:
            self.step = first + n - 1
        if self.step >= self.max_steps:
            stops += self._stop([(i, RunStatus.FINISHED) for g in self._groups for i in g.index])
        return chunks, stops

    def params(self, run_id: str) -> Array | None:
        """The current point of a running run (None once it stopped)."""
        i = self.index_of(run_id)
        for g in self._groups:
            if i in g.index:
                row = g.index.index(i)
                if g.rows is not None:
                    g.rows[row].own()
                    return np.array(g.rows[row].params)
                if g.columns is not None:
                    return _row_of(g.columns.params, row)
                point: Array = g.params[row].copy()
                return point
        return None

    # -- one block of steps ----------------------------------------------------------------

    def _advance_block(self, n: int, stops: list[Stop]) -> dict[str, Chunk]:
        """``n`` steps, or fewer if every run stops; the new points of each run, by id."""
        first = self.step + 1
        array_runs: list[int] = []
        rows: list[_Row] = []
        quiet = True
        for g in self._groups:
            if g.rows is None or len(g.rows) > FAST_ROWS:
                self._choose_mode(g)
            if g.rows is None:
                array_runs += g.index
                quiet = False
            else:
                assert g.fast is not None
                quiet = quiet and g.fast.quiet
                rows += g.rows
        points = self._points(n) if array_runs else None
        if not array_runs:
            self._rows_block(n, stops)
        elif quiet:  # nothing numpy could warn about: save entering errstate
            self._steps(n, points, stops)
        else:
            with np.errstate(all="ignore"):
                self._steps(n, points, stops)
        for g in self._groups:
            if g.columns is not None:  # its point may be a view of `points`: let them go
                g.columns.params = [np.array(column) for column in g.columns.params]
        out: dict[str, Chunk] = {}
        for row in rows:
            if row.points:
                out[self.configs[row.run].id] = Chunk.of_rows(first, row.points, self._dim)
                row.points = []
        if points is not None:
            self._array_chunks(first, array_runs, points, out)
        return out

    def _points(self, n: int) -> _Points:
        """Arrays for ``n`` steps of every run: the last block's if free and not too large."""
        pool = self._pool
        if pool is None or not (n <= len(pool.loss) <= 4 * n) or not pool.unused():
            pool = self._pool = _Points(n, self._dim, len(self.configs))
        return pool.first(n)

    def _steps(self, n: int, points: _Points | None, stops: list[Stop]) -> None:
        for k in range(n):
            if not self._groups:
                return
            self.step += 1
            for g in list(self._groups):
                if g.rows is not None:
                    self._rows_update(g, stops)
                else:
                    assert points is not None
                    if g.columns is not None:
                        self._columns_update(g, k, points, stops)
                    else:
                        self._arrays_update(g, k, points, stops)

    def _array_chunks(
        self, first: int, runs: list[int], points: _Points, out: dict[str, Chunk]
    ) -> None:
        """Cut the block's recorded points into one chunk per run, up to the run's stop."""
        steps = self.step - first + 1
        in_block = [False] * len(self.configs)
        for i in runs:
            in_block[i] = True
        every = zip(
            self.configs,
            in_block,
            self.status,
            self.stopped_at,
            points.params.transpose(2, 0, 1),  # (runs, steps, D)
            points.loss.T,
            points.gnorm.T,
            strict=True,
        )
        rows = len(points.loss)  # steps - rows: the block ended early, every run stopped
        for config, taken, status, stopped_at, params, loss, gnorm in every:
            if not taken:
                continue
            count = steps
            if status is not RunStatus.RUNNING:
                count = stopped_at - first + (status is not RunStatus.DIVERGED)
                if count <= 0:
                    continue
            if count < rows:
                params, loss, gnorm = params[:count], loss[:count], gnorm[:count]
            out[config.id] = Chunk(first, params, loss, gnorm)

    # -- modes -------------------------------------------------------------------------------

    def _choose_mode(self, g: _Group) -> None:
        if g.rows is not None and len(g.rows) <= FAST_ROWS:
            return
        mode = "arrays" if g.fast is None else "rows" if len(g.index) <= FAST_ROWS else "columns"
        if mode == "rows" and g.rows is not None:
            return
        if mode == "columns" and g.columns is not None:
            return
        self._to_arrays(g)
        if mode == "arrays":
            return
        assert g.fast is not None
        if mode == "rows":
            states = g.fast.flatten(g.state)
            g.rows = [
                _Row(
                    i,
                    tuple(g.params[r].tolist()),
                    tuple(g.grad[r].tolist()),
                    states[r],
                    hyper_row(g.fast, g.hyper, r),
                )
                for r, i in enumerate(g.index)
            ]
            self._refresh_schedules()
        else:
            g.columns = _Columns(
                [np.array(g.params[:, d]) for d in range(self._dim)],
                [np.array(g.grad[:, d]) for d in range(self._dim)],
                g.fast.columns(g.state),
                [],
                g.fast,
            )
            self._specialize(g, g.columns)

    def _specialize(self, g: _Group, c: _Columns) -> None:
        """Compile the group's update for the hyperparameter values all its runs share."""
        assert g.fast is not None and self._surface is not None
        c.hyper = hyper_columns(g.fast, g.hyper)
        known = {
            name: value
            for name, value in zip(g.fast.hyper_names, c.hyper, strict=True)
            if isinstance(value, float) and not (name == "lr" and g.needs_lr)
        }
        c.step = compile_step(g.optimizer, self._surface, known) or g.fast
        _allocate(c, len(g.index))

    def _to_arrays(self, g: _Group) -> None:
        """Make the arrays mode's fields current (from rows or columns) and use that mode."""
        n = len(g.index)
        if g.rows is not None:
            assert g.fast is not None
            for row in g.rows:
                row.own()
            g.params = np.array([r.params for r in g.rows], order=self._order)
            g.grad = np.array([r.grad for r in g.rows], order=self._order)
            g.state = g.fast.unflatten([r.state for r in g.rows], self._order)
        elif g.columns is not None:
            assert g.fast is not None
            g.params = _stack(g.columns.params, n)
            g.grad = _stack(g.columns.grad, n)
            g.state = g.fast.from_columns(g.columns.state, n, self._order)
        g.rows = g.columns = None

    # -- the arrays mode ---------------------------------------------------------------------

    def _arrays_update(
        self, g: _Group, k: int, points: _Points, stops: list[Stop], grad: Array | None = None
    ) -> None:
        """One update of the group; ``grad`` is the noisy gradient if already drawn."""
        if grad is None:
            grad = self._noisy(g, g.grad)
        hyper = g.hyper
        if g.needs_lr:
            hyper = {**g.hyper, "lr": self._rates(g)[:, None]}
        hess = self.problem.hessian(g.params) if g.optimizer.spec.needs_hessian else None
        updates, g.state = g.optimizer.update(grad, g.state, g.params, hyper, hess)
        params = g.params + updates
        loss, new_grad, gnorm = self._evaluate(params)
        g.params, g.grad = params, new_grad
        points.put(k, g.index, params, loss, gnorm)
        steps = np.broadcast_to(updates, params.shape)
        self._settle(g, loss, gnorm, lambda r: (steps[r], params[r]), stops)

    def _noisy(self, g: _Group, grad: Array) -> Array:
        """``grad`` (``(N, D)``) plus each noisy run's draw for this update."""
        if not g.noisy:
            return grad
        grad = grad.copy(order="K")
        for row, i in enumerate(g.index):
            if self.configs[i].noise > 0.0:
                noise = self._rngs[i].standard_normal(grad.shape[1])
                grad[row] += self.configs[i].noise * noise
        return grad

    def _rates(self, g: _Group) -> Array:
        """This update's learning rate of every run of the group, schedules applied."""
        return np.array(
            [
                learning_rate(self.configs[i].schedule, float(g.hyper["lr"][row, 0]), self.step - 1)
                for row, i in enumerate(g.index)
            ]
        )

    def _evaluate(self, params: Array) -> tuple[Array, Array, Array]:
        """Loss, gradient and gradient norm at ``params`` (``(N, D)``)."""
        loss = np.asarray(self.problem.value(params), dtype=np.float64)
        if self._stochastic is not None:
            grad = self._stochastic.grad_batch(params, self.step)
        else:
            grad = self.problem.grad(params)
        return loss, grad, _norms(grad)

    def _settle(
        self,
        g: _Group,
        loss: Array,
        gnorm: Array,
        step_and_point: Callable[[int], tuple[Array, Array]],
        stops: list[Stop],
        scratch: Array | None = None,
    ) -> None:
        """Stop the runs whose loss or gradient left the floats, or that converged."""
        total = np.add(loss, gnorm, out=scratch)
        # A finite sum means all are finite (an overflowing one only sends us the long way).
        all_finite = math.isfinite(float(np.add.reduce(total)))
        ended: list[tuple[int, RunStatus]] = []
        if all_finite:
            smallest = gnorm.min()
        else:
            finite = np.isfinite(total)
            ended += [(g.index[int(r)], RunStatus.DIVERGED) for r in np.flatnonzero(~finite)]
            smallest = gnorm.min(initial=np.inf, where=finite)
        if smallest <= CONVERGED_GNORM:
            close = gnorm <= CONVERGED_GNORM  # False where NaN
            for r in np.flatnonzero(close if all_finite else close & np.isfinite(total)):
                if _converged(*step_and_point(int(r))):
                    ended.append((g.index[int(r)], RunStatus.CONVERGED))
        stops += self._stop(ended)

    # -- the columns mode --------------------------------------------------------------------

    def _columns_update(self, g: _Group, k: int, points: _Points, stops: list[Stop]) -> None:
        assert g.columns is not None and g.fast is not None
        c = g.columns
        grad = c.grad
        if g.noisy:
            noisy = self._noisy(g, _stack(grad, len(g.index)))
            grad = [noisy[:, d] for d in range(self._dim)]
        hyper = c.hyper
        if g.needs_lr:
            hyper = hyper.copy()
            hyper[g.fast.hyper_names.index("lr")] = uniform(self._rates(g))
        targets = points.targets(k, g.index)
        n = len(g.index)
        record = targets or [np.empty(n) for _ in range(self._dim + 2)]
        c.turn ^= 1
        try:
            out: Any = c.step.columns_fn(
                c.params, grad, c.state, hyper, c.work, record + c.results[c.turn]
            )
        except (ArithmeticError, ValueError):  # numpy returns inf or NaN here: let it
            noisy_grad = _stack(grad, len(g.index))
            self._to_arrays(g)
            self._arrays_update(g, k, points, stops, noisy_grad)
            return
        params, loss, new_grad, gnorm, updates, state = out
        c.params, c.grad, c.state = list(params), list(new_grad), list(state)
        if targets is None:
            points.put(k, g.index, params, loss, gnorm)
        self._settle(
            g,
            loss,
            gnorm,
            lambda r: (_row_of(updates, r), _row_of(params, r)),
            stops,
            c.work[0] if c.work else None,  # free once the step is done
        )

    # -- the rows mode -----------------------------------------------------------------------

    def _rows_update(self, g: _Group, stops: list[Stop]) -> None:
        """Update ``self.step`` of every run of a rows group (when races mix modes)."""
        assert g.rows is not None
        step = self.step
        ended = [(row.run, end[1]) for row in g.rows if (end := self._row_steps(g, row, step, 1))]
        stops += self._stop(ended)

    def _rows_block(self, n: int, stops: list[Stop]) -> None:
        """``n`` steps of a race whose groups are all in the rows mode: run after run, each
        for the whole block, then the stops in the order lockstep steps would give them."""
        first = self.step + 1
        ends: dict[int, tuple[int, RunStatus]] = {}
        for g in self._groups:
            assert g.rows is not None
            for row in g.rows:
                end = self._row_steps(g, row, first, n)
                if end is not None:
                    ends[id(row)] = end
        self._end_rows_block(first, n, ends, stops)

    def _end_rows_block(
        self, first: int, n: int, ends: Mapping[int, tuple[int, RunStatus]], stops: list[Stop]
    ) -> None:
        """Stop the rows that ended (by ``id`` of their row: the step and how) in lockstep
        order, and move the step counter to the block's last step."""
        ended: list[tuple[int, int, int, RunStatus]] = []  # step, order, run, status
        count = 0
        for g in self._groups:
            assert g.rows is not None
            for row in g.rows:
                if id(row) in ends:
                    step, status = ends[id(row)]
                    ended.append((step, count, row.run, status))
                count += 1
        if not ended:
            self.step = first + n - 1
            return
        ended.sort()
        last = first + n - 1 if len(ended) < count else ended[-1][0]
        for step in sorted({e[0] for e in ended}):
            self.step = step
            stops += self._stop([(run, status) for at, _, run, status in ended if at == step])
        self.step = last

    def _row_steps(self, g: _Group, row: _Row, first: int, n: int) -> tuple[int, RunStatus] | None:
        """Updates ``first`` to ``first + n - 1`` of one run; where and how it stopped."""
        assert g.fast is not None
        row.own()
        fn = g.fast.fn
        points = row.points
        rng = self._rngs[row.run] if row.noise > 0.0 else None
        lr = g.fast.hyper_names.index("lr") if row.schedule is not None else -1
        for step in range(first, first + n):
            grad = row.grad
            if rng is not None:
                noise = rng.standard_normal(len(grad)).tolist()
                grad = tuple(a + row.noise * b for a, b in zip(grad, noise, strict=True))
            hyper = row.hyper
            if row.schedule is not None:
                hyper = hyper.copy()
                hyper[lr] = learning_rate(row.schedule, hyper[lr], step - 1)
            try:
                out = fn(row.params, grad, row.state, hyper)
            except (ArithmeticError, ValueError):  # numpy returns inf or NaN here: let it
                with np.errstate(all="ignore"):
                    out = self._numpy_row(g, row, grad, hyper)
            params, loss, row.grad, gnorm, updates, row.state = out
            row.params = params
            if not math.isfinite(loss + gnorm):
                return step, RunStatus.DIVERGED
            points.append((*params, loss, gnorm))
            if gnorm <= CONVERGED_GNORM and _converged(np.array(updates), np.array(params)):
                return step, RunStatus.CONVERGED
        return None

    def _numpy_row(
        self, g: _Group, row: _Row, grad: Sequence[float], hyper: Sequence[float]
    ) -> StepOut:
        """One rows-mode update done by numpy, for the values Python floats refuse."""
        assert g.fast is not None
        params = np.array([row.params])
        rows = {name: np.array([[v]]) for name, v in zip(g.fast.hyper_names, hyper, strict=True)}
        state = g.fast.unflatten([row.state], "C")
        updates, state = g.optimizer.update(np.array([grad]), state, params, rows, None)
        new = params + updates
        loss, new_grad, gnorm = self._evaluate(new)
        return (
            tuple(new[0].tolist()),
            float(loss[0]),
            tuple(new_grad[0].tolist()),
            float(gnorm[0]),
            tuple(np.broadcast_to(updates, new.shape)[0].tolist()),
            g.fast.flatten(state)[0],
        )

    # -- stops and settings ----------------------------------------------------------------

    def _stop(self, ended: Sequence[tuple[int, RunStatus]]) -> list[Stop]:
        """Stop these runs at this step and take them out of their groups, all at once."""
        if not ended:
            return []
        for i, status in ended:
            self.status[i] = status
            self.stopped_at[i] = self.step
        gone = {i for i, _ in ended}
        for g in self._groups:
            keep = [r for r, j in enumerate(g.index) if j not in gone]
            n = len(g.index)
            if len(keep) < n:
                g.index = [g.index[r] for r in keep]
                g.hyper = {k: v[keep] for k, v in g.hyper.items()}
                if g.rows is not None:
                    g.rows = [g.rows[r] for r in keep]
                elif g.columns is not None:
                    c = g.columns
                    c.params, c.grad = _take(c.params, keep), _take(c.grad, keep)
                    c.state, c.hyper = _take(c.state, keep), _take(c.hyper, keep)
                    _allocate(c, len(keep))
                else:
                    g.params = np.asarray(g.params[keep], order=self._order)
                    g.grad = np.asarray(g.grad[keep], order=self._order)
                    g.state = _take_rows(g.state, keep, n, self._order)
        self._groups = [g for g in self._groups if g.index]
        self._refresh_schedules()
        return [Stop(self.configs[i].id, status, self.step) for i, status in ended]

    def _refresh_schedules(self) -> None:
        for g in self._groups:
            g.needs_lr = any(self.configs[i].schedule != CONSTANT for i in g.index)
            g.noisy = any(self.configs[i].noise > 0.0 for i in g.index)
            for row in g.rows or ():
                config = self.configs[row.run]
                row.noise = config.noise
                row.schedule = None if config.schedule == CONSTANT else config.schedule


def advance_together(work: Sequence[tuple[Race, int]]) -> list[tuple[dict[str, Chunk], list[Stop]]]:
    """Advance each race by its count, with the very result of ``race.advance(count)``.

    Runs of different races that use the same compiled update (optimizer and surface) take their
    steps together, as numpy columns: a call per step for all of them rather than a call per run,
    the difference between a few and a few hundred microseconds when hundreds of live sessions
    stream. The columns code equals the Python-float code bit for bit (:mod:`server.fastpath`),
    and a run whose count is smaller keeps its state from then on. Between calls that advance
    the same runs, their state stays in the columns (:class:`_Shared`). Races it cannot take
    (noise, schedules, numpy groups) advance alone.
    """
    results: list[tuple[dict[str, Chunk], list[Stop]]] = [({}, [])] * len(work)
    joined: list[tuple[int, Race, int]] = []
    batches: dict[int, tuple[ScalarStep, list[_Row], list[int], list[int]]] = {}
    for i, (race, count) in enumerate(work):
        n = max(0, min(count, race.max_steps - race.step))
        if not race._joinable(n):
            results[i] = race.advance(n)
            continue
        joined.append((i, race, n))
        for g in race._groups:
            assert g.fast is not None and g.rows is not None
            fast, rows, firsts, steps = batches.setdefault(id(g.fast), (g.fast, [], [], []))
            rows += g.rows
            firsts += [race.step + 1] * len(g.rows)
            steps += [n] * len(g.rows)
    ends: dict[int, tuple[int, RunStatus]] = {}
    recorded: dict[int, Array] = {}
    with np.errstate(all="ignore"):
        for fast, rows, firsts, steps in batches.values():
            if max(steps) > 0:
                _columns_together(fast, rows, firsts, steps, ends, recorded)
    for i, race, n in joined:
        results[i] = race._finish_joined(n, ends, recorded)
    return results


def _columns_together(
    fast: ScalarStep,
    rows: list[_Row],
    firsts: list[int],
    steps: list[int],
    ends: dict[int, tuple[int, RunStatus]],
    recorded: dict[int, Array],
) -> None:
    """``steps[j]`` updates of each of ``rows`` (of several races), as columns. By ``id`` of
    the row: its new points as a ``(D + 2, k)`` array (coordinates, loss, gradient norm) in
    ``recorded``, and where and how it stopped in ``ends``."""
    first = rows[0].shared
    shared = first if first is not None and first.serves(fast, rows) else None
    if shared is None:
        for row in rows:
            row.own()
        shared = _Shared(fast, rows)
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
        total = np.add.reduce(loss + gnorm, where=wanted > k)
        if (
            not math.isfinite(total)
            or gnorm.min(initial=np.inf, where=wanted > k) <= CONVERGED_GNORM
        ):
            for j in sorted(running):
                if steps[j] <= k:
                    continue
                if not math.isfinite(loss[j] + gnorm[j]):
                    ends[id(rows[j])] = (firsts[j] + k, RunStatus.DIVERGED)
                    counts[j] = k
                elif gnorm[j] <= CONVERGED_GNORM and _converged(
                    _row_of(updates, j), _row_of(new, j)
                ):
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


def _allocate(c: _Columns, n: int) -> None:
    """Work and result buffers of ``n`` rows for the group's compiled step."""
    c.work = [np.empty(n) for _ in range(c.step.buffers)]
    c.results = (
        [np.empty(n) for _ in range(c.step.carried)],
        [np.empty(n) for _ in range(c.step.carried)],
    )


def _stack(columns: Sequence[Column], n: int) -> Array:
    """Columns (arrays or shared floats) as one column-major ``(n, len(columns))`` array."""
    out = np.empty((n, len(columns)), order="F")
    for d, column in enumerate(columns):
        out[:, d] = column
    return out


def _row_of(columns: Sequence[Column], r: int) -> Array:
    return np.array([c[r] if isinstance(c, np.ndarray) else c for c in columns], dtype=np.float64)


def _take(columns: list[Column], keep: list[int]) -> list[Column]:
    return [c[keep] if isinstance(c, np.ndarray) else c for c in columns]


def _norms(grad: Array) -> Array:
    """Euclidean norm of each row, summed coordinate by coordinate as the fast path does."""
    if grad.shape[-1] > 4:
        norms: Array = np.sqrt(np.einsum("nd,nd->n", grad, grad))
        return norms
    squares = grad[:, 0] * grad[:, 0]
    for d in range(1, grad.shape[-1]):
        squares += grad[:, d] * grad[:, d]
    return np.sqrt(squares, out=squares)


def _converged(updates: Array, params: Array) -> bool:
    """The step is negligible next to the point (checked once the gradient has vanished)."""
    return bool(np.abs(updates).max() <= CONVERGED_STEP * (1.0 + np.abs(params).max()))


def _merge(parts: list[dict[str, Chunk]]) -> dict[str, Chunk]:
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


def _take_rows(state: State, keep: list[int], n: int, order: Order) -> State:
    """Select rows of every per-run array in an optimizer state (a NamedTuple of arrays)."""
    if isinstance(state, np.ndarray):
        return np.asarray(state[keep], order=order) if state.shape[:1] == (n,) else state
    if isinstance(state, tuple):
        fields = [_take_rows(s, keep, n, order) for s in state]
        return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields)
    return state
