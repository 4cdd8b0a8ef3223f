"""Races computed in Python with the live server's own code, point for point.

A race here is the race the page would stream for the same state: the same validation, the same
engine and the same seed (``server.export.compute``, which builds it as the websocket's
``start`` does), so ``paths["a"][k]`` is the point the page draws at step ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from server.export.compute import RaceResult, SurfacePlot, compute
from server.export.state import CUSTOM, ExportState, RunState, format_hash
from server.settings import Settings

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

Array = npt.NDArray[np.float64]
Point = tuple[float, float]
Domain = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True, init=False)
class Run:
    """One optimizer in a race: its name and torch.optim-named hyperparameters.

    >>> Run("adam", lr=0.05)
    Run('adam', lr=0.05)
    >>> Run("sgd", lr=0.01, schedule={"name": "cosine", "T_max": 100}).schedule
    {'name': 'cosine', 'T_max': 100}
    """

    optimizer: str
    hyper: Mapping[str, float | bool]
    schedule: Mapping[str, Any] | None
    noise: float

    def __init__(
        self,
        optimizer: str,
        *,
        schedule: Mapping[str, Any] | None = None,
        noise: float = 0.0,
        **hyper: float | bool,
    ) -> None:
        object.__setattr__(self, "optimizer", optimizer)
        object.__setattr__(self, "hyper", dict(hyper))
        object.__setattr__(self, "schedule", dict(schedule) if schedule is not None else None)
        object.__setattr__(self, "noise", float(noise))

    def __repr__(self) -> str:
        parts = [repr(self.optimizer), *(f"{k}={v!r}" for k, v in self.hyper.items())]
        if self.schedule is not None:
            parts.append(f"schedule={self.schedule!r}")
        if self.noise:
            parts.append(f"noise={self.noise!r}")
        return f"Run({', '.join(parts)})"


class Paths(dict[str, Array]):
    """Run id -> ``(k + 1, 3)`` array. Also indexable by position (``paths[0]``) and by
    optimizer name when one run uses it (``paths["adam"]``).

    >>> p = Paths({"a": np.zeros((1, 3)), "b": np.ones((2, 3))}, ["adam", "sgd"])
    >>> p[1].shape == p["b"].shape == p["sgd"].shape == (2, 3)
    True
    """

    def __init__(self, paths: Mapping[str, Array], optimizers: Sequence[str]) -> None:
        super().__init__(paths)
        self._by_optimizer = {
            name: run
            for name, run in zip(optimizers, paths, strict=True)
            if list(optimizers).count(name) == 1
        }

    def __getitem__(self, key: str | int) -> Array:
        if isinstance(key, int):
            return super().__getitem__(list(self)[key])
        if key not in self and key in self._by_optimizer:
            return super().__getitem__(self._by_optimizer[key])
        return super().__getitem__(key)


@dataclass(frozen=True)
class Event:
    """How a run ended: ``finished`` (ran every step), ``converged`` or ``diverged``."""

    run: str
    event: str
    step: int


@dataclass(frozen=True)
class Result:
    """A computed race. ``paths[id]`` is an ``(k + 1, 3)`` array of ``[x, y, loss]``, row ``k``
    the point after ``k`` updates; run ids are ``a``, ``b``, ... in the order given."""

    state: ExportState
    runs: tuple[Run, ...]
    paths: Paths
    events: list[Event]
    surface: SurfacePlot
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        """The page's URL hash of this race (``http://host/#`` + it opens the same race)."""
        return format_hash(self.state)

    def final(self) -> dict[str, Array]:
        """The last ``[x, y, loss]`` of each run."""
        return {run: path[-1] for run, path in self.paths.items()}

    def figure(self) -> Figure:
        """A Plotly figure: the contour with every path, and the loss of each run per step."""
        from gradscape.figure import race_figure

        return race_figure(self)

    def __repr__(self) -> str:
        ends = ", ".join(f"{e.run}: {e.event} at {e.step}" for e in self.events)
        return f"<gradscape race on {self.surface.title}: {ends}>"


def _state(
    surface: str | None,
    expression: str | None,
    params: Mapping[str, float] | None,
    runs: Sequence[Run],
    steps: int,
    start: Point | None,
    seed: int,
    domain: Domain | None,
) -> ExportState:
    if (surface is None) == (expression is None):
        raise ValueError("give exactly one of surface or expression")
    if not runs:
        raise ValueError("give at least one Run")
    if any(not isinstance(r, Run) for r in runs):
        raise TypeError("runs must be gradscape.Run objects, e.g. Run('adam', lr=0.05)")
    return ExportState(
        surface=surface if surface is not None else CUSTOM,
        params=dict(params or {}),
        expr=expression or "",
        domain=domain,
        start=(float(start[0]), float(start[1])) if start is not None else None,
        seed=seed,
        steps=steps,
        runs=tuple(RunState(r.optimizer, dict(r.hyper), r.schedule, r.noise) for r in runs),
    )


def race(
    surface: str | None = None,
    *,
    runs: Sequence[Run],
    steps: int = 500,
    start: Point | None = None,
    seed: int = 0,
    params: Mapping[str, float] | None = None,
    expression: str | None = None,
    domain: Domain | None = None,
) -> Result:
    """Race optimizers on a surface (or a formula) and return their paths.

    ``surface`` is a name of ``gradscape.surfaces()`` (with ``params`` for its parameters), or
    give ``expression`` instead, a formula in x and y (with an optional plot ``domain``).
    ``start`` defaults to the problem's own start. A run stops early when it converges or
    diverges, exactly as on the page. Bad input raises ``ValueError`` naming the field.

    >>> result = race("rosenbrock", runs=[Run("adam", lr=0.05), Run("momentum", lr=0.0005)],
    ...               steps=300, start=(-1.5, 2), seed=0)
    >>> result.paths["a"].shape
    (301, 3)
    >>> [round(float(v), 4) for v in result.paths["a"][0]]
    [-1.5, 2.0, 12.5]
    >>> [e.event for e in result.events]
    ['finished', 'finished']
    >>> race(expression="x^2 + 3*y^2", runs=[Run("sgd", lr=0.1)], start=(1, 1)).events
    [Event(run='a', event='converged', step=...)]
    """
    state = _state(surface, expression, params, runs, steps, start, seed, domain)
    settings = Settings()
    computed: RaceResult = compute(state, max_steps=settings.max_steps, max_runs=settings.max_runs)
    paths = Paths({r.id: r.points for r in computed.runs}, [r.optimizer for r in runs])
    events = [Event(r.id, r.status, r.stop_step) for r in computed.runs]
    titles = {r.id: r.label for r in computed.runs}
    return Result(state, tuple(runs), paths, events, computed.surface, titles)
