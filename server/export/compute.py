"""Run a hash's race offline, with the live server's own code, and describe what to draw.

The race is built exactly as the websocket's ``start`` does it (server/live/commands.py): the
same ``ProblemSpec`` and ``RunSpec`` validation, :func:`server.problems.factory.build_problem`,
:func:`server.runs.build_run` and :class:`server.engine.Race` with the state's seed and step
limit, so point ``k`` of an exported run is point ``k`` of the live stream, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from server.engine import Chunk, Race, RunStatus, Stop
from server.errors import FieldError, from_validation
from server.export.scale import ValueScale, value_scale
from server.export.state import ExportState, run_id
from server.optim.registry import get_optimizer
from server.optim.schedules import Schedule
from server.problems.base import Problem
from server.problems.expression import DEFAULT_DOMAIN
from server.problems.factory import Built, build_problem
from server.runs import build_run
from server.schemas import ProblemSpec, RunSpec
from server.timeline import Change, Timeline, check_changes

Array = np.ndarray[Any, np.dtype[np.float64]]
Progress = Callable[[int, int], None]
"""Called with (steps done, total steps) as the race advances."""

GRID_POINTS = 120  # the page's contour grid (surfacecommands.js GRID_POINTS)
BLOCK = 500  # steps advanced between two progress reports


@dataclass(frozen=True)
class SurfacePlot:
    """The surface as the page draws it: a grid, its colour scale, the known minima."""

    title: str
    formula: str
    domain: tuple[tuple[float, float], tuple[float, float]]
    x: Array  # (n,)
    y: Array  # (n,)
    z: Array  # (n, n), z[i, j] = f(x[j], y[i]); NaN where undefined
    minima: list[tuple[float, float, float]]
    scale: ValueScale


@dataclass(frozen=True)
class RunResult:
    """One run's path: ``points[k]`` is ``[x, y, loss]`` after ``k`` updates (all finite)."""

    id: str
    optimizer: str
    title: str  # the optimizer's title ("Adam")
    given: Mapping[str, Any]  # the hyperparameters the hash sets
    hyper: Mapping[str, float]  # all of them, defaults filled in
    schedule: Mapping[str, Any] | None
    noise: float
    points: Array  # (k + 1, 3)
    status: str  # finished, converged or diverged
    stop_step: int  # the step at which the run stopped

    @property
    def label(self) -> str:
        """The legend's words: id, optimizer and the settings the hash gives."""
        parts = [f"{k}={_short(v)}" for k, v in self.given.items()]
        if "lr" not in self.given and "lr" in self.hyper:
            parts.insert(0, f"lr={_short(self.hyper['lr'])}")
        if self.schedule:
            parts.append(f"schedule={self.schedule['name']}")
        if self.noise:
            parts.append(f"noise={_short(self.noise)}")
        return f"{self.id} · {self.title}" + (f" {', '.join(parts)}" if parts else "")


@dataclass(frozen=True)
class RaceResult:
    state: ExportState
    start: tuple[float, float]
    surface: SurfacePlot
    runs: list[RunResult]
    problem: Problem  # what was minimized (the GIF evaluates it per pixel)

    @property
    def last_step(self) -> int:
        return max((len(r.points) - 1 for r in self.runs), default=0)


def _short(v: object) -> str:
    if isinstance(v, float) and not isinstance(v, bool):
        return f"{v:.6g}"
    return str(v)


def problem_of(state: ExportState) -> Built:
    """The surface of ``state``; FieldError on ``mode`` for a network race (not exported yet)."""
    if state.mode != "surface":
        raise FieldError(
            "mode",
            f"export supports surface races; mode={state.mode} races (networks, regression) "
            "cannot be exported yet",
        )
    spec: dict[str, Any] = (
        {"expression": state.expr}
        if state.custom
        else {"surface": state.surface, "params": dict(state.params)}
    )
    try:
        return build_problem(ProblemSpec.model_validate(spec))
    except ValidationError as exc:
        raise _hash_field(from_validation(exc)) from None
    except FieldError as exc:
        raise _hash_field(exc) from None


def _hash_field(exc: FieldError) -> FieldError:
    """A problem error named by its hash field: ``params.kappa`` -> ``p.kappa``, ``expression``
    -> ``expr``."""
    name = exc.field
    if name.startswith("params"):
        name = "p" + name[len("params") :]
    elif name.startswith("expression"):
        name = "expr"
    return FieldError(name, exc.message, exc.position)


def _surface_plot(state: ExportState, built: Built, n: int) -> SurfacePlot:
    problem: Any = built.problem
    info = built.info
    if state.custom:
        domain = state.domain or DEFAULT_DOMAIN
        try:
            x, y, z = problem.grid(n, domain)
        except ValueError as exc:
            raise FieldError("domain", str(exc)) from None
        minima: list[tuple[float, float, float]] = []
        log = False
        title = "Custom formula"
    else:
        (x0, x1), (y0, y1) = info["domain"]
        domain = ((x0, x1), (y0, y1))
        x, y, z = problem.grid(n)
        minima = [(float(a), float(b), float(c)) for a, b, c in info["minima"]]
        log = bool(info.get("log_color"))
        title = str(info["title"])
    (x0, x1), (y0, y1) = domain
    return SurfacePlot(
        title=title,
        formula=str(info.get("formula", state.expr)),
        domain=((float(x0), float(x1)), (float(y0), float(y1))),
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        z=np.asarray(z, dtype=np.float64),
        minima=minima,
        scale=value_scale(np.asarray(z, dtype=np.float64), log, [m[2] for m in minima]),
    )


def build_race(
    state: ExportState, built: Built, *, max_runs: int = 8, init: Array | None = None
) -> tuple[Race, list[dict[str, Any]], Timeline]:
    """The race of ``state`` as the websocket's ``start`` builds it, each run's RunSpec, and
    the timeline of live changes it replays. ``init``: a network's initial weights, shared by
    every run (the start message's ``init_params(seed)``)."""
    if len(state.runs) > max_runs:
        raise FieldError("run", f"At most {max_runs} runs in a race (got {len(state.runs)}).")
    start = state.start if state.start is not None else built.start
    configs = []
    specs = []
    changes: list[Change] = []
    for i, r in enumerate(state.runs):
        for key, value in r.hyper.items():
            if isinstance(value, str):
                raise FieldError(
                    f"run[{i}].hyper.{key}",
                    f"run[{i}] {key}:{value!r} is not a number or true/false",
                )
        raw = {
            "id": run_id(i),
            "optimizer": r.optimizer,
            "hyper": dict(r.hyper),
            "start": list(start) if start is not None else None,
            "schedule": dict(r.schedule) if r.schedule is not None else None,
            "noise": r.noise,
            "changes": state.run_changes(i),
        }
        try:
            spec = RunSpec.model_validate(raw)
            configs.append(build_run(spec, built, start=init))
            changes += check_changes(configs[-1], spec.changes, state.steps)
        except ValidationError as exc:
            raise from_validation(exc, ("run", i)) from None
        except FieldError as exc:
            raise exc.within(f"run[{i}]") from None
        specs.append(raw)
    race = Race(built.problem, configs, seed=state.seed, max_steps=state.steps)
    return race, specs, Timeline(changes)


class _Collector:
    """The race as a stream for :class:`~server.timeline.Timeline`: keeps what it advances."""

    def __init__(self, race: Race) -> None:
        self.race = race
        self._chunks: list[dict[str, Chunk]] = []

    def advance(self, n: int) -> list[Stop]:
        chunks, stops = self.race.advance(n)
        self._chunks.append(chunks)
        return stops

    def set(
        self,
        run: str,
        hyper: Mapping[str, float] | None,
        schedule: Schedule | None,
        noise: float | None,
    ) -> int:
        return self.race.set(run, hyper=hyper, schedule=schedule, noise=noise)

    def take(self) -> dict[str, Chunk]:
        """Everything advanced since the last call, one chunk per run."""
        out: dict[str, list[Chunk]] = {}
        for chunks in self._chunks:
            for run, chunk in chunks.items():
                out.setdefault(run, []).append(chunk)
        self._chunks = []
        return {run: _join(parts) for run, parts in out.items()}


def _join(chunks: list[Chunk]) -> Chunk:
    if len(chunks) == 1:
        return chunks[0]
    return Chunk(
        chunks[0].step,
        np.concatenate([c.params for c in chunks]),
        np.concatenate([c.loss for c in chunks]),
        np.concatenate([c.gnorm for c in chunks]),
    )


def compute(
    state: ExportState,
    *,
    max_steps: int,
    max_runs: int = 8,
    progress: Progress | None = None,
    grid_points: int = GRID_POINTS,
) -> RaceResult:
    """Run the whole race of ``state``; FieldError (naming the hash field) if it is invalid.

    ``progress(done, total)`` is called before the first step and after every block of steps.
    """
    if state.steps > max_steps:
        raise FieldError("steps", f"steps {state.steps} is above the export limit {max_steps}")
    built = problem_of(state)
    race, specs, timeline = build_race(state, built, max_runs=max_runs)
    stream = _Collector(race)
    plot = _surface_plot(state, built, grid_points)
    parts: dict[str, list[Array]] = {c.id: [] for c in race.configs}
    for run, chunk in race.initial_chunks().items():
        parts[run].append(np.column_stack([chunk.params, chunk.loss]))
    total = state.steps
    if progress is not None:
        progress(0, total)
    while not race.done and race.step < total:
        timeline.advance(stream, stream.set, min(BLOCK, total - race.step))
        for run, chunk in stream.take().items():
            parts[run].append(np.column_stack([chunk.params, chunk.loss]))
        if progress is not None:
            progress(race.step, total)
    if progress is not None and race.step < total:
        progress(total, total)  # every run stopped early
    runs = []
    for i, config in enumerate(race.configs):
        points = np.concatenate(parts[config.id]) if parts[config.id] else np.zeros((0, 3))
        finite = np.all(np.isfinite(points), axis=1)
        if not finite.all():  # keep the finite prefix, as /api/trajectory does
            points = points[: int(np.argmin(finite))]
        status = race.status[i]
        if status is RunStatus.RUNNING:  # cannot happen once the race is done; be explicit
            status = RunStatus.FINISHED
        spec = specs[i]
        runs.append(
            RunResult(
                id=config.id,
                optimizer=config.optimizer,
                title=get_optimizer(config.optimizer).spec.title,
                given=dict(spec["hyper"]),
                hyper=dict(config.hyper),
                schedule=config.schedule.to_json() if spec["schedule"] is not None else None,
                noise=config.noise,
                points=points,
                status=str(status),
                stop_step=race.stopped_at[i] if status is not RunStatus.FINISHED else total,
            )
        )
    start = race.configs[0].start
    return RaceResult(state, (float(start[0]), float(start[1])), plot, runs, built.problem)
