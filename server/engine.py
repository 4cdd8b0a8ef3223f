"""Advance a race: a batch of optimizer runs on one problem, one step at a time.

Runs that use the same optimizer share one vectorized ``update`` call. Point ``k`` of a run is the
parameter vector after ``k`` updates; update ``k`` uses the learning rate its schedule gives after
``k - 1`` updates (torch's ``optimizer.step(); scheduler.step()`` order). A change made with
:meth:`Race.set` applies from the next update, whose number :meth:`Race.set` returns.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from server.optim.base import Array, Optimizer, State
from server.optim.registry import get_optimizer, hyper_rows
from server.optim.schedules import Schedule, learning_rate, parse_schedule
from server.problems.base import Problem

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


@dataclass(frozen=True)
class Chunk:
    """Consecutive points of one run: ``params[i]`` is the point of step ``step + i``."""

    step: int
    params: Array  # (k, D)
    loss: Array  # (k,)
    gnorm: Array  # (k,)


@dataclass(frozen=True)
class Stop:
    run: str
    status: RunStatus
    step: int


@dataclass(frozen=True)
class _Record:
    """One update of one group: rows follow ``index``."""

    step: int
    index: tuple[int, ...]
    params: Array
    loss: Array
    gnorm: Array
    finite: Array


@dataclass
class _Group:
    """The running runs of one optimizer, stacked along the batch axis."""

    optimizer: Optimizer
    index: list[int]  # positions in Race.configs
    params: Array
    grad: Array
    state: State
    hyper: dict[str, Array]
    needs_lr: bool = field(default=False)
    noisy: bool = field(default=False)


CONVERGED_GNORM = 1e-8
CONVERGED_STEP = 1e-12


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
        self._loss0 = np.asarray(self.problem.value(start), dtype=np.float64)
        grad0 = np.asarray(self.problem.grad(start), dtype=np.float64)
        self._gnorm0 = np.sqrt(np.einsum("nd,nd->n", grad0, grad0))
        self._groups: list[_Group] = []
        by_name: dict[str, list[int]] = {}
        for i, c in enumerate(self.configs):
            by_name.setdefault(c.optimizer, []).append(i)
        for name, index in by_name.items():
            opt = get_optimizer(name)
            hyper = hyper_rows(name, [self.configs[i].hyper for i in index])
            params = start[index].copy()
            self._groups.append(
                _Group(opt, index, params, grad0[index].copy(), opt.init(params, hyper), hyper)
            )
        self._refresh_schedules()
        first = [
            i for i in range(len(self.configs)) if not np.isfinite(self._loss0[i] + self._gnorm0[i])
        ]
        for i in first:
            self._stop(i, RunStatus.DIVERGED)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.configs]

    @property
    def done(self) -> bool:
        return all(s is not RunStatus.RUNNING for s in self.status)

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
        self._refresh_schedules()
        return self.step + 1

    def advance(self, n: int = 1) -> tuple[dict[str, Chunk], list[Stop]]:
        """Perform up to ``n`` updates of every running run; return the new points and stops."""
        n = max(0, min(n, self.max_steps - self.step))
        if n == 0 or self.done:
            return {}, []
        first = self.step + 1
        records: list[_Record] = []
        stops: list[Stop] = []
        for _ in range(n):
            if not self._groups:
                break
            self.step += 1
            for g in list(self._groups):
                records.append(self._update(g, stops))
        if self.step >= self.max_steps:
            for g in list(self._groups):
                for i in list(g.index):
                    self._stop(i, RunStatus.FINISHED)
                    stops.append(Stop(self.configs[i].id, RunStatus.FINISHED, self.step))
        return self._chunks(first, records), stops

    def _update(self, g: _Group, stops: list[Stop]) -> _Record:
        grad = g.grad
        if g.noisy:
            grad = grad.copy()
            for row, i in enumerate(g.index):
                if self.configs[i].noise > 0.0:
                    noise = self._rngs[i].standard_normal(grad.shape[1])
                    grad[row] += self.configs[i].noise * noise
        hyper = g.hyper
        if g.needs_lr:
            lr = [
                learning_rate(self.configs[i].schedule, float(g.hyper["lr"][row, 0]), self.step - 1)
                for row, i in enumerate(g.index)
            ]
            hyper = {**g.hyper, "lr": np.array(lr)[:, None]}
        hess = self.problem.hessian(g.params) if g.optimizer.spec.needs_hessian else None
        with np.errstate(all="ignore"):
            updates, g.state = g.optimizer.update(grad, g.state, g.params, hyper, hess)
            params = g.params + updates
            loss = np.asarray(self.problem.value(params), dtype=np.float64)
            new_grad = self._gradient(params)
            gnorm = np.sqrt(np.einsum("nd,nd->n", new_grad, new_grad))
            finite = np.isfinite(loss + gnorm)
        g.params, g.grad = params, new_grad
        record = _Record(self.step, tuple(g.index), params, loss, gnorm, finite)
        ended: list[tuple[int, RunStatus]] = []
        if not finite.all():
            ended += [(g.index[r], RunStatus.DIVERGED) for r in np.flatnonzero(~finite)]
        if gnorm.min(initial=np.inf, where=finite) <= CONVERGED_GNORM:
            for r in np.flatnonzero(finite & (gnorm <= CONVERGED_GNORM)):
                size = np.abs(updates[r]).max()
                if size <= CONVERGED_STEP * (1.0 + np.abs(params[r]).max()):
                    ended.append((g.index[r], RunStatus.CONVERGED))
        for i, status in ended:
            self._stop(i, status)
            stops.append(Stop(self.configs[i].id, status, self.step))
        return record

    def _chunks(self, first: int, records: list[_Record]) -> dict[str, Chunk]:
        """Regroup per-step records (one per group and step) into per-run chunks."""
        parts: dict[int, list[tuple[Array, Array, Array]]] = {}
        starts: dict[int, int] = {}
        segments: dict[tuple[int, ...], list[_Record]] = {}
        for rec in records:
            segments.setdefault(rec.index, []).append(rec)
        for index, recs in segments.items():
            params = np.stack([r.params for r in recs], axis=1)  # (n, k, D)
            loss = np.stack([r.loss for r in recs], axis=1)
            gnorm = np.stack([r.gnorm for r in recs], axis=1)
            finite = np.stack([r.finite for r in recs], axis=1)
            for row, i in enumerate(index):
                keep = finite[row]
                if not keep.all():
                    keep = np.cumprod(keep).astype(bool)  # nothing after the first non-finite step
                if keep.any():
                    starts.setdefault(i, recs[0].step)
                    parts.setdefault(i, []).append(
                        (params[row][keep], loss[row][keep], gnorm[row][keep])
                    )
        out: dict[str, Chunk] = {}
        for i, chunk_parts in parts.items():
            p, lo, gn = zip(*chunk_parts, strict=True)
            out[self.configs[i].id] = Chunk(
                starts.get(i, first),
                np.concatenate(p) if len(p) > 1 else p[0],
                np.concatenate(lo) if len(lo) > 1 else lo[0],
                np.concatenate(gn) if len(gn) > 1 else gn[0],
            )
        return out

    def _gradient(self, params: Array) -> Array:
        if self._stochastic is not None:
            return self._stochastic.grad_batch(params, self.step)
        return self.problem.grad(params)

    def _stop(self, i: int, status: RunStatus) -> None:
        self.status[i] = status
        self.stopped_at[i] = self.step
        for g in self._groups:
            if i in g.index:
                keep = [r for r, j in enumerate(g.index) if j != i]
                g.index = [g.index[r] for r in keep]
                g.params, g.grad = g.params[keep], g.grad[keep]
                g.hyper = {k: v[keep] for k, v in g.hyper.items()}
                g.state = _take_rows(g.state, keep, len(keep) + 1)
        self._groups = [g for g in self._groups if g.index]
        self._refresh_schedules()

    def _refresh_schedules(self) -> None:
        for g in self._groups:
            g.needs_lr = any(self.configs[i].schedule != CONSTANT for i in g.index)
            g.noisy = any(self.configs[i].noise > 0.0 for i in g.index)

    def params(self, run_id: str) -> Array | None:
        """The current point of a running run (None once it stopped)."""
        i = self.index_of(run_id)
        for g in self._groups:
            if i in g.index:
                return g.params[g.index.index(i)].copy()
        return None


def _take_rows(state: State, keep: list[int], n: int) -> State:
    """Select rows of every per-run array in an optimizer state (a NamedTuple of arrays)."""
    if isinstance(state, np.ndarray):
        return state[keep] if state.shape[:1] == (n,) else state
    if isinstance(state, tuple):
        fields = [_take_rows(s, keep, n) for s in state]
        return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields)
    return state
