"""The columns mode: the traced code of the rows mode over ``(N,)`` numpy columns, for large
groups. A value the whole group shares (a hyperparameter, the step count) is one float, so a
``where`` on it picks a branch instead of copying arrays, and the code is specialized to the
hyperparameter values every run of the group shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from server.engine.arrays import ArraysStepper
from server.engine.record import Block, Record
from server.engine.stepper import (
    Advanced,
    Context,
    GroupState,
    Kind,
    row_of,
    settle,
    stack,
    take,
)
from server.fastpath import Column, ScalarStep, compile_step, hyper_columns, uniform
from server.optim.base import Array


class ColumnsStepper:
    kind: Kind = "columns"

    def __init__(self, group: GroupState, ctx: Context, fast: ScalarStep) -> None:
        assert ctx.surface is not None
        self.ctx, self.fast, self.optimizer = ctx, fast, group.optimizer
        self._index = list(group.index)
        self.hyper = group.hyper  # (N, 1) columns, as the arrays mode keeps them
        self.p: list[Column] = [np.array(group.params[:, d]) for d in range(ctx.dim)]
        self.g: list[Column] = [np.array(group.grad[:, d]) for d in range(ctx.dim)]
        self.s: list[Column] = fast.columns(group.state)
        self.h: list[Column] = []
        self.step_fn = fast
        self.work: list[Array] = []  # the step's reused temporaries
        self.results: tuple[list[Array], list[Array]] = ([], [])  # returned columns, in turn
        self.turn = 0
        self._record: Record | None = None
        self.refresh()

    @property
    def index(self) -> list[int]:
        return self._index

    def refresh(self) -> None:
        self.noisy = self.ctx.noisy_any(self._index)
        self.needs_lr = self.ctx.scheduled_any(self._index)
        self._specialize()

    def set_hyper(self, row: int, hyper: Mapping[str, Array]) -> None:
        for name, value in hyper.items():
            self.hyper[name][row] = value[0]
        self._specialize()

    def params(self, row: int) -> Array:
        return row_of(self.p, row)

    def take_state(self) -> GroupState:
        n = len(self._index)
        return GroupState(
            self.optimizer,
            self._index,
            self.hyper,
            stack(self.p, n),
            stack(self.g, n),
            self.fast.from_columns(self.s, n, self.ctx.order),
        )

    def _specialize(self) -> None:
        """Compile the group's update for the hyperparameter values all its runs share."""
        assert self.ctx.surface is not None
        fast = self.fast
        self.h = hyper_columns(fast, self.hyper)
        known = {
            name: value
            for name, value in zip(fast.hyper_names, self.h, strict=True)
            if isinstance(value, float) and not (name == "lr" and self.needs_lr)
        }
        self.step_fn = compile_step(self.optimizer, self.ctx.surface, known) or fast
        self._allocate()

    def _allocate(self) -> None:
        """Work and result buffers of N rows for the compiled step."""
        n, step = len(self._index), self.step_fn
        self.work = [np.empty(n) for _ in range(step.buffers)]
        self.results = (
            [np.empty(n) for _ in range(step.carried)],
            [np.empty(n) for _ in range(step.carried)],
        )

    def _keep(self, keep: list[int]) -> None:
        self._index = [self._index[r] for r in keep]
        self.hyper = {k: v[keep] for k, v in self.hyper.items()}
        self.p, self.g = take(self.p, keep), take(self.g, keep)
        self.s, self.h = take(self.s, keep), take(self.h, keep)
        self.noisy = self.ctx.noisy_any(self._index)
        self.needs_lr = self.ctx.scheduled_any(self._index)
        self._allocate()  # the compiled step stays: what the rows shared, the rest still do

    def advance(self, first: int, n: int) -> Advanced:
        self._record = Record.reuse(self._record, n, self.ctx.dim, len(self._index))
        block = Block(self._record.first(n, len(self._index)), first, self._index)
        fallback: ArraysStepper | None = None
        with np.errstate(all="ignore"):
            for k in range(n):
                if not (fallback.index if fallback is not None else self._index):
                    break
                if fallback is not None:
                    fallback.step(block, k)
                else:
                    fallback = self._step(block, k)
        # the point may be a view of the record: let the record go
        self.p = [np.array(column) for column in self.p]
        return Advanced(block.chunks(self.ctx.configs), block.ends, fallback)

    def _step(self, block: Block, k: int) -> ArraysStepper | None:
        """Update ``block.first + k``; the arrays stepper that did it instead if Python floats
        refused a value (it then takes the group over)."""
        ctx, n = self.ctx, len(self._index)
        grad = self.g
        if self.noisy:
            noisy = ctx.noisy(self._index, stack(grad, n))
            grad = [noisy[:, d] for d in range(ctx.dim)]
        hyper = self.h
        if self.needs_lr:
            hyper = hyper.copy()
            rates = ctx.rates(self._index, self.hyper["lr"], block.first + k)
            hyper[self.fast.hyper_names.index("lr")] = uniform(rates)
        targets = block.targets(k)
        record = targets or [np.empty(n) for _ in range(ctx.dim + 2)]
        self.turn ^= 1
        try:
            out: Any = self.step_fn.columns_fn(
                self.p, grad, self.s, hyper, self.work, record + self.results[self.turn]
            )
        except (ArithmeticError, ValueError):  # numpy returns inf or NaN here: let it
            noisy_grad = stack(grad, n)
            arrays = ArraysStepper(self.take_state(), ctx)
            arrays.step(block, k, noisy_grad)
            return arrays
        params, loss, new_grad, gnorm, updates, state = out
        self.p, self.g, self.s = list(params), list(new_grad), list(state)
        if targets is None:
            block.put(k, params, loss, gnorm)
        block.done = k + 1
        scratch = self.work[0] if self.work else None  # free once the step is done
        step_and_point = lambda r: (row_of(updates, r), row_of(params, r))  # noqa: E731
        ended = settle(loss, gnorm, sum(params), step_and_point, scratch, ctx.converge)
        keep = block.stop(k, ended)
        if keep is not None:
            self._keep(keep)
        return None
