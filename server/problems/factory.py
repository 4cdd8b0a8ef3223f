"""Turn a problem description from a client into a Problem the engine can run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from server.errors import FieldError
from server.problems.base import Problem
from server.problems.expression import Expression, ExpressionError, parse_expression
from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import MODELS, DeepConfig
from server.problems.nn.problem import NetworkConfig, NetworkProblem
from server.problems.nn.regression import RegressionConfig, RegressionProblem
from server.problems.surfaces import SurfaceError, get_surface
from server.schemas import ProblemSpec

Kind = Literal["surface", "expression", "network", "regression"]


@dataclass(frozen=True)
class Built:
    problem: Problem
    kind: Kind
    title: str
    start: tuple[float, float] | None
    lambda_max: float | None
    info: dict[str, Any]


def build_surface(name: str, params: dict[str, float]) -> Built:
    try:
        surface = get_surface(name, params)
    except SurfaceError as exc:
        field = "surface" if exc.field == "surface" else f"params.{exc.field}"
        raise FieldError(field, exc.message) from None
    return Built(
        surface,
        "surface",
        surface.spec.title,
        surface.spec.start,
        surface.lambda_max(),
        surface.spec.to_json(params),
    )


# Points per side of the grid on which a formula must have a finite value somewhere.
FINITE_PROBE = 33


def build_expression(text: str) -> Built:
    try:
        expr = parse_expression(text)
    except ExpressionError as exc:
        raise FieldError("expression", exc.message, exc.position) from None
    _check_finite(expr)
    info = expr.to_json()
    start = info["start"]
    return Built(expr, "expression", text, (float(start[0]), float(start[1])), None, info)


def _check_finite(expr: Expression) -> None:
    """Refuse a formula with no finite value on its domain (``9**9**9`` is inf everywhere): it
    would draw a blank plot and a race that ends before it starts."""
    (x0, x1), (y0, y1) = expr.domain
    xs, ys = np.linspace(x0, x1, FINITE_PROBE), np.linspace(y0, y1, FINITE_PROBE)
    with np.errstate(all="ignore"):
        z = expr.value(np.stack(np.meshgrid(xs, ys), axis=-1))
    if np.isfinite(z).any():
        return
    values = {"inf" if v > 0 else "-inf" if v < 0 else "undefined (NaN)" for v in z.flat}
    what = " or ".join(sorted(values))
    why = (
        "numbers stop at about 1.8e308, so 9**9**9 is inf"
        if "inf" in what
        else "log and sqrt of negative numbers are undefined"
    )
    raise FieldError(
        "expression",
        f"f(x, y) = {expr.text} is {what} everywhere on [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]: "
        f"a formula needs finite values to draw and descend ({why})",
    )


def build_network(data: dict[str, Any]) -> Built:
    """A NetworkProblem (``model`` mlp, the default) or a DeepProblem (cnn, rnn); ``torch`` (a bool, default false) asks for torch twins (``info``)."""
    config = dict(data)
    torch = config.pop("torch", False)
    if not isinstance(torch, bool):
        raise FieldError("network.torch", f"Invalid network.torch: {torch!r} (true or false)")
    model = config.get("model", "mlp")
    try:
        if model in ("cnn", "rnn"):
            deep = DeepProblem(DeepConfig.from_json(config))
            title = f"{deep.config.dataset} {deep.config.model}"
            return Built(deep, "network", title, None, None, {"torch": torch})
        if model != "mlp":
            raise InvalidConfig(
                "network.model", f"Invalid network.model: {model!r} (one of {', '.join(MODELS)})"
            )
        config.pop("model", None)
        problem = NetworkProblem(NetworkConfig.from_json(config))
    except InvalidConfig as exc:  # fields read "network.<key>"; the caller adds "problem."
        raise FieldError(exc.field, exc.message) from None
    title = f"{problem.config.dataset} {'-'.join(map(str, problem.mlp.sizes))}"
    return Built(problem, "network", title, None, None, {"torch": torch})


def build_regression(data: dict[str, Any]) -> Built:
    """Linear or logistic regression over p = (w, b): a 2D surface with its data set in ``info``."""
    try:
        problem = RegressionProblem(RegressionConfig.from_json(data))
    except InvalidConfig as exc:  # fields read "regression.<key>"
        raise FieldError(exc.field, exc.message) from None
    start = problem.start
    return Built(
        problem, "regression", problem.title, (start[0], start[1]), None, problem.to_json()
    )


def build_problem(spec: ProblemSpec) -> Built:
    if spec.surface is not None:
        return build_surface(spec.surface, {k: float(v) for k, v in spec.params.items()})
    if spec.expression is not None:
        return build_expression(spec.expression)
    if spec.regression is not None:
        return build_regression(spec.regression)
    assert spec.network is not None
    return build_network(spec.network)
