"""Multimodal surfaces: many local minima (Rastrigin, Ackley, Levi N.13) or a needle (Easom).

Definitions follow the Virtual Library of Simulation Experiments (sfu.ca/~ssurjano), 2D versions.
Ackley and Easom use smaller domains than the search domains there ([-32.768, 32.768]^2 and
[-100, 100]^2), which would show a flat picture: Ackley uses the usual [-5, 5]^2 viewing square and
Easom a square around its hole at (pi, pi).
"""

from __future__ import annotations

import math

import numpy as np

from server.problems.base import Array
from server.problems.surfaces.spec import Component, Params, ParamSpec, SurfaceSpec

TWO_PI = 2.0 * math.pi


def _rastrigin_value(x: Array, y: Array, k: Params) -> Array:
    a = k["A"]
    return x * x + y * y + a * (2.0 - np.cos(TWO_PI * x) - np.cos(TWO_PI * y))


def _rastrigin_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    w = TWO_PI * k["A"]
    return 2.0 * x + w * np.sin(TWO_PI * x), 2.0 * y + w * np.sin(TWO_PI * y)


def _rastrigin_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    w = TWO_PI * TWO_PI * k["A"]
    return 2.0 + w * np.cos(TWO_PI * x), 0.0, 2.0 + w * np.cos(TWO_PI * y)


RASTRIGIN = SurfaceSpec(
    name="rastrigin",
    title="Rastrigin",
    formula="2A + x^2 - A cos(2πx) + y^2 - A cos(2πy)",
    domain=((-5.12, 5.12), (-5.12, 5.12)),
    minima=((0.0, 0.0, 0.0),),
    start=(4.3, -3.7),
    params=(ParamSpec("A", 10.0, 0.0, 20.0, "linear", "height of the ripples (0: a plain bowl)"),),
    log_color=False,
    value_form=_rastrigin_value,
    grad_form=_rastrigin_grad,
    hessian_form=_rastrigin_hessian,
)


# Ackley with a = 20, b = 0.2, c = 2pi. With s = |p| the first term is -a exp(-beta s),
# beta = b / sqrt(2): a cone at the origin. Its gradient is taken as 0 there (the subgradient at
# the minimum) and its Hessian, unbounded near 0, as 0 at exactly 0, leaving the smooth part.
_ACKLEY_A = 20.0
_ACKLEY_BETA = 0.2 / math.sqrt(2.0)
_ACKLEY_K = _ACKLEY_A * _ACKLEY_BETA
_TINY = 1e-300


def _ackley_value(x: Array, y: Array, k: Params) -> Array:
    cone = np.exp(-_ACKLEY_BETA * np.sqrt(x * x + y * y))
    ripple = np.exp(0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y)))
    return _ACKLEY_A + math.e - _ACKLEY_A * cone - ripple


def _ackley_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    s = np.sqrt(x * x + y * y)
    cone = _ACKLEY_K * np.exp(-_ACKLEY_BETA * s) / np.maximum(s, _TINY)
    sx = np.sin(TWO_PI * x)
    sy = np.sin(TWO_PI * y)
    ripple = math.pi * np.exp(0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y)))
    return cone * x + ripple * sx, cone * y + ripple * sy


def _ackley_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    s = np.sqrt(x * x + y * y)
    inv = 1.0 / np.maximum(s, _TINY)
    u = x * inv
    w = y * inv
    kc = _ACKLEY_K * np.exp(-_ACKLEY_BETA * s)
    cx = np.cos(TWO_PI * x)
    cy = np.cos(TWO_PI * y)
    sx = np.sin(TWO_PI * x)
    sy = np.sin(TWO_PI * y)
    r = (0.5 * TWO_PI * TWO_PI) * np.exp(0.5 * (cx + cy))
    return (
        kc * (w * w * inv - _ACKLEY_BETA * u * u) + r * (cx - 0.5 * sx * sx),
        -kc * u * w * (inv + _ACKLEY_BETA) - 0.5 * r * sx * sy,
        kc * (u * u * inv - _ACKLEY_BETA * w * w) + r * (cy - 0.5 * sy * sy),
    )


ACKLEY = SurfaceSpec(
    name="ackley",
    title="Ackley",
    formula="-20 exp(-0.2 sqrt(0.5 (x^2 + y^2))) - exp(0.5 (cos 2πx + cos 2πy)) + e + 20",
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    minima=((0.0, 0.0, 0.0),),
    start=(4.0, 3.0),
    params=(),
    log_color=False,
    value_form=_ackley_value,
    grad_form=_ackley_grad,
    hessian_form=_ackley_hessian,
)


# Levi N.13, with sin^2 t = (1 - cos 2t) / 2. The y harmonics cos/sin of 4 pi y and 6 pi y come
# from c = cos(2 pi y), s = sin(2 pi y) by the double- and triple-angle formulas (trig calls are
# the cost here: ~9 ns per element each, against ~1 ns for a product).
_P3 = 3.0 * math.pi


def _levi13_y(y: Array) -> tuple[Array, Array, Array, Array]:
    """cos 4 pi y, sin 4 pi y, cos 6 pi y, sin 6 pi y."""
    t = TWO_PI * y
    c = np.cos(t)
    s = np.sin(t)
    c2 = 2.0 * c * c - 1.0
    return c2, 2.0 * s * c, c * (2.0 * c2 - 1.0), s * (2.0 * c2 + 1.0)


def _levi13_value(x: Array, y: Array, k: Params) -> Array:
    dx = x - 1.0
    dy = y - 1.0
    c = np.cos(TWO_PI * y)
    cc = c * c
    # 1 + sin^2(3 pi y) = 1.5 - 0.5 cos 6 pi y; 1 + sin^2(2 pi y) = 2 - c^2
    return (
        0.5
        - 0.5 * np.cos(2.0 * _P3 * x)
        + dx * dx * (1.5 - 0.5 * c * (4.0 * cc - 3.0))
        + dy * dy * (2.0 - cc)
    )


def _levi13_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    dx = x - 1.0
    dy = y - 1.0
    c4, s4, c6, s6 = _levi13_y(y)
    gx = _P3 * np.sin(2.0 * _P3 * x) + dx * (3.0 - c6)
    gy = _P3 * dx * dx * s6 + dy * (3.0 - c4) + TWO_PI * dy * dy * s4
    return gx, gy


def _levi13_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    dx = x - 1.0
    dy = y - 1.0
    c4, s4, c6, s6 = _levi13_y(y)
    hxx = 2.0 * _P3 * _P3 * np.cos(2.0 * _P3 * x) + 3.0 - c6
    hxy = 2.0 * _P3 * dx * s6
    hyy = (
        2.0 * _P3 * _P3 * dx * dx * c6
        + 3.0
        - c4
        + 2.0 * TWO_PI * dy * (2.0 * s4 + TWO_PI * dy * c4)
    )
    return hxx, hxy, hyy


LEVI13 = SurfaceSpec(
    name="levi13",
    title="Lévi N.13",
    formula="sin^2(3πx) + (x - 1)^2 (1 + sin^2(3πy)) + (y - 1)^2 (1 + sin^2(2πy))",
    domain=((-10.0, 10.0), (-10.0, 10.0)),
    minima=((1.0, 1.0, 0.0),),
    start=(-4.0, 6.0),
    params=(),
    log_color=False,
    value_form=_levi13_value,
    grad_form=_levi13_grad,
    hessian_form=_levi13_hessian,
)


# Easom: f = -cos x cos y E with E = exp(-(x - pi)^2 - (y - pi)^2). With
# P_x = sin x + 2 (x - pi) cos x:  df/dx = E cos y P_x,  d2f/dxdy = -E P_x P_y.
def _easom_value(x: Array, y: Array, k: Params) -> Array:
    dx = x - math.pi
    dy = y - math.pi
    return -np.cos(x) * np.cos(y) * np.exp(-(dx * dx + dy * dy))


def _easom_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    dx = x - math.pi
    dy = y - math.pi
    cx = np.cos(x)
    cy = np.cos(y)
    e = np.exp(-(dx * dx + dy * dy))
    return e * cy * (np.sin(x) + 2.0 * dx * cx), e * cx * (np.sin(y) + 2.0 * dy * cy)


def _easom_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    dx = x - math.pi
    dy = y - math.pi
    cx = np.cos(x)
    cy = np.cos(y)
    sx = np.sin(x)
    sy = np.sin(y)
    e = np.exp(-(dx * dx + dy * dy))
    return (
        e * cy * ((3.0 - 4.0 * dx * dx) * cx - 4.0 * dx * sx),
        -e * (sx + 2.0 * dx * cx) * (sy + 2.0 * dy * cy),
        e * cx * ((3.0 - 4.0 * dy * dy) * cy - 4.0 * dy * sy),
    )


EASOM = SurfaceSpec(
    name="easom",
    title="Easom",
    formula="-cos(x) cos(y) exp(-(x - π)^2 - (y - π)^2)",
    domain=((-2.0, 8.0), (-2.0, 8.0)),
    minima=((math.pi, math.pi, -1.0),),
    start=(2.0, 2.2),
    params=(),
    log_color=False,
    value_form=_easom_value,
    grad_form=_easom_grad,
    hessian_form=_easom_hessian,
)
