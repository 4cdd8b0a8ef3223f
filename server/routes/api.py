"""REST routes: thin handlers that parse, call the core and serialize."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request

from server.engine import Race, RunStatus
from server.errors import FieldError
from server.jsonenc import ORJSONResponse
from server.optim.registry import OPTIMIZERS
from server.optim.schedules import SCHEDULES
from server.problems.expression import DEFAULT_DOMAIN, EXAMPLES
from server.problems.factory import build_expression, build_surface
from server.problems.surfaces import SURFACES
from server.runs import build_run
from server.schemas import ExpressionGridRequest, RunSpec, TrajectoryRequest
from server.settings import Settings

router = APIRouter(prefix="/api", default_response_class=ORJSONResponse)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _check_grid(n: int, settings: Settings) -> None:
    if n > settings.max_grid:
        raise FieldError("n", f"n {n} is above the limit {settings.max_grid}")


@router.get("/surfaces")
def surfaces() -> ORJSONResponse:
    return ORJSONResponse([spec.to_json() for spec in SURFACES.values()])


@router.get("/surfaces/{name}/grid")
def surface_grid(
    name: str, request: Request, n: Annotated[int, Query(ge=2)] = 200
) -> ORJSONResponse:
    _check_grid(n, _settings(request))
    params: dict[str, float] = {}
    for key, raw in request.query_params.items():
        if key == "n":
            continue
        try:
            value = float(raw)
        except ValueError:
            raise FieldError(key, f"{key} must be a number, got {raw!r}") from None
        if not np.isfinite(value):
            raise FieldError(key, f"{key} must be a finite number")
        params[key] = value
    built = build_surface(name, params)
    surface = built.problem
    x, y, z = surface.grid(n)  # type: ignore[attr-defined]
    return ORJSONResponse({"x": x, "y": y, "z": z})


@router.get("/optimizers")
def optimizers() -> ORJSONResponse:
    return ORJSONResponse([opt.spec.to_json() for opt in OPTIMIZERS.values()])


@router.get("/schedules")
def schedules() -> ORJSONResponse:
    return ORJSONResponse([spec.to_json() for spec in SCHEDULES.values()])


@router.post("/trajectory")
def trajectory(body: TrajectoryRequest, request: Request) -> ORJSONResponse:
    settings = _settings(request)
    if body.steps > settings.max_trajectory_steps:
        raise FieldError(
            "steps", f"steps {body.steps} is above the limit {settings.max_trajectory_steps}"
        )
    try:
        spec = body.problem()
    except ValueError as exc:
        raise FieldError("surface", str(exc)) from None
    if spec.surface is not None:
        try:
            built = build_surface(spec.surface, {k: float(v) for k, v in spec.params.items()})
        except FieldError as exc:
            raise (
                exc if exc.field == "surface" else FieldError("surface_" + exc.field, exc.message)
            ) from None
    else:
        built = build_expression(spec.expression or "")
    run = RunSpec(
        id="run",
        optimizer=body.optimizer,
        hyper=body.hyper,
        start=body.start,
        schedule=body.schedule,
        noise=body.noise,
    )
    race = Race(
        built.problem, [build_run(run, built)], seed=body.seed, max_steps=max(body.steps, 1)
    )
    first = race.initial_chunks().get("run")
    if first is None:
        return ORJSONResponse({"points": [], "status": "diverged", "steps": 0})
    chunks, _ = race.advance(body.steps)
    rest = chunks.get("run")
    points = [np.column_stack([first.params, first.loss])]
    if rest is not None:
        points.append(np.column_stack([rest.params, rest.loss]))
    everything = np.concatenate(points)
    diverged = race.status[0] is RunStatus.DIVERGED
    return ORJSONResponse(
        {
            "points": everything,
            "status": "diverged" if diverged else "finished",
            "steps": len(everything) - 1,
        }
    )


@router.post("/expression/grid")
def expression_grid(body: ExpressionGridRequest, request: Request) -> ORJSONResponse:
    _check_grid(body.n, _settings(request))
    built = build_expression(body.expression)
    info = dict(built.info)
    domain = body.domain if body.domain is not None else info.get("domain", DEFAULT_DOMAIN)
    (x0, x1), (y0, y1) = domain
    if not (x0 < x1 and y0 < y1):
        raise FieldError("domain", "domain must be [[x0, x1], [y0, y1]] with x0 < x1 and y0 < y1")
    x, y, z = built.problem.grid(body.n, ((x0, x1), (y0, y1)))  # type: ignore[attr-defined]
    return ORJSONResponse({**info, "domain": [[x0, x1], [y0, y1]], "x": x, "y": y, "z": z})


@router.get("/expression/examples")
def expression_examples() -> ORJSONResponse:
    return ORJSONResponse(list(EXAMPLES))
