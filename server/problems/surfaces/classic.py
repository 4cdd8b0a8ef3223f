"""Classic valleys and basins: polynomial test functions (and McCormick), in their 2D forms.

Definitions, domains and minima follow the Virtual Library of Simulation Experiments
(sfu.ca/~ssurjano). Where that library plots a smaller window "for easier viewing" (the camel
functions), the domain is that window. Minima coordinates were refined with Newton's method to
full float64 precision; the published (rounded) values are checked in the tests.
"""

from __future__ import annotations

import math

import numpy as np

from server.problems.base import Array
from server.problems.surfaces.spec import Component, Params, ParamSpec, SurfaceSpec


def _rosenbrock_value(x: Array, y: Array, k: Params) -> Array:
    u = k["a"] - x
    v = y - x * x
    return u * u + k["b"] * v * v


def _rosenbrock_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    bv2 = 2.0 * k["b"] * (y - x * x)
    return -2.0 * (k["a"] - x) - 2.0 * x * bv2, bv2


def _rosenbrock_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    b = k["b"]
    return 2.0 + b * (12.0 * x * x - 4.0 * y), -4.0 * b * x, 2.0 * b


ROSENBROCK = SurfaceSpec(
    name="rosenbrock",
    title="Rosenbrock",
    formula="(a - x)^2 + b (y - x^2)^2",
    domain=((-2.048, 2.048), (-2.048, 2.048)),
    minima=((1.0, 1.0, 0.0),),
    start=(-1.5, 1.5),
    params=(
        ParamSpec("a", 1.0, -1.4, 1.4, "linear", "position of the minimum (a, a^2)"),
        ParamSpec("b", 100.0, 0.1, 1000.0, "log", "steepness of the valley walls"),
    ),
    log_color=True,
    value_form=_rosenbrock_value,
    grad_form=_rosenbrock_grad,
    hessian_form=_rosenbrock_hessian,
    minima_form=lambda k: ((k["a"], k["a"] * k["a"], 0.0),),
)


def _himmelblau_value(x: Array, y: Array, k: Params) -> Array:
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    return u * u + v * v


def _himmelblau_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    u2 = 2.0 * (x * x + y - 11.0)
    v2 = 2.0 * (x + y * y - 7.0)
    return 2.0 * x * u2 + v2, u2 + 2.0 * y * v2


def _himmelblau_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return 12.0 * x * x + 4.0 * y - 42.0, 4.0 * (x + y), 12.0 * y * y + 4.0 * x - 26.0


HIMMELBLAU = SurfaceSpec(
    name="himmelblau",
    title="Himmelblau",
    formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    # four global minima, all with f = 0
    minima=(
        (3.0, 2.0, 0.0),
        (-2.805118086952745, 3.131312518250573, 0.0),
        (-3.779310253377747, -3.283185991286170, 0.0),
        (3.584428340330492, -1.848126526964404, 0.0),
    ),
    start=(-0.5, -1.5),
    params=(),
    log_color=False,
    value_form=_himmelblau_value,
    grad_form=_himmelblau_grad,
    hessian_form=_himmelblau_hessian,
)


def _beale_terms(x: Array, y: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Residuals t_i = c_i - x (1 - y^i) and their x-derivatives a_i = y^i - 1."""
    y2 = y * y
    a1 = y - 1.0
    a2 = y2 - 1.0
    a3 = y2 * y - 1.0
    return 1.5 + x * a1, 2.25 + x * a2, 2.625 + x * a3, a1, a2, a3


def _beale_value(x: Array, y: Array, k: Params) -> Array:
    t1, t2, t3, _, _, _ = _beale_terms(x, y)
    return t1 * t1 + t2 * t2 + t3 * t3


def _beale_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    t1, t2, t3, a1, a2, a3 = _beale_terms(x, y)
    gx = 2.0 * (t1 * a1 + t2 * a2 + t3 * a3)
    gy = 2.0 * x * (t1 + y * (2.0 * t2 + 3.0 * y * t3))
    return gx, gy


def _beale_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    t1, t2, t3, a1, a2, a3 = _beale_terms(x, y)
    # d a_i / dy = (1, 2y, 3y^2); hxy = 2 sum_i a_i' (x a_i + t_i)
    y2 = y * y
    hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
    hxy = 2.0 * ((x * a1 + t1) + 2.0 * y * (x * a2 + t2) + 3.0 * y2 * (x * a3 + t3))
    hyy = 2.0 * x * (x * (1.0 + 4.0 * y2 + 9.0 * y2 * y2) + 2.0 * t2 + 6.0 * y * t3)
    return hxx, hxy, hyy


BEALE = SurfaceSpec(
    name="beale",
    title="Beale",
    formula="(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    domain=((-4.5, 4.5), (-4.5, 4.5)),
    minima=((3.0, 0.5, 0.0),),
    start=(1.0, 1.5),
    params=(),
    log_color=True,
    value_form=_beale_value,
    grad_form=_beale_grad,
    hessian_form=_beale_hessian,
)


def _booth_value(x: Array, y: Array, k: Params) -> Array:
    u = x + 2.0 * y - 7.0
    v = 2.0 * x + y - 5.0
    return u * u + v * v


def _booth_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    return 10.0 * x + 8.0 * y - 34.0, 8.0 * x + 10.0 * y - 38.0


def _booth_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return 10.0, 8.0, 10.0


BOOTH = SurfaceSpec(
    name="booth",
    title="Booth",
    formula="(x + 2y - 7)^2 + (2x + y - 5)^2",
    domain=((-10.0, 10.0), (-10.0, 10.0)),
    minima=((1.0, 3.0, 0.0),),
    start=(-8.0, 8.0),
    params=(),
    log_color=False,
    value_form=_booth_value,
    grad_form=_booth_grad,
    hessian_form=_booth_hessian,
    lambda_max_form=lambda k: 18.0,  # eigenvalues of [[10, 8], [8, 10]]: 18 and 2
)


def _matyas_value(x: Array, y: Array, k: Params) -> Array:
    return 0.26 * (x * x + y * y) - 0.48 * x * y


def _matyas_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    return 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


def _matyas_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    return 0.52, -0.48, 0.52


MATYAS = SurfaceSpec(
    name="matyas",
    title="Matyas",
    formula="0.26 (x^2 + y^2) - 0.48 xy",
    domain=((-10.0, 10.0), (-10.0, 10.0)),
    minima=((0.0, 0.0, 0.0),),
    start=(-8.0, 6.0),
    params=(),
    log_color=False,
    value_form=_matyas_value,
    grad_form=_matyas_grad,
    hessian_form=_matyas_hessian,
    lambda_max_form=lambda k: 1.0,  # eigenvalues of [[0.52, -0.48], [-0.48, 0.52]]: 1 and 0.04
)


# Goldstein-Price is A(s) B(v) with s = x + y and v = 2x - 3y:
#   A = 1 + (s + 1)^2 (3s^2 - 14s + 19) = 3s^4 - 8s^3 - 6s^2 + 24s + 20
#   B = 30 + v^2 (3v^2 - 16v + 18)     = 3v^4 - 16v^3 + 18v^2 + 30
def _gp_a(s: Array) -> Array:
    return (((3.0 * s - 8.0) * s - 6.0) * s + 24.0) * s + 20.0


def _gp_b(v: Array) -> Array:
    return (((3.0 * v - 16.0) * v + 18.0) * v) * v + 30.0


def _goldstein_price_value(x: Array, y: Array, k: Params) -> Array:
    return _gp_a(x + y) * _gp_b(2.0 * x - 3.0 * y)


def _goldstein_price_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    s = x + y
    v = 2.0 * x - 3.0 * y
    da_b = (((12.0 * s - 24.0) * s - 12.0) * s + 24.0) * _gp_b(v)
    a_db = _gp_a(s) * (((12.0 * v - 48.0) * v + 36.0) * v)
    return da_b + 2.0 * a_db, da_b - 3.0 * a_db


def _goldstein_price_hessian(
    x: Array, y: Array, k: Params
) -> tuple[Component, Component, Component]:
    s = x + y
    v = 2.0 * x - 3.0 * y
    a, b = _gp_a(s), _gp_b(v)
    da = ((12.0 * s - 24.0) * s - 12.0) * s + 24.0
    db = ((12.0 * v - 48.0) * v + 36.0) * v
    d2a_b = ((36.0 * s - 48.0) * s - 12.0) * b
    da_db = da * db
    a_d2b = a * ((36.0 * v - 96.0) * v + 36.0)
    return (
        d2a_b + 4.0 * da_db + 4.0 * a_d2b,
        d2a_b - da_db - 6.0 * a_d2b,
        d2a_b - 6.0 * da_db + 9.0 * a_d2b,
    )


GOLDSTEIN_PRICE = SurfaceSpec(
    name="goldstein_price",
    title="Goldstein-Price",
    formula=(
        "[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)]"
        " [30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]"
    ),
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    # global minimum first, then the three local minima (f = 30, 84, 840)
    minima=(
        (0.0, -1.0, 3.0),
        (-0.6, -0.4, 30.0),
        (1.8, 0.2, 84.0),
        (1.2, 0.8, 840.0),
    ),
    start=(-1.5, 1.5),
    params=(),
    log_color=True,
    value_form=_goldstein_price_value,
    grad_form=_goldstein_price_grad,
    hessian_form=_goldstein_price_hessian,
)


def _six_hump_camel_value(x: Array, y: Array, k: Params) -> Array:
    x2 = x * x
    y2 = y * y
    return ((x2 / 3.0 - 2.1) * x2 + 4.0) * x2 + x * y + (4.0 * y2 - 4.0) * y2


def _six_hump_camel_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    x2 = x * x
    return ((2.0 * x2 - 8.4) * x2 + 8.0) * x + y, x + (16.0 * y * y - 8.0) * y


def _six_hump_camel_hessian(
    x: Array, y: Array, k: Params
) -> tuple[Component, Component, Component]:
    x2 = x * x
    return (10.0 * x2 - 25.2) * x2 + 8.0, 1.0, 48.0 * y * y - 8.0


SIX_HUMP_CAMEL = SurfaceSpec(
    name="six_hump_camel",
    title="Six-hump camel",
    formula="(4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2",
    # VLSE's viewing window; the usual search domain is [-3, 3] x [-2, 2]
    domain=((-2.0, 2.0), (-1.0, 1.0)),
    # two global minima, then the four local ones
    minima=(
        (0.08984201310031807, -0.7126564030207396, -1.0316284534898774),
        (-0.08984201310031807, 0.7126564030207396, -1.0316284534898774),
        (-1.703606714969981, 0.7960835686726251, -0.21546382438371836),
        (1.703606714969981, -0.7960835686726251, -0.21546382438371836),
        (-1.6071047529201974, -0.5686514548841313, 2.1042503103112575),
        (1.6071047529201974, 0.5686514548841313, 2.1042503103112575),
    ),
    start=(1.5, 0.8),
    params=(),
    log_color=False,
    value_form=_six_hump_camel_value,
    grad_form=_six_hump_camel_grad,
    hessian_form=_six_hump_camel_hessian,
)


def _three_hump_camel_value(x: Array, y: Array, k: Params) -> Array:
    x2 = x * x
    return ((x2 / 6.0 - 1.05) * x2 + 2.0) * x2 + x * y + y * y


def _three_hump_camel_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    x2 = x * x
    return ((x2 - 4.2) * x2 + 4.0) * x + y, x + 2.0 * y


def _three_hump_camel_hessian(
    x: Array, y: Array, k: Params
) -> tuple[Component, Component, Component]:
    x2 = x * x
    return (5.0 * x2 - 12.6) * x2 + 4.0, 1.0, 2.0


THREE_HUMP_CAMEL = SurfaceSpec(
    name="three_hump_camel",
    title="Three-hump camel",
    formula="2x^2 - 1.05x^4 + x^6/6 + xy + y^2",
    # VLSE's viewing window; the usual search domain is [-5, 5]^2
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    # global minimum, then the two local ones
    minima=(
        (0.0, 0.0, 0.0),
        (-1.747552345830289, 0.8737761729151445, 0.29863844223685965),
        (1.747552345830289, -0.8737761729151445, 0.29863844223685965),
    ),
    start=(-1.8, 1.0),
    params=(),
    log_color=False,
    value_form=_three_hump_camel_value,
    grad_form=_three_hump_camel_grad,
    hessian_form=_three_hump_camel_hessian,
)


def _styblinski_tang_value(x: Array, y: Array, k: Params) -> Array:
    x2 = x * x
    y2 = y * y
    return 0.5 * ((x2 - 16.0) * x2 + 5.0 * x + (y2 - 16.0) * y2 + 5.0 * y)


def _styblinski_tang_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    return (2.0 * x * x - 16.0) * x + 2.5, (2.0 * y * y - 16.0) * y + 2.5


def _styblinski_tang_hessian(
    x: Array, y: Array, k: Params
) -> tuple[Component, Component, Component]:
    return 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0


_ST_LOW = -2.903534027771177  # roots of 2x^3 - 16x + 2.5
_ST_HIGH = 2.746802770990837
STYBLINSKI_TANG = SurfaceSpec(
    name="styblinski_tang",
    title="Styblinski-Tang",
    formula="0.5 (x^4 - 16x^2 + 5x + y^4 - 16y^2 + 5y)",
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    # global minimum, then the three local ones
    minima=(
        (_ST_LOW, _ST_LOW, -78.33233140754284),
        (_ST_LOW, _ST_HIGH, -64.19561235905536),
        (_ST_HIGH, _ST_LOW, -64.19561235905536),
        (_ST_HIGH, _ST_HIGH, -50.05889331056789),
    ),
    start=(0.5, 0.5),
    params=(),
    log_color=False,
    value_form=_styblinski_tang_value,
    grad_form=_styblinski_tang_grad,
    hessian_form=_styblinski_tang_hessian,
)


# McCormick's stationary points satisfy x - y = 1 and cos(x + y) = -1/2; minima have
# sin(x + y) < 0, i.e. x + y = -2pi/3 + 2 pi n, where f = (x + y)/2 - sqrt(3)/2.
def _mccormick_value(x: Array, y: Array, k: Params) -> Array:
    d = x - y
    return np.sin(x + y) + d * d - 1.5 * x + 2.5 * y + 1.0


def _mccormick_grad(x: Array, y: Array, k: Params) -> tuple[Component, Component]:
    c = np.cos(x + y)
    d2 = 2.0 * (x - y)
    return c + d2 - 1.5, c - d2 + 2.5


def _mccormick_hessian(x: Array, y: Array, k: Params) -> tuple[Component, Component, Component]:
    s = np.sin(x + y)
    return 2.0 - s, -2.0 - s, 2.0 - s


MCCORMICK = SurfaceSpec(
    name="mccormick",
    title="McCormick",
    formula="sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1",
    domain=((-1.5, 4.0), (-3.0, 4.0)),
    # global minimum (x + y = -2pi/3), then the local one (x + y = 4pi/3)
    minima=(
        (0.5 - math.pi / 3.0, -0.5 - math.pi / 3.0, -math.pi / 3.0 - math.sqrt(3.0) / 2.0),
        (
            0.5 + 2.0 * math.pi / 3.0,
            -0.5 + 2.0 * math.pi / 3.0,
            2.0 * math.pi / 3.0 - math.sqrt(3.0) / 2.0,
        ),
    ),
    start=(-1.0, 3.5),
    params=(),
    log_color=False,
    value_form=_mccormick_value,
    grad_form=_mccormick_grad,
    hessian_form=_mccormick_hessian,
)
