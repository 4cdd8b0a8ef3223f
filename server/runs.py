"""Validate a client's run description into an engine RunConfig."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from server.engine import RunConfig
from server.errors import FieldError
from server.optim.base import InvalidHyperparameter
from server.optim.registry import get_optimizer, validate_hyper
from server.optim.schedules import Schedule, parse_schedule
from server.problems.factory import Built
from server.schemas import RunSpec


def check_optimizer(name: str, built: Built) -> None:
    try:
        opt = get_optimizer(name)
    except InvalidHyperparameter as exc:
        raise FieldError("optimizer", exc.message) from None
    if opt.spec.needs_hessian and built.kind == "network":
        raise FieldError("optimizer", f"{opt.spec.title} needs the Hessian, which networks lack")


def check_hyper(optimizer: str, hyper: Mapping[str, object]) -> dict[str, float]:
    try:
        return validate_hyper(optimizer, hyper)
    except InvalidHyperparameter as exc:
        field = "optimizer" if exc.field == "optimizer" else f"hyper.{exc.field}"
        raise FieldError(field, exc.message) from None


def check_schedule(schedule: Mapping[str, Any] | None) -> Schedule:
    try:
        return parse_schedule(schedule)
    except InvalidHyperparameter as exc:
        field = exc.field if exc.field.startswith("schedule") else f"schedule.{exc.field}"
        raise FieldError(field, exc.message) from None


def build_run(spec: RunSpec, built: Built, start: np.ndarray | None = None) -> RunConfig:
    """A RunConfig from a validated RunSpec; errors carry fields relative to the run."""
    check_optimizer(spec.optimizer, built)
    hyper = check_hyper(spec.optimizer, spec.hyper)
    schedule = check_schedule(spec.schedule)
    if start is None:
        point = spec.start if spec.start is not None else built.start
        if point is None:
            raise FieldError("start", "this problem needs a start point [x, y]")
        start = np.array(point, dtype=np.float64)
    return RunConfig(spec.id, spec.optimizer, hyper, start, schedule, float(spec.noise))
