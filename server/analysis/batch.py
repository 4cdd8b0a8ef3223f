"""Many runs of one optimizer on one problem, stepped together to a fixed number of steps.

Each row is one run with its own start and hyperparameters (``(N, 1)`` columns). A row stops
at the first step whose loss, gradient norm or point is not finite (it *diverged*; its last
point is the one before); every other row runs all ``steps`` updates, converged or not. This is
``POST /api/trajectory`` with ``until: max_steps`` for every row at once, with the same bits:
on a built-in surface the step is the engine's traced update over numpy columns
(:func:`server.fastpath.compile_step`, which reuses its buffers), elsewhere the optimizer's own
numpy update, as the engine's arrays mode does it.

An :class:`Observer` sees every step's points of the rows still running (``index`` maps them to
the original rows) and is told which rows diverged before they leave the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from server.analysis.track import Mask
from server.fastpath import Column, ScalarStep, compile_step, hyper_columns, uniform
from server.fastpath.render import state_names
from server.optim.base import Array, Optimizer, State
from server.optim.schedules import Schedule, learning_rate, parse_schedule
from server.problems.base import Problem
from server.problems.surfaces.spec import Surface

Cancel = Callable[[], bool]
CONSTANT = parse_schedule(None)


class Cancelled(Exception):
    """The caller asked the batch to stop (a new request replaced it)."""


class Observer(Protocol):
    def step(self, k: int, x: Array, y: Array, loss: Array) -> None:
        """The points of step ``k`` of the running rows, in the order of ``index``."""

    def drop(self, keep: Any) -> None:
        """Rows where ``keep`` is False diverged at the last step seen and leave the batch."""


@dataclass
class BatchEnd:
    """Per row: the last finite point and loss, and the step where it diverged (-1: never)."""

    point: Array  # (N, D)
    loss: Array  # (N,)
    diverged_at: Array  # (N,) int


def norms(grad: Array) -> Array:
    """Each row's gradient norm, summed coordinate by coordinate as the fast path does."""
    if grad.shape[-1] > 4:
        out: Array = np.sqrt(np.einsum("nd,nd->n", grad, grad))
        return out
    squares = grad[:, 0] * grad[:, 0]
    for d in range(1, grad.shape[-1]):
        squares += grad[:, d] * grad[:, d]
    return np.sqrt(squares, out=squares)


def _take(column: Column, keep: Mask) -> Column:
    return column[keep] if isinstance(column, np.ndarray) else column


class _Columns:
    """The traced update over ``(N,)`` columns (floats where all rows agree)."""

    def __init__(
        self, fast: ScalarStep, params: Array, grad: Array, state: State, hyper: list[Column]
    ) -> None:
        self.fast = fast
        self.p: list[Column] = [np.array(params[:, d]) for d in range(params.shape[1])]
        self.g: list[Column] = [np.array(grad[:, d]) for d in range(grad.shape[1])]
        self.s: list[Column] = fast.columns(state)
        self.h = hyper
        # The gradient and state columns updated in place (as `m += u` in hand-written numpy):
        # ("g" | "s", index) per result buffer, None where the update needs two in turn.
        grads, states = [f"g_{d}" for d in range(len(self.p))], state_names(fast.widths)
        self.slots: list[tuple[str, int] | None] = [
            None
            if name is None
            else ("g", grads.index(name))
            if name in grads
            else ("s", states.index(name))
            for name in fast.in_place
        ]
        self._allocate(len(params))

    def _allocate(self, n: int) -> None:
        dim = len(self.p)
        # The point, loss and squared gradient norm of a step, one block (checked at once);
        # two in turn, since a diverged row's point and loss are the step's before.
        self.blocks = np.empty((2, dim + 2, n))
        self.records = [list(block) for block in self.blocks]
        self.carried = [
            [np.empty(n) if slot is None else None for slot in self.slots] for _ in range(2)
        ]
        self.work = [np.empty(n) for _ in range(self.fast.buffers)]
        self.turn = 0
        own: list[Array | None] = []
        for slot in self.slots:  # each updated in place: an array of its own
            if slot is not None:
                columns, i = self.g if slot[0] == "g" else self.s, slot[1]
                if not isinstance(columns[i], np.ndarray):
                    columns[i] = np.full(n, columns[i])
                own.append(columns[i])
            else:
                own.append(None)
        # The result buffers of each turn (an array updated in place is the same every step).
        self.outs = [
            [
                *self.records[t],
                *(b if a is None else a for a, b in zip(own, self.carried[t], strict=True)),
            ]
            for t in range(2)
        ]

    def step(self, hyper: list[Column]) -> tuple[list[Array], Array, Array]:
        """One update of every row: the new point's columns, the loss, the squared gradient
        norm (the lean update's: only whether it is finite matters here)."""
        self.turn ^= 1
        out = self.outs[self.turn]
        result: Any = self.fast.columns_fn(self.p, self.g, self.s, hyper, self.work, out)
        new, loss, grad, gnorm, _, state = result
        self.p, self.g, self.s = list(new), list(grad), list(state)
        return self.p, loss, gnorm

    def finite(self, point: list[Array], loss: Array, gnorm: Array) -> bool:
        """Whether the last step's values are all finite (possibly False when they are)."""
        return math.isfinite(float(np.add.reduce(self.blocks[self.turn], axis=None)))

    def keep(self, keep: Mask) -> None:
        n = int(keep.sum())
        self.p = [np.array(_take(c, keep)) for c in self.p]  # out of the record buffers
        self.g = [_take(c, keep) for c in self.g]
        self.s = [_take(c, keep) for c in self.s]
        self.h = [_take(c, keep) for c in self.h]
        self._allocate(n)

    def arrays(self, optimizer: Optimizer) -> _Arrays:
        n = next((len(c) for c in (*self.p, *self.s) if isinstance(c, np.ndarray)), 1)
        params = np.empty((n, len(self.p)), order="F")
        grad = np.empty((n, len(self.g)), order="F")
        for d in range(len(self.p)):
            params[:, d], grad[:, d] = self.p[d], self.g[d]
        state = self.fast.from_columns(self.s, n, "F")
        hyper = {
            name: np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)).reshape(n, 1).copy()
            for name, c in zip(self.fast.hyper_names, self.h, strict=True)
        }
        return _Arrays(optimizer, params, grad, state, hyper)


class _Arrays:
    """The optimizer's numpy update over ``(N, D)`` arrays (any problem, Newton included)."""

    def __init__(
        self,
        optimizer: Optimizer,
        params: Array,
        grad: Array,
        state: State,
        hyper: dict[str, Array],
    ) -> None:
        self.optimizer, self.params, self.grad, self.state = optimizer, params, grad, state
        self.hyper = hyper

    def step(self, problem: Problem, lr: Array | None) -> tuple[list[Array], Array, Array]:
        hyper: Mapping[str, Array] = self.hyper if lr is None else {**self.hyper, "lr": lr}
        hess = problem.hessian(self.params) if self.optimizer.spec.needs_hessian else None
        updates, self.state = self.optimizer.update(self.grad, self.state, self.params, hyper, hess)
        params = self.params + updates
        loss = np.asarray(problem.value(params), dtype=np.float64)
        self.grad = np.asarray(problem.grad(params), dtype=np.float64)
        self.params = params
        return [params[:, d] for d in range(params.shape[1])], loss, norms(self.grad)

    def finite(self, point: list[Array], loss: Array, gnorm: Array) -> bool:
        """Whether the last step's values are all finite (possibly False when they are)."""
        return _all_finite(loss, gnorm, *point)

    def keep(self, keep: Mask) -> None:
        n = len(keep)
        self.params = np.asarray(self.params[keep], order="F")
        self.grad = np.asarray(self.grad[keep], order="F")
        self.hyper = {k: v[keep] for k, v in self.hyper.items()}
        self.state = _take_rows(self.state, keep, n)


def _take_rows(state: State, keep: Mask, n: int) -> State:
    if isinstance(state, np.ndarray):
        return np.asarray(state[keep], order="F") if state.shape[:1] == (n,) else state
    if isinstance(state, tuple):
        fields = [_take_rows(s, keep, n) for s in state]
        return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields)
    return state


def _all_finite(first: Array, *rest: Array) -> bool:
    """Whether every value is finite, cheaply: a sum is finite only if all its terms are (a
    sum of finite values that overflows only sends the caller to the exact check)."""
    total = float(np.add.reduce(first))
    for column in rest:
        total += 0.0 * float(np.add.reduce(column))  # 0 * inf is NaN
    return math.isfinite(total)


class Batch:
    """``steps`` updates of every row; :meth:`run` returns their :class:`BatchEnd`."""

    def __init__(
        self,
        problem: Problem,
        optimizer: Optimizer,
        hyper: dict[str, Array],
        starts: Array,
        schedule: Schedule | None = None,
    ) -> None:
        self.problem, self.optimizer, self.hyper = problem, optimizer, hyper
        self.starts = np.asarray(starts, dtype=np.float64, order="F")
        self.schedule = schedule if schedule is not None and schedule != CONSTANT else None

    def run(
        self, steps: int, observer: Observer | None = None, cancel: Cancel | None = None
    ) -> BatchEnd:
        n, dim = self.starts.shape
        with np.errstate(all="ignore"):
            loss0 = np.asarray(self.problem.value(self.starts), dtype=np.float64)
            grad0 = np.asarray(self.problem.grad(self.starts), dtype=np.float64, order="F")
            gnorm0 = norms(grad0)
        end = BatchEnd(self.starts.copy(), loss0.copy(), np.full(n, -1))
        bad = ~(np.isfinite(loss0) & np.isfinite(gnorm0))
        end.diverged_at[bad] = 0
        index = np.flatnonzero(~bad)
        if observer is not None:
            observer.step(0, self.starts[:, 0], self.starts[:, 1], loss0)
            if bad.any():
                observer.drop(~bad)
        if index.size == 0:
            return end
        keep0 = ~bad
        params = np.asarray(self.starts[keep0], order="F")
        grad = np.asarray(grad0[keep0], order="F")
        hyper = {k: v[keep0] for k, v in self.hyper.items()}
        stepper = self._stepper(params, grad, hyper)
        prev_loss = loss0[keep0]
        prev = [params[:, d].copy() for d in range(dim)]
        with np.errstate(all="ignore"):
            for k in range(1, steps + 1):
                if cancel is not None and k % 32 == 0 and cancel():
                    raise Cancelled
                stepper, (point, loss, gnorm) = self._step(stepper, k, len(index))
                if not stepper.finite(point, loss, gnorm):
                    ok = np.isfinite(loss) & np.isfinite(gnorm)
                    for c in point:
                        ok &= np.isfinite(c)
                    if not ok.all():
                        gone = index[~ok]
                        end.diverged_at[gone] = k
                        end.loss[gone] = prev_loss[~ok]
                        for d in range(dim):
                            end.point[gone, d] = prev[d][~ok]
                        if observer is not None:
                            observer.step(k, point[0], point[1], loss)
                            observer.drop(ok)
                        index = index[ok]
                        if index.size == 0:
                            return end
                        stepper.keep(ok)
                        point = [c[ok] for c in point]
                        loss, gnorm = loss[ok], gnorm[ok]
                        prev_loss, prev = loss.copy(), [c.copy() for c in point]
                        continue
                if observer is not None:
                    observer.step(k, point[0], point[1], loss)
                prev_loss, prev = loss, point
        end.loss[index] = prev_loss
        for d in range(dim):
            end.point[index, d] = prev[d]
        return end

    def _stepper(self, params: Array, grad: Array, hyper: dict[str, Array]) -> _Columns | _Arrays:
        state = self.optimizer.init(params, hyper)
        surface = self.problem if isinstance(self.problem, Surface) else None
        fast = compile_step(self.optimizer, surface, lean=True) if surface is not None else None
        if fast is None or surface is None:
            return _Arrays(self.optimizer, params, grad, state, hyper)
        columns = hyper_columns(fast, hyper)
        known = {
            name: value
            for name, value in zip(fast.hyper_names, columns, strict=True)
            if isinstance(value, float) and not (name == "lr" and self.schedule is not None)
        }
        fast = compile_step(self.optimizer, surface, known, lean=True) or fast
        return _Columns(fast, params, grad, state, columns)

    def _rates(self, hyper_lr: Column | Array, k: int, n: int) -> Column:
        assert self.schedule is not None
        if isinstance(hyper_lr, float):
            return learning_rate(self.schedule, hyper_lr, k - 1)
        lrs = np.asarray(hyper_lr, dtype=np.float64).reshape(-1)
        return uniform(np.array([learning_rate(self.schedule, float(v), k - 1) for v in lrs]))

    def _step(
        self, stepper: _Columns | _Arrays, k: int, n: int
    ) -> tuple[_Columns | _Arrays, tuple[list[Array], Array, Array]]:
        if isinstance(stepper, _Columns):
            hyper = stepper.h
            if self.schedule is not None:
                hyper = list(hyper)
                at = stepper.fast.hyper_names.index("lr")
                hyper[at] = self._rates(hyper[at], k, n)
            try:
                return stepper, stepper.step(hyper)
            except (ArithmeticError, ValueError):  # Python refused where numpy gives inf/NaN
                stepper = stepper.arrays(self.optimizer)
        lr = None
        if self.schedule is not None:
            rates = self._rates(stepper.hyper["lr"], k, n)
            lr = np.broadcast_to(np.asarray(rates, dtype=np.float64), (n,)).reshape(n, 1)
        result = stepper.step(self.problem, lr)
        return stepper, (result[0], result[1], result[2])
