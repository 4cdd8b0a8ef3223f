"""The race model: runs on one problem, their steps, stops and live changes.

Point ``k`` of a run is the parameter vector after ``k`` updates; update ``k`` uses the
learning rate its schedule gives after ``k - 1`` updates (torch's ``optimizer.step();
scheduler.step()`` order). A change made with :meth:`Race.set` applies from the next update,
whose number :meth:`Race.set` returns.

Runs that use the same optimizer form a group, which a :class:`~server.engine.stepper.Stepper`
advances; how (numpy arrays, Python-float rows, numpy columns) is decided per block of steps by
:func:`~server.engine.choice.kind_for` and changes no result. Groups never interact, so each
takes a whole block in turn; the race then stops the runs that ended in the order lockstep steps
would give: by step, then group, then row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.random import default_rng  # numpy loads its random module on first use

from server.engine.choice import Mode, default_mode, kind_for, stepper_for
from server.engine.chunks import Chunk, merge
from server.engine.config import BLOCK_VALUES, FAST_ROWS, RunConfig, RunStatus, Stop, Until
from server.engine.rows import Row, RowsStepper
from server.engine.stepper import Context, GroupState, Stepper, norms
from server.fastpath import Order, ScalarStep, compile_step
from server.optim.base import Array
from server.optim.registry import get_optimizer, hyper_rows
from server.optim.schedules import Schedule
from server.problems.base import Problem

_Ended = tuple[int, int, int, int, RunStatus]  # step, group, row, run, how


@dataclass
class _Group:
    fast: ScalarStep | None  # the optimizer's update compiled for the surface, if it compiles
    stepper: Stepper


class Race:
    """A batch of runs on one problem, advanced in lockstep.

    ``mode`` forces an execution mode (tests, benchmarks); by default ``auto``, or ``arrays``
    when the environment says ``GRADSCAPE_FASTPATH=off``. With ``until="max_steps"`` no run
    stops for having converged: it goes on to ``max_steps`` unless it diverges.
    """

    def __init__(
        self,
        problem: Problem,
        runs: Sequence[RunConfig],
        *,
        seed: int = 0,
        max_steps: int = 1000,
        mode: Mode | None = None,
        until: Until = "converged",
    ) -> None:
        if not runs:
            raise ValueError("a race needs at least one run")
        self.problem = problem
        self.configs = list(runs)
        self.seed = seed
        self.max_steps = max_steps
        self.mode: Mode = default_mode() if mode is None else mode
        self.until = until
        self.reset()

    def reset(self) -> None:
        """Back to the starts and step 0, keeping every change made with :meth:`set`."""
        self.step = 0
        self.status = [RunStatus.RUNNING] * len(self.configs)
        self.stopped_at = [0] * len(self.configs)
        rngs = [default_rng([self.seed, i]) for i in range(len(self.configs))]
        start = np.stack([np.asarray(c.start, dtype=np.float64) for c in self.configs])
        order: Order = "F" if start.shape[1] <= 4 else "C"
        self._block = max(1, BLOCK_VALUES // (len(self.configs) * (start.shape[1] + 2)))
        start = np.asarray(start, order=order)
        self._dim = start.shape[1]
        ctx = Context(self.problem, self.configs, rngs, order, self._dim, self.until == "converged")
        self._ctx = ctx
        with np.errstate(all="ignore"):
            self._loss0 = np.asarray(self.problem.value(start), dtype=np.float64)
            # the gradient update 1 uses: on a mini-batch problem, the first batch's
            first = ctx.stochastic.grad_batch(start, 0) if ctx.stochastic else None
            grad0 = np.asarray(
                self.problem.grad(start) if first is None else first,
                dtype=np.float64,
                order=order,
            )
            self._gnorm0 = norms(grad0)
        bad = {int(i) for i in np.flatnonzero(~np.isfinite(self._loss0 + self._gnorm0))}
        self._groups: list[_Group] = []
        by_name: dict[str, list[int]] = {}
        for i, c in enumerate(self.configs):
            if i not in bad:
                by_name.setdefault(c.optimizer, []).append(i)
        for name, index in by_name.items():
            opt = get_optimizer(name)
            hyper = hyper_rows(name, [self.configs[i].hyper for i in index])
            params = np.asarray(start[index], order=order)
            grad = np.asarray(grad0[index], order=order)
            group = GroupState(opt, index, hyper, params, grad, opt.init(params, hyper))
            fast = None
            if ctx.surface is not None and ctx.stochastic is None:
                fast = compile_step(opt, ctx.surface)
            kind = kind_for(self.mode, fast, len(index))
            self._groups.append(_Group(fast, stepper_for(kind, group, ctx, fast)))
        self._stop([(i, RunStatus.DIVERGED) for i in sorted(bad)])

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
        for g in self._groups:
            index = g.stepper.index
            if i in index:
                if hyper is not None:
                    g.stepper.set_hyper(index.index(i), hyper_rows(c.optimizer, [hyper]))
                if schedule is not None or noise is not None:
                    g.stepper.refresh()
        return self.step + 1

    def params(self, run_id: str) -> Array | None:
        """The current point of a running run (None once it stopped)."""
        i = self.index_of(run_id)
        for g in self._groups:
            index = g.stepper.index
            if i in index:
                return g.stepper.params(index.index(i))
        return None

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
        self._finish(stops)
        return merge(parts), stops

    def _advance_block(self, n: int, stops: list[Stop]) -> dict[str, Chunk]:
        """``n`` steps, or fewer if every run stops; the new points of each run, by id."""
        first = self.step + 1
        groups = self._groups
        if len(groups) == 1:  # the common case, shorter
            result = self._in_mode(groups[0]).advance(first, n)
            if result.replacement is not None:
                groups[0].stepper = result.replacement
            if result.ends:
                alone = [(step, 0, row, run, how) for step, row, run, how in result.ends]
                self._end_block(first, n, alone, stops)
            else:
                self.step = first + n - 1
            return result.chunks
        chunks: dict[str, Chunk] = {}
        ended: list[_Ended] = []
        for number, g in enumerate(groups):
            result = self._in_mode(g).advance(first, n)
            if result.replacement is not None:
                g.stepper = result.replacement
            chunks.update(result.chunks)
            ended += [(step, number, row, run, how) for step, row, run, how in result.ends]
        self._end_block(first, n, ended, stops)
        return chunks

    def _in_mode(self, g: _Group) -> Stepper:
        """The group's stepper, moved to the mode its size asks for."""
        kind = kind_for(self.mode, g.fast, len(g.stepper.index))
        if kind != g.stepper.kind:
            g.stepper = stepper_for(kind, g.stepper.take_state(), self._ctx, g.fast)
        return g.stepper

    def _end_block(self, first: int, n: int, ended: list[_Ended], stops: list[Stop]) -> None:
        """Stop the runs that ended in lockstep order; the step counter to the block's end."""
        if not ended:
            self.step = first + n - 1
            return
        self._groups = [g for g in self._groups if g.stepper.index]
        ended.sort()
        last = first + n - 1 if self._groups else ended[-1][0]
        for step in sorted({e[0] for e in ended}):
            self.step = step
            stops += self._stop([(run, how) for at, _, _, run, how in ended if at == step])
        self.step = last

    def _stop(self, ended: Sequence[tuple[int, RunStatus]]) -> list[Stop]:
        """Mark these runs stopped at this step (their groups have let them go)."""
        for i, status in ended:
            self.status[i] = status
            self.stopped_at[i] = self.step
        return [Stop(self.configs[i].id, status, self.step) for i, status in ended]

    def _finish(self, stops: list[Stop]) -> None:
        if self.step >= self.max_steps and self._groups:
            running = [i for g in self._groups for i in g.stepper.index]
            self._groups = []
            stops += self._stop([(i, RunStatus.FINISHED) for i in running])

    # -- for advance_together ------------------------------------------------------------------

    def batch_rows(self, n: int) -> list[tuple[ScalarStep, list[Row]]] | None:
        """The rows of every group if :func:`~server.engine.advance_together` can take this
        race's next ``n`` steps (none is fine): each group runs in Python floats, without
        noise or a schedule, and ``n`` fits in one block. None otherwise."""
        if not 0 <= n <= self._block or not self._groups or self.until != "converged":
            return None
        batch: list[tuple[ScalarStep, list[Row]]] = []
        for g in self._groups:
            stepper = g.stepper
            if not isinstance(stepper, RowsStepper) or len(stepper.rows) > FAST_ROWS:
                if kind_for(self.mode, g.fast, len(stepper.index)) != "rows":
                    return None
                stepper = self._in_mode(g)
                assert isinstance(stepper, RowsStepper)
            if not stepper.plain:
                return None
            batch.append((stepper.fast, stepper.rows))
        return batch

    def end_batch(
        self, n: int, ends: Mapping[int, tuple[int, RunStatus]], recorded: Mapping[int, Array]
    ) -> tuple[dict[str, Chunk], list[Stop]]:
        """After :func:`~server.engine.advance_together` stepped this race's rows ``n`` times
        (by ``id`` of the row: its points as a ``(D + 2, k)`` table, and where and how it
        stopped): the chunks and stops, exactly as :meth:`advance` would have returned them."""
        first = self.step + 1
        chunks: dict[str, Chunk] = {}
        ended: list[_Ended] = []
        configs = self.configs
        for number, g in enumerate(self._groups):
            stepper = g.stepper
            assert isinstance(stepper, RowsStepper)
            stopped = False
            for row in stepper.rows:
                key = id(row)
                points = recorded.get(key)
                if points is not None:
                    chunks[configs[row.run].id] = Chunk.of_table(first, points)
                if ends and key in ends:
                    step, how = ends[key]
                    ended.append((step, number, stepper.rows.index(row), row.run, how))
                    stopped = True
            if stopped:
                stepper.keep({run for _, at, _, run, _ in ended if at == number})
        stops: list[Stop] = []
        self._end_block(first, n, ended, stops)
        self._finish(stops)
        return chunks, stops
