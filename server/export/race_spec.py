"""A hash's race as the exported scripts write it down: the problem, and each run's start,
checked settings and timeline of live changes, validated exactly as the live ``start`` does it
(:func:`server.export.compute.build_race`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.export.compute import build_race, problem_of
from server.export.pysource import float_text
from server.export.state import ExportState, format_hash
from server.optim.registry import get_optimizer
from server.optim.schedules import CONSTANT, Schedule
from server.problems.expression import Expression
from server.problems.factory import Built
from server.problems.surfaces import Surface
from server.timeline import Change

CSV_DOC = (
    "one row a point, `run,optimizer,step,x,y,loss` (the header first), floats written as "
    "Python's repr (round-trip exact): what `gradscape export --format csv` writes"
)


@dataclass(frozen=True)
class ScriptRun:
    index: int  # position in the race: its noise generator is default_rng([seed, index])
    id: str
    optimizer: str
    title: str
    start: tuple[float, ...]  # () for a network: every run starts from the same weights
    hyper: Mapping[str, float]  # every hyperparameter, checked
    schedule: Schedule  # CONSTANT for none
    noise: float
    changes: list[Change]  # in the order they apply


@dataclass(frozen=True)
class ScriptRace:
    state: ExportState
    built: Built
    runs: list[ScriptRun]

    @property
    def hash(self) -> str:
        return format_hash(self.state)

    @property
    def steps(self) -> int:
        return self.state.steps

    @property
    def seed(self) -> int:
        return self.state.seed

    @property
    def surface(self) -> Surface | None:
        problem = self.built.problem
        return problem if isinstance(problem, Surface) else None

    @property
    def expression(self) -> Expression | None:
        problem = self.built.problem
        return problem if isinstance(problem, Expression) else None

    @property
    def optimizers(self) -> list[str]:
        """The optimizers used, each once, in the order of the runs."""
        return list(dict.fromkeys(r.optimizer for r in self.runs))

    @property
    def needs_hessian(self) -> bool:
        return any(get_optimizer(n).spec.needs_hessian for n in self.optimizers)

    def schedules(self) -> list[str]:
        """The schedules (other than constant) any run uses, at its start or after a change."""
        names = []
        for r in self.runs:
            names.append(r.schedule.name)
            names += [c.schedule.name for c in r.changes if c.schedule is not None]
        return [n for n in dict.fromkeys(names) if n != CONSTANT.name]

    @property
    def problem_title(self) -> str:
        if self.expression is not None:
            return f"f(x, y) = {self.expression.formula}"
        assert self.surface is not None
        spec = self.surface.spec
        return f"{spec.title}: {spec.formula}"


def script_race(state: ExportState, *, max_runs: int = 8) -> ScriptRace:
    """The race of ``state`` (FieldError naming the hash field if it is invalid)."""
    built = problem_of(state)
    race, _, timeline = build_race(state, built, max_runs=max_runs)
    runs = []
    for i, config in enumerate(race.configs):
        runs.append(
            ScriptRun(
                index=i,
                id=config.id,
                optimizer=config.optimizer,
                title=get_optimizer(config.optimizer).spec.title,
                start=(float(config.start[0]), float(config.start[1])),
                hyper=dict(config.hyper),
                schedule=config.schedule,
                noise=config.noise,
                changes=[c for c in timeline.pending if c.run == config.id],
            )
        )
    return ScriptRace(state, built, runs)


def literal(value: Any) -> str:
    """Python source for a value of the race's data (dicts, tuples, floats exact)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return repr(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def schedule_literal(schedule: Schedule) -> str:
    """``None`` for a constant rate, else ``("cosine", {...})``."""
    if schedule.name == CONSTANT.name:
        return "None"
    return literal((schedule.name, dict(schedule.params)))
