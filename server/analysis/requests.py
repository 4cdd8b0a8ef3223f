"""What clients send to the analysis endpoints, and the checked problem and run they describe.

Shapes are checked by pydantic (NaN and Infinity refused); meanings (an optimizer, its
hyperparameters, the caps) by :func:`problem_of` and :func:`check_caps`, with errors naming the
field as the request spells it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, JsonValue, StrictBool, model_validator

from server.errors import FieldError
from server.optim.base import InvalidHyperparameter
from server.optim.registry import OPTIMIZERS, get_optimizer
from server.optim.schedules import Schedule
from server.optim.validation import SANITY_LIMIT
from server.problems.expression import DEFAULT_DOMAIN
from server.problems.factory import Built, build_expression, build_surface
from server.runs import check_hyper, check_schedule
from server.schemas import MAX_PARAMS, Bounded, HyperValue, Number, Point, Strict, WholeNumber

MAX_CELLS = 250 * 250
MAX_CELL_STEPS = 250 * 250 * 2000
MAX_STEPS = 20_000
MAX_LRS = 256
MAX_TRIALS = 64
MAX_STARTS = 16
MAX_COORDINATE = 1e6
MAX_TUNE_UPDATES = 50_000_000

CELL_STEPS_RULE = f"n * n * steps <= {MAX_CELL_STEPS}"
ORDERED_LRS_RULE = "lr_min < lr_max"
LearningRate = Annotated[Number, Field(ge=0.0, le=SANITY_LIMIT)]
PositiveRate = Annotated[Number, Field(gt=0.0, le=SANITY_LIMIT)]


class ProblemFields(Strict):
    surface: str | None = Field(default=None, max_length=64)
    params: dict[str, Number] = Field(default_factory=dict, max_length=MAX_PARAMS)
    expression: str | None = Field(default=None, max_length=100_000)

    @model_validator(mode="after")
    def one_problem(self) -> ProblemFields:
        if (self.surface is None) == (self.expression is None):
            raise ValueError("give exactly one of surface or expression")
        return self


class RunFields(ProblemFields):
    optimizer: str = Field(default="adam", max_length=32)
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    schedule: dict[str, Any] | None = None
    steps: WholeNumber = Field(default=500, ge=0, le=MAX_STEPS)
    tol: Number = Field(default=1e-3, gt=0, le=1e6)


class BasinRequest(RunFields):
    n: WholeNumber = Field(
        default=100,
        ge=2,
        le=int(MAX_CELLS**0.5),
        description=f"Cells per side; {CELL_STEPS_RULE}.",
        json_schema_extra={"x-gradscape-rules": [CELL_STEPS_RULE]},
    )
    domain: tuple[Bounded, Bounded] | None = Field(
        default=None,
        description="[[x0, x1], [y0, y1]] with x0 < x1 and y0 < y1 (default: the problem's own)",
        json_schema_extra={"x-gradscape-rules": ["x0 < x1", "y0 < y1"]},
    )


class SweepRequest(RunFields):
    start: Point | None = None
    lrs: list[LearningRate] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LRS,
        description="The learning rates, in place of lr_min, lr_max and n.",
    )
    lr_min: PositiveRate = Field(
        default=1e-5, json_schema_extra={"x-gradscape-rules": [ORDERED_LRS_RULE]}
    )
    lr_max: PositiveRate = Field(
        default=10.0, json_schema_extra={"x-gradscape-rules": [ORDERED_LRS_RULE]}
    )
    n: WholeNumber = Field(default=64, ge=2, le=MAX_LRS)


TUNE_RULES: list[JsonValue] = [
    "every key of hyper is one of optimizers",
    f"optimizers x trials (at least 3 with second) x starts x steps <= {MAX_TUNE_UPDATES}",
    "criterion steps needs a problem that lists its minima (not a formula)",
    ORDERED_LRS_RULE,
]


class TuneRequest(ProblemFields):
    optimizers: list[str] = Field(
        default_factory=lambda: list(OPTIMIZERS), min_length=1, max_length=len(OPTIMIZERS)
    )
    hyper: dict[str, dict[str, HyperValue]] = Field(
        default_factory=dict,
        max_length=len(OPTIMIZERS),
        description="Fixed hyperparameters per optimizer (the tuning sets lr, and with second "
        "the main other one, over them).",
    )
    start: Point | None = None
    starts: Literal["current", "random"] = "current"
    n_starts: WholeNumber = Field(default=4, ge=1, le=MAX_STARTS)
    seed: WholeNumber = Field(default=0, ge=0, le=2**32 - 1)
    trials: WholeNumber = Field(default=16, ge=1, le=MAX_TRIALS)
    steps: WholeNumber = Field(default=500, ge=1, le=MAX_STEPS)
    criterion: Literal["steps", "final_loss"] = "steps"
    tol: Number = Field(default=1e-3, gt=0, le=1e6)
    lr_min: PositiveRate = Field(default=1e-4)
    lr_max: PositiveRate = Field(default=1.0)
    second: StrictBool = False

    model_config = ConfigDict(json_schema_extra={"x-gradscape-rules": TUNE_RULES})


@dataclass(frozen=True)
class Problem:
    built: Built
    domain: tuple[tuple[float, float], tuple[float, float]]
    minima: list[tuple[float, float, float]]

    @property
    def best(self) -> float | None:
        """The lowest listed minimum's value (f*), if any is listed."""
        return min((m[2] for m in self.minima), default=None)


def problem_of(body: ProblemFields) -> Problem:
    if body.surface is not None:
        built = build_surface(body.surface, {k: float(v) for k, v in body.params.items()})
    else:
        built = build_expression(body.expression or "")
    info = built.info
    (x0, x1), (y0, y1) = info.get("domain", DEFAULT_DOMAIN)
    minima = [(float(m[0]), float(m[1]), float(m[2])) for m in info.get("minima") or []]
    return Problem(built, ((float(x0), float(x1)), (float(y0), float(y1))), minima)


def check_domain(
    domain: tuple[Point, Point] | None, fallback: Problem
) -> tuple[tuple[float, float], tuple[float, float]]:
    if domain is None:
        return fallback.domain
    (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    if not (x0 < x1 and y0 < y1):
        raise FieldError("domain", "domain must be [[x0, x1], [y0, y1]] with x0 < x1 and y0 < y1")
    if max(abs(x0), abs(x1), abs(y0), abs(y1)) > MAX_COORDINATE:
        raise FieldError("domain", f"domain bounds must lie within ±{MAX_COORDINATE:g}")
    return (x0, x1), (y0, y1)


def check_run(
    optimizer: str, hyper: dict[str, object], schedule: dict[str, Any] | None
) -> tuple[dict[str, float], Schedule]:
    try:
        opt = get_optimizer(optimizer)
    except InvalidHyperparameter as exc:
        raise FieldError("optimizer", exc.message) from None
    del opt
    return check_hyper(optimizer, hyper), check_schedule(schedule)


def check_steps(steps: int) -> None:
    if steps > MAX_STEPS:
        raise FieldError("steps", f"steps {steps} is above the limit {MAX_STEPS}")


def start_of(start: Point | None, problem: Problem) -> np.ndarray:
    point = start if start is not None else problem.built.start
    if point is None:
        raise FieldError("start", "this problem needs a start point [x, y]")
    return np.array([float(point[0]), float(point[1])])
