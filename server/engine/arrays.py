"""The numpy mode: one vectorized ``optimizer.update`` call per step for the whole group, then
the problem's ``value`` and ``grad``. It serves every problem and optimizer, and is the
reference the compiled modes equal bit for bit.

Arrays of 2D points are column-major, so that an operation between an ``(N, 2)`` array and an
``(N, 1)`` hyperparameter column is one long loop rather than N loops of two.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from server.engine.record import Block, Record
from server.engine.stepper import Advanced, Context, GroupState, Kind, settle
from server.optim.base import Array


class ArraysStepper:
    kind: Kind = "arrays"

    def __init__(self, group: GroupState, ctx: Context) -> None:
        self.group = group
        self.ctx = ctx
        self._record: Record | None = None
        self.refresh()

    @property
    def index(self) -> list[int]:
        return self.group.index

    def refresh(self) -> None:
        self.noisy = self.ctx.noisy_any(self.group.index)
        self.needs_lr = self.ctx.scheduled_any(self.group.index)

    def set_hyper(self, row: int, hyper: Mapping[str, Array]) -> None:
        for name, value in hyper.items():
            self.group.hyper[name][row] = value[0]

    def params(self, row: int) -> Array:
        point: Array = self.group.params[row].copy()
        return point

    def take_state(self) -> GroupState:
        return self.group

    def block(self, first: int, n: int) -> Block:
        g, ctx = self.group, self.ctx
        self._record = Record.reuse(self._record, n, ctx.dim, len(g.index))
        return Block(self._record.first(n, len(g.index)), first, g.index)

    def advance(self, first: int, n: int) -> Advanced:
        block = self.block(first, n)
        with np.errstate(all="ignore"):
            for k in range(n):
                if not self.group.index:
                    break
                self.step(block, k)
        return Advanced(block.chunks(self.ctx.configs), block.ends)

    def step(self, block: Block, k: int, grad: Array | None = None) -> None:
        """Update ``block.first + k`` of the group; ``grad`` is the noisy gradient if already
        drawn. Call within ``np.errstate(all="ignore")``."""
        g, ctx = self.group, self.ctx
        step = block.first + k
        if grad is None:
            grad = ctx.noisy(g.index, g.grad) if self.noisy else g.grad
        hyper = g.hyper
        if self.needs_lr:
            hyper = {**g.hyper, "lr": ctx.rates(g.index, g.hyper["lr"], step)[:, None]}
        needs_hessian = g.optimizer.spec.needs_hessian
        hess = ctx.problem.hessian(g.params) if needs_hessian else None
        updates, g.state = g.optimizer.update(grad, g.state, g.params, hyper, hess)
        params = g.params + updates
        loss, new_grad, gnorm = ctx.evaluate(params, step)
        g.params, g.grad = params, new_grad
        block.put(k, params, loss, gnorm)
        block.done = k + 1
        steps = np.broadcast_to(updates, params.shape)
        coords = np.add.reduce(params, axis=1)
        ended = settle(loss, gnorm, coords, lambda r: (steps[r], params[r]), None, ctx.converge)
        keep = block.stop(k, ended)
        if keep is not None:
            g.keep(keep, ctx.order)
            self.refresh()
