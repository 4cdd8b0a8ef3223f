"""What a race is made of: the runs' descriptions, their statuses and stops, and the limits."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from server.optim.base import Array
from server.optim.schedules import Schedule, parse_schedule
from server.problems.base import Problem

CONSTANT = parse_schedule(None)
CONVERGED_GNORM = 1e-8
CONVERGED_STEP = 1e-12
FAST_ROWS = 8
"""Largest group advanced row by row in Python floats; larger ones go by columns."""
BLOCK_VALUES = 1 << 25
"""Float64 values (points, losses, gradient norms) recorded per block of steps, at most."""


Until = Literal["converged", "max_steps"]
"""Whether a run stops where it converged (its gradient and step vanished), or goes on."""


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
class Stop:
    run: str
    status: RunStatus
    step: int
