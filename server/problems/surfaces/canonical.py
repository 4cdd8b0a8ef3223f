"""Teaching shapes: a rotated ill-conditioned quadratic, a saddle and a monkey saddle."""

from __future__ import annotations

import math

from server.problems.base import Array
from server.problems.surfaces.spec import Component, Params, ParamSpec, SurfaceSpec


def _quadratic_derive(k: Params) -> dict[str, float]:
    """Hessian entries of H = 1 e1 e1^T + kappa e2 e2^T, e1 = (cos t, sin t), e2 = (-sin t, cos t)."""
    t = math.radians(k["angle"])
    c, s = math.cos(t), math.sin(t)
    kappa = k["kappa"]
    return {
        "hxx": c * c + kappa * s * s,
        "hxy": (1.0 - kappa) * c * s,
        "hyy": s * s + kappa * c * c,
    }


def _quadratic_value(x: Array, y: Array, k: Params) -> Array:
    return 0.5 * (k["hxx"] * x * x + k["hyy"] * y * y) + k["hxy"] * x * y


def _quadratic_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    hxy = k["hxy"]
    return k["hxx"] * x + hxy * y, hxy * x + k["hyy"] * y


def _quadratic_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return k["hxx"], k["hxy"], k["hyy"]


QUADRATIC = SurfaceSpec(
    name="quadratic",
    title="Ill-conditioned quadratic",
    formula=(
        "0.5 (u^2 + κ v^2), u = x cos θ + y sin θ, v = y cos θ - x sin θ"
        " (Hessian eigenvalues 1 and κ; θ = angle)"
    ),
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    minima=((0.0, 0.0, 0.0),),
    start=(-1.8, 0.6),
    params=(
        ParamSpec(
            "kappa",
            10.0,
            1.0,
            1000.0,
            "log",
            "condition number: the Hessian eigenvalues are 1 and kappa",
        ),
        ParamSpec("angle", 0.0, -90.0, 90.0, "linear", "rotation of the ellipses, in degrees"),
    ),
    log_color=False,
    value_form=_quadratic_value,
    grad_form=_quadratic_grad,
    hessian_form=_quadratic_hessian,
    derive=_quadratic_derive,
    lambda_max_form=lambda k: k["kappa"],
)


def _saddle_value(x: Array, y: Array, k: Params) -> Array:
    return x * x - y * y


def _saddle_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    return 2.0 * x, -2.0 * y


def _saddle_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return 2.0, 0.0, -2.0


SADDLE = SurfaceSpec(
    name="saddle",
    title="Saddle",
    formula="x^2 - y^2",
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    minima=(),  # unbounded below: a stationary point at the origin, no minimum
    start=(-1.5, 0.01),
    params=(),
    log_color=False,
    value_form=_saddle_value,
    grad_form=_saddle_grad,
    hessian_form=_saddle_hessian,
)


def _monkey_saddle_value(x: Array, y: Array, k: Params) -> Array:
    return x * (x * x - 3.0 * y * y)


def _monkey_saddle_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    return 3.0 * (x * x - y * y), -6.0 * x * y


def _monkey_saddle_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return 6.0 * x, -6.0 * y, -6.0 * x


MONKEY_SADDLE = SurfaceSpec(
    name="monkey_saddle",
    title="Monkey saddle",
    formula="x^3 - 3xy^2",
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    minima=(),  # unbounded below: a degenerate stationary point at the origin, no minimum
    start=(1.5, 0.05),
    params=(),
    log_color=False,
    value_form=_monkey_saddle_value,
    grad_form=_monkey_saddle_grad,
    hessian_form=_monkey_saddle_hessian,
)
