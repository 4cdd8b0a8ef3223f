"""The rows mode: each run of a group in Python floats, by code traced once from the same
optimizer and surface (:mod:`server.fastpath`): microseconds per update instead of tens of
microseconds of numpy call overhead. Each run takes the whole block before the next."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from server.engine.chunks import Chunk
from server.engine.config import CONSTANT, CONVERGED_GNORM, CONVERGED_STEP, RunStatus
from server.engine.stepper import Advanced, Context, End, GroupState, Kind, converged
from server.fastpath import LoopFn, ScalarStep, StepOut, compile_step, hyper_row
from server.optim.base import Array, Optimizer
from server.optim.schedules import Schedule, learning_rate

LOOP_STEPS = 16
"""From this many updates on, a run alone takes them in one call of the compiled loop."""


class Holder(Protocol):
    """Columns that hold some rows' state for a while (:mod:`server.engine.together`)."""

    def release(self) -> None: ...

    def set_hyper(self, row: Row) -> None: ...


@dataclass
class Row:
    """One run of a group in Python floats."""

    run: int  # position in the race's configs
    params: tuple[float, ...]
    grad: tuple[float, ...]
    state: tuple[float, ...]
    hyper: list[float]
    points: list[tuple[float, ...]] = field(default_factory=list)
    noise: float = 0.0
    schedule: Schedule | None = None  # None: constant
    held: Holder | None = None  # while set, params, grad and state live there, not here

    def own(self) -> None:
        """Take the state back from the columns holding it, before using it."""
        if self.held is not None:
            self.held.release()


class RowsStepper:
    kind: Kind = "rows"

    def __init__(self, group: GroupState, ctx: Context, fast: ScalarStep) -> None:
        self.ctx, self.fast, self.optimizer = ctx, fast, group.optimizer
        self.hyper = group.hyper
        states = fast.flatten(group.state)
        self.rows = [
            Row(
                i,
                tuple(group.params[r].tolist()),
                tuple(group.grad[r].tolist()),
                states[r],
                hyper_row(fast, group.hyper, r),
            )
            for r, i in enumerate(group.index)
        ]
        self._index = list(group.index)
        self._loops: dict[tuple[float, ...], LoopFn] = {}
        self.plain = True
        """No run of the group has noise or a schedule."""
        self.refresh()

    @property
    def index(self) -> list[int]:
        return self._index

    def refresh(self) -> None:
        for row in self.rows:
            config = self.ctx.configs[row.run]
            row.noise = config.noise
            row.schedule = None if config.schedule == CONSTANT else config.schedule
        self.plain = not any(row.noise > 0.0 or row.schedule is not None for row in self.rows)

    def set_hyper(self, row: int, hyper: Mapping[str, Array]) -> None:
        for name, value in hyper.items():
            self.hyper[name][row] = value[0]
        r = self.rows[row]
        r.hyper = hyper_row(self.fast, self.hyper, row)
        if r.held is not None:
            r.held.set_hyper(r)

    def params(self, row: int) -> Array:
        self.rows[row].own()
        return np.array(self.rows[row].params)

    def take_state(self) -> GroupState:
        for row in self.rows:
            row.own()
        order = self.ctx.order
        return GroupState(
            self.optimizer,
            self.index,
            self.hyper,
            np.array([r.params for r in self.rows], order=order),
            np.array([r.grad for r in self.rows], order=order),
            self.fast.unflatten([r.state for r in self.rows], order),
        )

    def keep(self, gone: set[int]) -> None:
        """Only the runs not in ``gone``."""
        keep = [r for r, row in enumerate(self.rows) if row.run not in gone]
        self.rows = [self.rows[r] for r in keep]
        self._index = [row.run for row in self.rows]
        self.hyper = {k: v[keep] for k, v in self.hyper.items()}
        self.refresh()

    def advance(self, first: int, n: int) -> Advanced:
        ends: list[End] = []
        chunks: dict[str, Chunk] = {}
        configs = self.ctx.configs
        for r, row in enumerate(self.rows):
            end = self.row_steps(row, first, n)
            if end is not None:
                ends.append((end[0], r, row.run, end[1]))
            if row.points:
                chunks[configs[row.run].id] = Chunk.of_rows(first, row.points, self.ctx.dim)
                row.points = []
        if ends:
            self.keep({run for _, _, run, _ in ends})
        return Advanced(chunks, ends)

    def row_steps(self, row: Row, first: int, n: int) -> tuple[int, RunStatus] | None:
        """Updates ``first`` to ``first + n - 1`` of one run; where and how it stopped."""
        row.own()
        if n >= LOOP_STEPS and row.noise == 0.0 and row.schedule is None:
            return self._loop(row, first, n)
        return self._steps(row, first, n)

    def _loop(self, row: Row, first: int, n: int) -> tuple[int, RunStatus] | None:
        """The updates by the compiled loop, which returns only where something happened."""
        loop = self._loop_for(row)
        put = row.points.append
        gtol = CONVERGED_GNORM if self.ctx.converge else -math.inf
        step, end = first, first + n
        while step < end:
            with np.errstate(all="ignore"):
                done, how, row.params, row.grad, row.state = loop(
                    row.params,
                    row.grad,
                    row.state,
                    row.hyper,
                    end - step,
                    put,
                    gtol,
                    CONVERGED_STEP,
                )
            step += done
            if how == "diverged":
                return step - 1, RunStatus.DIVERGED
            if how == "converged":
                return step - 1, RunStatus.CONVERGED
            if how == "error":  # update `step` is for numpy
                stopped = self._steps(row, step, 1)
                if stopped is not None:
                    return stopped
                step += 1
        return None

    def _loop_for(self, row: Row) -> LoopFn:
        """The compiled loop specialized to the run's hyperparameters but its learning rate
        (whatever they decide is then decided once, at compile time)."""
        key = tuple(row.hyper)
        loop = self._loops.get(key)
        if loop is None:
            assert self.ctx.surface is not None
            names = self.fast.hyper_names
            known = {k: v for k, v in zip(names, row.hyper, strict=True) if k != "lr"}
            compiled = compile_step(self.optimizer, self.ctx.surface, known) or self.fast
            loop = self._loops[key] = compiled.loop_fn
        return loop

    def _steps(self, row: Row, first: int, n: int) -> tuple[int, RunStatus] | None:
        """The updates one call of the compiled step each (noise and schedules allowed)."""
        fast = self.fast
        fn = fast.fn
        points = row.points
        rng = self.ctx.rngs[row.run] if row.noise > 0.0 else None
        lr = fast.hyper_names.index("lr") if row.schedule is not None else -1
        converge = self.ctx.converge
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
                    out = self.numpy_row(row, grad, hyper, step)
            params, loss, row.grad, gnorm, updates, row.state = out
            row.params = params
            if not math.isfinite(sum(params, loss + gnorm)):
                return step, RunStatus.DIVERGED
            points.append((*params, loss, gnorm))
            if (
                converge
                and gnorm <= CONVERGED_GNORM
                and converged(np.array(updates), np.array(params))
            ):
                return step, RunStatus.CONVERGED
        return None

    def numpy_row(
        self, row: Row, grad: Sequence[float], hyper: Sequence[float], step: int
    ) -> StepOut:
        """One update done by numpy, for the values Python floats refuse."""
        fast = self.fast
        params = np.array([row.params])
        rows = {name: np.array([[v]]) for name, v in zip(fast.hyper_names, hyper, strict=True)}
        state = fast.unflatten([row.state], "C")
        optimizer: Optimizer = self.optimizer
        updates, state = optimizer.update(np.array([grad]), state, params, rows, None)
        new = params + updates
        loss, new_grad, gnorm = self.ctx.evaluate(new, step)
        return (
            tuple(new[0].tolist()),
            float(loss[0]),
            tuple(new_grad[0].tolist()),
            float(gnorm[0]),
            tuple(np.broadcast_to(updates, new.shape)[0].tolist()),
            fast.flatten(state)[0],
        )
