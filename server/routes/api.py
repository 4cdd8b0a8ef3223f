"""REST routes: thin handlers that parse, call the core and serialize."""

from __future__ import annotations

import gzip
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query, Request, Response

from server.errors import FieldError
from server.jsonenc import ORJSONResponse, dumps
from server.optim.registry import OPTIMIZERS
from server.optim.schedules import SCHEDULES
from server.problems.expression import DEFAULT_DOMAIN, EXAMPLES
from server.problems.factory import build_expression, build_regression, build_surface
from server.problems.nn.regression import RegressionProblem
from server.problems.surfaces import SURFACES
from server.schemas import (
    ExpressionGridRequest,
    RegressionRequest,
    TrajectoryRequest,
    settings_maximum,
)
from server.settings import Settings
from server.trajectory import trajectory as compute_trajectory

router = APIRouter(prefix="/api", default_response_class=ORJSONResponse)
QUICK_GZIP_FROM = 64 * 1024
TRAJECTORY_RULE = (
    "One run, computed at once. `points[0]` is the start and `points[k]` the point after k "
    "updates. The run stops at the first non-finite loss or gradient (status `diverged`; the "
    "non-finite point is not included). With `until: converged` (the default) it also stops at "
    "the first step whose gradient norm is at most 1e-8 and whose step is at most 1e-12 times "
    "(1 + the largest coordinate), that point included (status `converged`); with "
    "`until: max_steps` it goes on regardless. A run that did all `steps` is `finished`."
)


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
    name: Annotated[str, Path(description="A surface of `GET /api/surfaces`.")],
    request: Request,
    n: Annotated[int, Query(ge=2, json_schema_extra=settings_maximum("max_grid"))] = 200,
    pad: Annotated[
        float,
        Query(
            ge=0.0,
            le=0.5,
            description="Widen the domain by this fraction of its span on each side.",
        ),
    ] = 0.0,
) -> ORJSONResponse:
    """``z[i][j] = f(x[j], y[i])`` on an n x n grid over the surface's domain (widened by ``pad``,
    as the page pads its axes); the surface's parameters (``GET /api/surfaces``) go in the query,
    e.g. ``?kappa=10``."""
    _check_grid(n, _settings(request))
    params: dict[str, float] = {}
    for key, raw in request.query_params.items():
        if key in ("n", "pad"):
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
    (x0, x1), (y0, y1) = surface.spec.domain  # type: ignore[attr-defined]
    dx, dy = pad * (x1 - x0), pad * (y1 - y0)
    x, y, z = surface.grid(n, ((x0 - dx, x1 + dx), (y0 - dy, y1 + dy)))  # type: ignore[attr-defined]
    return ORJSONResponse({"x": x, "y": y, "z": z})


@router.get("/optimizers")
def optimizers() -> ORJSONResponse:
    return ORJSONResponse([opt.spec.to_json() for opt in OPTIMIZERS.values()])


@router.get("/schedules")
def schedules() -> ORJSONResponse:
    return ORJSONResponse([spec.to_json() for spec in SCHEDULES.values()])


@router.post("/trajectory", description=TRAJECTORY_RULE)
def trajectory(body: TrajectoryRequest, request: Request) -> Response:
    settings = _settings(request)
    return quick_json(compute_trajectory(body, settings.max_trajectory_steps), request)


def quick_json(content: object, request: Request) -> Response:
    """JSON, gzipped at level 1 when the client takes gzip and it is large.

    A 10,000-step path is 600 kB of JSON: the middleware's level 9 spends 70 ms on it, ten times
    what computing the path takes; level 1 spends 7 ms for a file 6% larger.
    """
    data = dumps(content)
    if len(data) < QUICK_GZIP_FROM or "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(data, media_type="application/json")
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    packed = gzip.compress(data, compresslevel=1, mtime=0)
    return Response(packed, media_type="application/json", headers=headers)


@router.post("/expression/grid")
def expression_grid(body: ExpressionGridRequest, request: Request) -> ORJSONResponse:
    _check_grid(body.n, _settings(request))
    built = build_expression(body.expression)
    info = dict(built.info)
    domain = body.domain if body.domain is not None else info.get("domain", DEFAULT_DOMAIN)
    (x0, x1), (y0, y1) = domain
    if not (x0 < x1 and y0 < y1):
        raise FieldError("domain", "domain must be [[x0, x1], [y0, y1]] with x0 < x1 and y0 < y1")
    try:
        x, y, z = built.problem.grid(body.n, ((x0, x1), (y0, y1)))  # type: ignore[attr-defined]
    except ValueError as exc:
        raise FieldError("domain", str(exc)) from None
    return ORJSONResponse({**info, "domain": [[x0, x1], [y0, y1]], "x": x, "y": y, "z": z})


@router.post("/regression")
def regression(body: RegressionRequest, request: Request) -> ORJSONResponse:
    """The data set, minimum and exact loss surface over (w, b) of a 2-parameter regression."""
    _check_grid(body.n, _settings(request))
    built = build_regression(body.regression)
    problem: RegressionProblem = built.problem  # type: ignore[assignment]
    (w0, w1), (b0, b1) = problem.domain
    w, b = np.linspace(w0, w1, body.n), np.linspace(b0, b1, body.n)
    z = problem.value(np.stack(np.meshgrid(w, b), axis=-1))
    return ORJSONResponse({**built.info, "grid": {"x": w, "y": b, "z": z}})


@router.get("/expression/examples")
def expression_examples() -> ORJSONResponse:
    return ORJSONResponse(list(EXAMPLES))
