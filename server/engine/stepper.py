"""The interface every execution mode implements, and what the modes share.

A race's runs that use the same optimizer form a group, and a :class:`Stepper` advances a
group. Each mode keeps the group's state in its own form (numpy arrays, Python-float rows, numpy
columns) and hands it over in one canonical form, :class:`GroupState`, when the race moves the
group to another mode (:func:`server.engine.choice.stepper_for`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from server.engine.chunks import Chunk
from server.engine.config import (
    CONSTANT,
    CONVERGED_GNORM,
    CONVERGED_STEP,
    RunConfig,
    RunStatus,
    StochasticProblem,
)
from server.fastpath import Column, Order
from server.optim.base import Array, Optimizer, State
from server.optim.schedules import learning_rate
from server.problems.base import Problem
from server.problems.surfaces.spec import Surface

Kind = Literal["arrays", "rows", "columns"]
End = tuple[int, int, int, RunStatus]
"""A run that stopped during a block: (step, its row at the block's start, its run, how)."""


@dataclass
class Context:
    """What every group of one race reads: the problem, the runs' settings and random draws."""

    problem: Problem
    configs: list[RunConfig]  # the race's own list: live changes show here
    rngs: list[np.random.Generator]
    order: Order  # memory order of (N, D) arrays: "F" (columns contiguous) for small D
    dim: int
    converge: bool = True  # runs stop where they converged (else they go on to max_steps)
    surface: Surface | None = field(init=False)
    stochastic: StochasticProblem | None = field(init=False)

    def __post_init__(self) -> None:
        problem = self.problem
        self.stochastic = problem if isinstance(problem, StochasticProblem) else None
        self.surface = problem if isinstance(problem, Surface) else None

    def evaluate(self, params: Array, step: int) -> tuple[Array, Array, Array]:
        """Loss, gradient (for update ``step + 1``) and gradient norm at ``params``."""
        loss = np.asarray(self.problem.value(params), dtype=np.float64)
        if self.stochastic is not None:
            grad = self.stochastic.grad_batch(params, step)
        else:
            grad = self.problem.grad(params)
        return loss, grad, norms(grad)

    def noisy(self, index: Sequence[int], grad: Array) -> Array:
        """``grad`` (``(N, D)``) plus each noisy run's draw for this update."""
        grad = grad.copy(order="K")
        for row, i in enumerate(index):
            if self.configs[i].noise > 0.0:
                draw = self.rngs[i].standard_normal(grad.shape[1])
                grad[row] += self.configs[i].noise * draw
        return grad

    def rates(self, index: Sequence[int], lr: Array, step: int) -> Array:
        """Update ``step``'s learning rate of each run (``lr``: ``(N, 1)`` base rates)."""
        return np.array(
            [
                learning_rate(self.configs[i].schedule, float(lr[row, 0]), step - 1)
                for row, i in enumerate(index)
            ]
        )

    def noisy_any(self, index: Sequence[int]) -> bool:
        return any(self.configs[i].noise > 0.0 for i in index)

    def scheduled_any(self, index: Sequence[int]) -> bool:
        return any(self.configs[i].schedule != CONSTANT for i in index)


@dataclass
class GroupState:
    """A group in the canonical form: ``(N, D)`` arrays, the optimizer's state of ``(N, ...)``
    arrays, the hyperparameters as ``(N, 1)`` columns; row r is the run ``index[r]``."""

    optimizer: Optimizer
    index: list[int]
    hyper: dict[str, Array]
    params: Array
    grad: Array
    state: State

    def keep(self, keep: list[int], order: Order) -> None:
        """Only the rows ``keep``."""
        n = len(self.index)
        self.index = [self.index[r] for r in keep]
        self.hyper = {k: v[keep] for k, v in self.hyper.items()}
        self.params = np.asarray(self.params[keep], order=order)
        self.grad = np.asarray(self.grad[keep], order=order)
        self.state = take_rows(self.state, keep, n, order)


@dataclass
class Advanced:
    """What a block of steps of one group gave: chunks by run id, the runs that stopped (no
    longer in the group), and the stepper that takes the group over if this one gave up."""

    chunks: dict[str, Chunk]
    ends: list[End]
    replacement: Stepper | None = None


class Stepper(Protocol):
    """One execution mode of one group."""

    kind: Kind

    @property
    def index(self) -> list[int]:
        """The group's running runs (positions in the race's configs), in row order."""
        ...

    def advance(self, first: int, n: int) -> Advanced:
        """Updates ``first`` to ``first + n - 1`` of every run, each up to where it stops."""
        ...

    def set_hyper(self, row: int, hyper: Mapping[str, Array]) -> None:
        """New hyperparameters (``(1, 1)`` columns) for one row from the next update on."""
        ...

    def refresh(self) -> None:
        """Read the runs' noise and schedules again (after a live change)."""
        ...

    def params(self, row: int) -> Array:
        """The current point of one row."""
        ...

    def take_state(self) -> GroupState:
        """The group's state in the canonical form; the stepper is not used afterwards."""
        ...


def settle(
    loss: Array,
    gnorm: Array,
    coords: Array,
    step_and_point: Callable[[int], tuple[Array, Array]],
    scratch: Array | None = None,
    converge: bool = True,
) -> list[tuple[int, RunStatus]]:
    """The rows whose loss, gradient or point (``coords``: the sum of each row's coordinates)
    left the floats, or (if ``converge``) that converged, in row order."""
    total = np.add(loss, gnorm, out=scratch)
    total += coords  # a point can overflow while its loss stays finite (a flat direction)
    # A finite sum means all are finite (an overflowing one only sends us the long way).
    all_finite = math.isfinite(float(np.add.reduce(total)))
    ended: list[tuple[int, RunStatus]] = []
    if all_finite:
        smallest = gnorm.min()
    else:
        finite = np.isfinite(total)
        ended += [(int(r), RunStatus.DIVERGED) for r in np.flatnonzero(~finite)]
        smallest = gnorm.min(initial=np.inf, where=finite)
    if converge and smallest <= CONVERGED_GNORM:
        close = gnorm <= CONVERGED_GNORM  # False where NaN
        for r in np.flatnonzero(close if all_finite else close & np.isfinite(total)):
            if converged(*step_and_point(int(r))):
                ended.append((int(r), RunStatus.CONVERGED))
        ended.sort()
    return ended


def norms(grad: Array) -> Array:
    """Euclidean norm of each row, summed coordinate by coordinate as the fast path does."""
    if grad.shape[-1] > 4:
        result: Array = np.sqrt(np.einsum("nd,nd->n", grad, grad))
        return result
    squares = grad[:, 0] * grad[:, 0]
    for d in range(1, grad.shape[-1]):
        squares += grad[:, d] * grad[:, d]
    return np.sqrt(squares, out=squares)


def converged(updates: Array, params: Array) -> bool:
    """The step is negligible next to the point (checked once the gradient has vanished)."""
    return bool(np.abs(updates).max() <= CONVERGED_STEP * (1.0 + np.abs(params).max()))


def stack(columns: Sequence[Column], n: int) -> Array:
    """Columns (arrays or shared floats) as one column-major ``(n, len(columns))`` array."""
    out = np.empty((n, len(columns)), order="F")
    for d, column in enumerate(columns):
        out[:, d] = column
    return out


def row_of(columns: Sequence[Column], r: int) -> Array:
    return np.array([c[r] if isinstance(c, np.ndarray) else c for c in columns], dtype=np.float64)


def take(columns: list[Column], keep: list[int]) -> list[Column]:
    return [c[keep] if isinstance(c, np.ndarray) else c for c in columns]


def take_rows(state: State, keep: list[int], n: int, order: Order) -> State:
    """Select rows of every per-run array in an optimizer state (a NamedTuple of arrays)."""
    if isinstance(state, np.ndarray):
        return np.asarray(state[keep], order=order) if state.shape[:1] == (n,) else state
    if isinstance(state, tuple):
        fields = [take_rows(s, keep, n, order) for s in state]
        return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields)
    return state
