"""Derivative rules: each operation with its first and second partial derivatives.

A unary rule maps ``(u, order)`` to ``(f(u), f'(u), f''(u))``; a binary rule maps ``(a, b, order)`` to
the value and the partials ``(f_a, f_b, f_aa, f_ab, f_bb)``. Derivatives are computed only up to
``order`` (0, 1 or 2); the others are ``None``, which also stands for an exact zero. A partial may be a
plain float when it is constant. ``evaluate`` combines these with the chain rule, so value, gradient
and Hessian all come from the same table.

Non-smooth functions use the derivative of the branch they select (a subgradient): ``abs`` and
``relu`` have slope 0 at 0, ``max(a, b)`` follows ``a`` on ties, and ``hypot`` has slope 0 at the
origin. Outside a function's domain the results are NaN or infinite, never an exception: callers run
these under ``np.errstate(all="ignore")``.

``u ^ c`` with a constant exponent uses the power rule, so integer powers of negative numbers work
(``x^2`` at -3 is 9 with slope -6). With a variable exponent ``a ^ b`` is ``exp(b log a)`` for the
derivatives, which are NaN where ``a < 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from server.problems.base import Array

Partial = Array | float
UnaryResult = tuple[Array, Partial | None, Partial | None]
UnaryRule = Callable[[Array, int], UnaryResult]


class Partials(NamedTuple):
    """Value of ``f(a, b)`` and its partial derivatives (``None`` = zero or not computed)."""

    v: Array
    fa: Partial | None = None
    fb: Partial | None = None
    faa: Partial | None = None
    fab: Partial | None = None
    fbb: Partial | None = None


BinaryRule = Callable[[Array, Array, int], Partials]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def sigmoid(u: Array) -> Array:
    """``1 / (1 + exp(-u))`` without overflow for large ``|u|``."""
    out: Array = np.exp(-np.logaddexp(0.0, -u))
    return out


# ---- unary functions -------------------------------------------------------------------------


def _neg(u: Array, order: int) -> UnaryResult:
    return -u, -1.0, None


def _sin(u: Array, order: int) -> UnaryResult:
    v = np.sin(u)
    if order == 0:
        return v, None, None
    return v, np.cos(u), (-v if order > 1 else None)


def _cos(u: Array, order: int) -> UnaryResult:
    v = np.cos(u)
    if order == 0:
        return v, None, None
    return v, -np.sin(u), (-v if order > 1 else None)


def _tan(u: Array, order: int) -> UnaryResult:
    v = np.tan(u)
    if order == 0:
        return v, None, None
    d1 = 1.0 + v * v
    return v, d1, (2.0 * v * d1 if order > 1 else None)


def _exp(u: Array, order: int) -> UnaryResult:
    v = np.exp(u)
    return v, (v if order > 0 else None), (v if order > 1 else None)


def _log_base(scale: float) -> UnaryRule:
    """``log(u) / scale``: natural log for scale 1, log2 and log10 for ln 2 and ln 10."""

    def rule(u: Array, order: int) -> UnaryResult:
        v = np.log(u) if scale == 1.0 else (np.log2(u) if scale == _LN2 else np.log10(u))
        if order == 0:
            return v, None, None
        d1 = 1.0 / (scale * u)
        return v, d1, (-d1 / u if order > 1 else None)

    return rule


def _sqrt(u: Array, order: int) -> UnaryResult:
    v = np.sqrt(u)
    if order == 0:
        return v, None, None
    d1 = 0.5 / v
    return v, d1, (-0.5 * d1 / u if order > 1 else None)


def _abs(u: Array, order: int) -> UnaryResult:
    return np.abs(u), (np.sign(u) if order > 0 else None), None


def _tanh(u: Array, order: int) -> UnaryResult:
    v = np.tanh(u)
    if order == 0:
        return v, None, None
    d1 = 1.0 - v * v
    return v, d1, (-2.0 * v * d1 if order > 1 else None)


def _sinh(u: Array, order: int) -> UnaryResult:
    v = np.sinh(u)
    return v, (np.cosh(u) if order > 0 else None), (v if order > 1 else None)


def _cosh(u: Array, order: int) -> UnaryResult:
    v = np.cosh(u)
    return v, (np.sinh(u) if order > 0 else None), (v if order > 1 else None)


def _arctan(u: Array, order: int) -> UnaryResult:
    v = np.arctan(u)
    if order == 0:
        return v, None, None
    d1 = 1.0 / (1.0 + u * u)
    return v, d1, (-2.0 * u * d1 * d1 if order > 1 else None)


def _sigmoid(u: Array, order: int) -> UnaryResult:
    v = sigmoid(u)
    if order == 0:
        return v, None, None
    w = sigmoid(-u)  # 1 - v, accurate where v is close to 1
    d1 = v * w
    return v, d1, (d1 * (w - v) if order > 1 else None)


def _softplus(u: Array, order: int) -> UnaryResult:
    v = np.logaddexp(0.0, u)
    if order == 0:
        return v, None, None
    s = sigmoid(u)
    return v, s, (s * sigmoid(-u) if order > 1 else None)


def _relu(u: Array, order: int) -> UnaryResult:
    v = np.maximum(u, 0.0)
    return v, ((u > 0.0).astype(np.float64) if order > 0 else None), None


UNARY_RULES: dict[str, UnaryRule] = {
    "sin": _sin,
    "cos": _cos,
    "tan": _tan,
    "exp": _exp,
    "log": _log_base(1.0),
    "log10": _log_base(_LN10),
    "log2": _log_base(_LN2),
    "sqrt": _sqrt,
    "abs": _abs,
    "tanh": _tanh,
    "sinh": _sinh,
    "cosh": _cosh,
    "arctan": _arctan,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "relu": _relu,
}
NEGATE: UnaryRule = _neg

# ---- binary operations -----------------------------------------------------------------------


def _add(a: Array, b: Array, order: int) -> Partials:
    return Partials(a + b, 1.0, 1.0)


def _sub(a: Array, b: Array, order: int) -> Partials:
    return Partials(a - b, 1.0, -1.0)


def _mul(a: Array, b: Array, order: int) -> Partials:
    return Partials(a * b, b, a, None, 1.0, None)


def _div(a: Array, b: Array, order: int) -> Partials:
    v = a / b
    if order == 0:
        return Partials(v)
    r = 1.0 / b
    fb = -v * r
    if order == 1:
        return Partials(v, r, fb)
    return Partials(v, r, fb, None, -r * r, -2.0 * fb * r)


def _pow(a: Array, b: Array, order: int) -> Partials:
    v = np.power(a, b)
    if order == 0:
        return Partials(v)
    log_a = np.log(a)
    a_b1 = np.power(a, b - 1.0)
    fa = b * a_b1
    fb = v * log_a
    if order == 1:
        return Partials(v, fa, fb)
    faa = b * (b - 1.0) * np.power(a, b - 2.0)
    fab = a_b1 * (1.0 + b * log_a)
    return Partials(v, fa, fb, faa, fab, fb * log_a)


def _inverse_or_zero(r: Array) -> Array:
    """``1 / r`` where ``r > 0``, else 0: the slope of ``hypot`` is taken as 0 at the origin."""
    out: Array = np.where(r > 0.0, 1.0 / r, 0.0)
    return out


def _hypot(a: Array, b: Array, order: int) -> Partials:
    v = np.hypot(a, b)
    if order == 0:
        return Partials(v)
    inv = _inverse_or_zero(v)
    if order == 1:
        return Partials(v, a * inv, b * inv)
    inv3 = inv * inv * inv
    return Partials(v, a * inv, b * inv, b * b * inv3, -a * b * inv3, a * a * inv3)


def _max(a: Array, b: Array, order: int) -> Partials:
    # Value only: evaluate handles the derivatives of max/min by selecting a branch.
    return Partials(np.maximum(a, b))


def _min(a: Array, b: Array, order: int) -> Partials:
    return Partials(np.minimum(a, b))


BINARY_RULES: dict[str, BinaryRule] = {
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div,
    "^": _pow,
    "hypot": _hypot,
    "max": _max,
    "min": _min,
}

# ---- one operand constant ------------------------------------------------------------------------


def power_rule(c: float) -> UnaryRule:
    """``u ^ c`` for a constant ``c``: ``c u^(c-1)`` and ``c (c-1) u^(c-2)``."""
    k1 = np.float64(c)
    with np.errstate(all="ignore"):
        k2 = k1 * (k1 - 1.0)

    def rule(u: Array, order: int) -> UnaryResult:
        if c == 2.0:
            return u * u, (2.0 * u if order > 0 else None), (2.0 if order > 1 else None)
        v = np.power(u, k1)
        if order == 0 or c == 0.0:
            return v, None, None
        if c == 1.0:
            return v, 1.0, None
        d1 = k1 * np.power(u, k1 - 1.0)
        return v, d1, (k2 * np.power(u, k1 - 2.0) if order > 1 else None)

    return rule


def exponential_rule(c: float) -> UnaryRule:
    """``c ^ u`` for a constant ``c``: ``c^u ln c`` and ``c^u (ln c)^2``; ``0 ^ u`` is flat."""
    base = np.float64(c)
    with np.errstate(all="ignore"):
        log_c = np.log(base)

    def rule(u: Array, order: int) -> UnaryResult:
        v = np.power(base, u)
        if order == 0 or c == 0.0:
            return v, None, None
        d1 = v * log_c
        return v, d1, (d1 * log_c if order > 1 else None)

    return rule


def right_constant(op: str, c: float) -> UnaryRule:
    """The rule for ``f(u, c)``, ``u`` varying and ``c`` constant."""
    k = np.float64(c)
    if op == "^":
        return power_rule(c)
    if op in ("max", "min"):
        pick = np.maximum if op == "max" else np.minimum

        def select(u: Array, order: int) -> UnaryResult:
            chosen = (u >= k) if op == "max" else (u <= k)
            return pick(u, k), (chosen.astype(np.float64) if order > 0 else None), None

        return select
    if op == "hypot":
        return _hypot_constant(k)
    simple: dict[str, Callable[[Array], Array]] = {
        "+": lambda u: u + k,
        "-": lambda u: u - k,
        "*": lambda u: u * k,
        "/": lambda u: u / k,
    }
    with np.errstate(all="ignore"):
        slope = {"+": 1.0, "-": 1.0, "*": k, "/": np.float64(1.0) / k}[op]
    apply = simple[op]

    def linear(u: Array, order: int) -> UnaryResult:
        return apply(u), (slope if order > 0 else None), None

    return linear


def left_constant(op: str, c: float) -> UnaryRule:
    """The rule for ``f(c, u)``, ``c`` constant and ``u`` varying."""
    k = np.float64(c)
    if op == "^":
        return exponential_rule(c)
    if op == "/":

        def reciprocal(u: Array, order: int) -> UnaryResult:
            v = k / u
            if order == 0:
                return v, None, None
            d1 = -v / u
            return v, d1, (-2.0 * d1 / u if order > 1 else None)

        return reciprocal
    if op == "-":
        return lambda u, order: (k - u, -1.0, None)
    if op in ("max", "min"):
        pick = np.maximum if op == "max" else np.minimum

        def select(u: Array, order: int) -> UnaryResult:
            chosen = (u > k) if op == "max" else (u < k)  # ties go to the constant (first) side
            return pick(k, u), (chosen.astype(np.float64) if order > 0 else None), None

        return select
    if op == "hypot":
        return _hypot_constant(k)
    return right_constant(op, c)  # + and * commute


def _hypot_constant(k: np.float64) -> UnaryRule:
    def rule(u: Array, order: int) -> UnaryResult:
        v = np.hypot(u, k)
        if order == 0:
            return v, None, None
        inv = _inverse_or_zero(v)
        return v, u * inv, (k * k * inv * inv * inv if order > 1 else None)

    return rule
