"""Exact derivatives of user formulas.

Fixed formulas against closed forms (including the subgradient conventions at kinks), then random
formula trees (hypothesis): the value against an independent numpy evaluation of the same tree, the
gradient against central differences of the value, and the Hessian against central differences of
the gradient. A point is judged only where it honestly can be: the reference marks points near a
kink, pole or domain edge of any operation, or with a huge or non-finite intermediate, and finite
differences at two step sizes must agree first. Whether a point is judged never depends on the
implementation under test, and the test asserts that most points were judged.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.problems.base import Array
from server.problems.expression import parse_expression

Tree = tuple[Any, ...]

# ---- fixed formulas ------------------------------------------------------------------------------

E2 = math.e**2
LN2 = math.log(2.0)

FIXED: list[tuple[str, tuple[float, float], float, tuple[float, float], list[list[float]]]] = [
    ("x^2", (-3.0, 0.5), 9.0, (-6.0, 0.0), [[2.0, 0.0], [0.0, 0.0]]),
    ("x**2", (-3.0, 0.5), 9.0, (-6.0, 0.0), [[2.0, 0.0], [0.0, 0.0]]),
    ("x^3", (-2.0, 0.0), -8.0, (12.0, 0.0), [[-12.0, 0.0], [0.0, 0.0]]),
    ("y^-1", (0.0, -2.0), -0.5, (0.0, -0.25), [[0.0, 0.0], [0.0, -0.25]]),
    ("x^0", (-2.0, 1.0), 1.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("x^1", (-2.0, 1.0), -2.0, (1.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("x^0.5", (4.0, 1.0), 2.0, (0.25, 0.0), [[-1 / 32, 0.0], [0.0, 0.0]]),
    ("x*y", (2.0, 3.0), 6.0, (3.0, 2.0), [[0.0, 1.0], [1.0, 0.0]]),
    ("x*x", (3.0, 1.0), 9.0, (6.0, 0.0), [[2.0, 0.0], [0.0, 0.0]]),
    ("(x + y)*(x - y)", (3.0, 1.0), 8.0, (6.0, -2.0), [[2.0, 0.0], [0.0, -2.0]]),
    ("x/y", (1.0, 2.0), 0.5, (0.5, -0.25), [[0.0, -0.25], [-0.25, 0.25]]),
    ("3/x", (-1.0, 2.0), -3.0, (-3.0, 0.0), [[-6.0, 0.0], [0.0, 0.0]]),
    (
        "x^y",
        (2.0, 3.0),
        8.0,
        (12.0, 8 * LN2),
        [[12.0, 4 * (1 + 3 * LN2)], [4 * (1 + 3 * LN2), 8 * LN2**2]],
    ),
    ("2^x", (3.0, 0.0), 8.0, (8 * LN2, 0.0), [[8 * LN2**2, 0.0], [0.0, 0.0]]),
    ("0^x", (1.5, 0.0), 0.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("exp(x*y)", (1.0, 2.0), E2, (2 * E2, E2), [[4 * E2, 3 * E2], [3 * E2, E2]]),
    ("sqrt(x^2 + y^2)", (3.0, 4.0), 5.0, (0.6, 0.8), [[0.128, -0.096], [-0.096, 0.072]]),
    ("hypot(x, y)", (3.0, 4.0), 5.0, (0.6, 0.8), [[0.128, -0.096], [-0.096, 0.072]]),
    ("hypot(3, y)", (0.0, 4.0), 5.0, (0.0, 0.8), [[0.0, 0.0], [0.0, 0.072]]),
    ("sigmoid(x)", (0.0, 0.0), 0.5, (0.25, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("softplus(x)", (0.0, 0.0), LN2, (0.5, 0.0), [[0.25, 0.0], [0.0, 0.0]]),
    ("x - y", (1.0, 2.0), -1.0, (1.0, -1.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("2 - x*y", (1.0, 2.0), 0.0, (-2.0, -1.0), [[0.0, -1.0], [-1.0, 0.0]]),
    ("-x*y", (1.0, 2.0), -2.0, (-2.0, -1.0), [[0.0, -1.0], [-1.0, 0.0]]),
    ("3", (1.0, 2.0), 3.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("sin(pi/2)", (1.0, 2.0), 1.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    # Non-smooth functions: the derivative of the selected branch, 0 at the kink of abs/relu/hypot.
    ("abs(x) + relu(y)", (0.0, 0.0), 0.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("abs(x) + relu(y)", (-2.0, 1.0), 3.0, (-1.0, 1.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("hypot(x, y)", (0.0, 0.0), 0.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("max(x, y)", (1.0, 1.0), 1.0, (1.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("min(y, x)", (1.0, 1.0), 1.0, (0.0, 1.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("max(x^2, 1)", (2.0, 0.0), 4.0, (4.0, 0.0), [[2.0, 0.0], [0.0, 0.0]]),
    ("max(x^2, 1)", (0.5, 0.0), 1.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("max(1, x^2)", (1.0, 0.0), 1.0, (0.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("min(x*y, x, 5)", (2.0, 3.0), 2.0, (1.0, 0.0), [[0.0, 0.0], [0.0, 0.0]]),
    ("max(x*y, y^2)", (2.0, 3.0), 9.0, (0.0, 6.0), [[0.0, 0.0], [0.0, 2.0]]),
]


@pytest.mark.parametrize(("text", "point", "value", "grad", "hessian"), FIXED)
def test_fixed_formulas(
    text: str,
    point: tuple[float, float],
    value: float,
    grad: tuple[float, float],
    hessian: list[list[float]],
) -> None:
    expression = parse_expression(text)
    p = np.array([point])
    np.testing.assert_allclose(expression.value(p), [value], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(expression.grad(p), [grad], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(expression.hessian(p), [hessian], rtol=1e-13, atol=1e-15)
    v, g = expression.value_and_grad(p)
    np.testing.assert_array_equal(v, expression.value(p))
    np.testing.assert_array_equal(g, expression.grad(p))


# name -> (f, f', f'') in plain floats, and points where to try them.
CLOSED_FORMS: dict[str, tuple[Callable[[float], float], ...]] = {
    "sin": (math.sin, math.cos, lambda u: -math.sin(u)),
    "cos": (math.cos, lambda u: -math.sin(u), lambda u: -math.cos(u)),
    "tan": (math.tan, lambda u: 1 / math.cos(u) ** 2, lambda u: 2 * math.tan(u) / math.cos(u) ** 2),
    "exp": (math.exp, math.exp, math.exp),
    "log": (math.log, lambda u: 1 / u, lambda u: -1 / u**2),
    "log10": (math.log10, lambda u: 1 / (u * math.log(10)), lambda u: -1 / (u**2 * math.log(10))),
    "log2": (math.log2, lambda u: 1 / (u * LN2), lambda u: -1 / (u**2 * LN2)),
    "sqrt": (math.sqrt, lambda u: 0.5 / math.sqrt(u), lambda u: -0.25 * u**-1.5),
    "abs": (abs, lambda u: math.copysign(1, u), lambda u: 0.0),
    "tanh": (
        math.tanh,
        lambda u: 1 / math.cosh(u) ** 2,
        lambda u: -2 * math.tanh(u) / math.cosh(u) ** 2,
    ),
    "sinh": (math.sinh, math.cosh, math.sinh),
    "cosh": (math.cosh, math.sinh, math.cosh),
    "arctan": (math.atan, lambda u: 1 / (1 + u * u), lambda u: -2 * u / (1 + u * u) ** 2),
    "sigmoid": (
        lambda u: 1 / (1 + math.exp(-u)),
        lambda u: math.exp(-u) / (1 + math.exp(-u)) ** 2,
        lambda u: math.exp(-u) * (math.exp(-u) - 1) / (1 + math.exp(-u)) ** 3,
    ),
    "softplus": (
        lambda u: math.log1p(math.exp(u)),
        lambda u: 1 / (1 + math.exp(-u)),
        lambda u: math.exp(-u) / (1 + math.exp(-u)) ** 2,
    ),
    "relu": (lambda u: max(u, 0.0), lambda u: float(u > 0), lambda u: 0.0),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("u", [0.3, 1.7, 2.5, -0.8, -2.2])
def test_each_function_and_the_chain_rule(name: str, u: float) -> None:
    f, d1, d2 = CLOSED_FORMS[name]
    if name in ("log", "log10", "log2", "sqrt") and u < 0:
        u = -u
    # f(x): derivatives directly; f(x*y) at y=1: the chain rule with a product inside.
    expression = parse_expression(f"{name}(x*y)")
    p = np.array([u, 1.0])
    np.testing.assert_allclose(expression.value(p), f(u), rtol=1e-13)
    np.testing.assert_allclose(expression.grad(p), [d1(u), u * d1(u)], rtol=1e-12, atol=1e-15)
    expected = [[d2(u), d1(u) + u * d2(u)], [d1(u) + u * d2(u), u * u * d2(u)]]
    np.testing.assert_allclose(expression.hessian(p), expected, rtol=1e-12, atol=1e-15)


def test_undefined_points_give_nan_or_inf_and_never_raise() -> None:
    p = np.array([[-1.0, 0.0], [0.0, 0.0], [1e308, 1e308]])
    for text in ("log(x)", "1/y", "sqrt(x) + x^y", "exp(exp(x))", "y^-2 + log(0*x)"):
        expression = parse_expression(text)
        with np.errstate(all="raise"):  # nothing may leak a floating-point warning either
            v = expression.value(p)
            g = expression.grad(p)
            h = expression.hessian(p)
        assert v.shape == (3,) and g.shape == (3, 2) and h.shape == (3, 2, 2)
        assert not np.isfinite(v).all()


# ---- random formula trees -----------------------------------------------------------------------

UNARY = sorted(CLOSED_FORMS)
SPELLINGS = {"arctan": ["arctan", "atan"], "log": ["log", "ln"]}

numbers = st.one_of(
    st.sampled_from([0.5, 1.0, 2.0, 3.0, 0.1, 10.0]),
    st.floats(0.01, 5.0).map(lambda v: round(v, 3)),
)
variables = st.sampled_from([("var", "x"), ("var", "y")])
leaves = st.one_of(
    variables,
    variables,
    variables,
    st.sampled_from([("const", "pi"), ("const", "e")]),
    numbers.map(lambda v: ("num", v)),
)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    unary = st.tuples(st.just("call"), st.sampled_from(UNARY), st.tuples(children))
    return st.one_of(
        unary,
        unary,
        unary,
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*", "/", "^"]), children, children),
        st.tuples(st.just("ipow"), children, st.sampled_from([2, 3, 4, -1, -2, 0, 1])),
        st.tuples(st.just("call"), st.just("hypot"), st.tuples(children, children)),
        st.tuples(
            st.just("call"),
            st.sampled_from(["max", "min"]),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
    )


trees: st.SearchStrategy[Tree] = st.recursive(leaves, _extend, max_leaves=10)


def size(tree: Tree) -> int:
    kind = tree[0]
    if kind in ("var", "const", "num"):
        return 1
    if kind == "neg":
        return 1 + size(tree[1])
    if kind == "bin":
        return 1 + size(tree[2]) + size(tree[3])
    if kind == "ipow":
        return 2 + size(tree[1])
    return 1 + sum(size(a) for a in tree[2])


def has_variables(tree: Tree) -> bool:
    kind = tree[0]
    if kind == "var":
        return True
    if kind in ("const", "num"):
        return False
    if kind in ("neg", "ipow"):
        return has_variables(tree[1])
    if kind == "bin":
        return has_variables(tree[2]) or has_variables(tree[3])
    return any(has_variables(a) for a in tree[2])


def to_text(tree: Tree, rnd: random.Random) -> str:
    """Fully parenthesized text, with random spacing, power symbol and function spellings."""
    kind = tree[0]
    gap = rnd.choice(["", " "])
    if kind in ("var", "const"):
        return str(tree[1])
    if kind == "num":
        return repr(tree[1])
    if kind == "neg":
        return f"(-{gap}{to_text(tree[1], rnd)})"
    if kind == "bin":
        op = rnd.choice(["^", "**"]) if tree[1] == "^" else tree[1]
        return f"({to_text(tree[2], rnd)}{gap}{op}{gap}{to_text(tree[3], rnd)})"
    if kind == "ipow":
        k = tree[2]
        exponent = str(k) if k >= 0 or rnd.random() < 0.5 else f"({k})"
        return f"({to_text(tree[1], rnd)}{rnd.choice(['^', '**'])}{exponent})"
    name = rnd.choice(SPELLINGS.get(tree[1], [tree[1]]))
    return f"{name}({(',' + gap).join(to_text(a, rnd) for a in tree[2])})"


NEAR = 1e-3  # distance from a kink, pole or domain edge below which derivatives are not judged


class Reference:
    """Plain numpy evaluation of a tree that also flags points unfit for finite differences."""

    def __init__(self, x: Array, y: Array) -> None:
        self.x, self.y = x, y
        self.unfit = np.zeros(x.shape, dtype=bool)
        self.scale = np.maximum(np.abs(x), np.abs(y)) + 1.0

    def near(self, distance: Array) -> None:
        self.unfit |= np.abs(distance) < NEAR

    def seen(self, v: Array) -> Array:
        finite = np.isfinite(v)
        self.unfit |= ~finite
        self.scale = np.maximum(self.scale, np.where(finite, np.abs(v), 0.0))
        return v

    def __call__(self, tree: Tree) -> Array:
        return self.seen(self.compute(tree))

    def compute(self, tree: Tree) -> Array:
        kind = tree[0]
        if kind == "var":
            return self.x if tree[1] == "x" else self.y
        if kind == "const":
            return np.full(self.x.shape, math.pi if tree[1] == "pi" else math.e)
        if kind == "num":
            return np.full(self.x.shape, float(tree[1]))
        if kind == "neg":
            return -self(tree[1])
        if kind == "bin":
            a, b = self(tree[2]), self(tree[3])
            if tree[1] == "/":
                self.near(b)
            if tree[1] == "^" and has_variables(tree[3]):
                self.unfit |= a < NEAR  # a^b = exp(b log a) with b varying: needs a > 0
            ops: dict[str, Callable[[Array, Array], Array]] = {
                "+": np.add,
                "-": np.subtract,
                "*": np.multiply,
                "/": np.divide,
                "^": np.power,
            }
            return ops[tree[1]](a, b)
        if kind == "ipow":
            a = self(tree[1])
            if tree[2] < 0:
                self.near(a)
            return np.power(a, float(tree[2]))
        name, args = tree[1], [self(a) for a in tree[2]]
        if name in ("max", "min"):
            result = args[0]
            for other in args[1:]:
                self.near(result - other)
                result = self.seen(
                    np.maximum(result, other) if name == "max" else np.minimum(result, other)
                )
            return result
        if name == "hypot":
            value: Array = np.hypot(args[0], args[1])
            self.near(value)
            return value
        u = args[0]
        if name in ("log", "log10", "log2", "sqrt", "abs", "relu"):
            self.near(u)
        if name == "tan":
            self.near(np.cos(u))
        plain: dict[str, Callable[[Array], Array]] = {
            "sin": np.sin,
            "cos": np.cos,
            "tan": np.tan,
            "exp": np.exp,
            "log": np.log,
            "log10": np.log10,
            "log2": np.log2,
            "sqrt": np.sqrt,
            "abs": np.abs,
            "tanh": np.tanh,
            "sinh": np.sinh,
            "cosh": np.cosh,
            "arctan": np.arctan,
            "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
            "softplus": lambda v: np.logaddexp(0.0, v),
            "relu": lambda v: np.where(v > 0.0, v, np.where(np.isnan(v), v, 0.0)),
        }
        return plain[name](u)


def reference(tree: Tree, p: Array) -> tuple[Array, npt.NDArray[np.bool_], Array]:
    """Reference value, points unfit for judging derivatives, and the largest intermediate."""
    with np.errstate(all="ignore"):
        ref = Reference(p[:, 0], p[:, 1])
        return ref(tree), ref.unfit | (ref.scale > 1e6), ref.scale


STEPS = (2e-5, 1e-5)


def central(fn: Callable[[Array], Array], p: Array, h: float) -> Array:
    """Central differences of ``fn`` along x and y, stacked on a new last axis."""
    columns = []
    for k in range(2):
        e = np.zeros(2)
        e[k] = h
        columns.append((fn(p + e) - fn(p - e)) / (2 * h))
    return np.stack(columns, axis=-1)


def judge(analytic: Array, fn: Callable[[Array], Array], p: Array, scale: Array) -> Array:
    """Per point: 1 if judged and right, 0 if judged and wrong, -1 if not judged.

    Judged means the central differences at two step sizes agree within the tolerance; right means
    the analytic derivative agrees with the finer one within the same tolerance.
    """
    with np.errstate(all="ignore"):
        coarse, fine = (central(fn, p, h) for h in STEPS)
    extra = tuple(range(1, analytic.ndim))
    scale_b = scale.reshape(scale.shape + (1,) * (analytic.ndim - 1))
    tol = 1e-5 * (1 + np.abs(fine)) + 2e-9 * scale_b
    steady = np.all(np.abs(coarse - fine) <= tol, axis=extra)
    right = np.all(np.abs(analytic - fine) <= tol, axis=extra)
    return np.where(steady, right.astype(int), -1)


def check_formula(tree: Tree, style: int) -> Counter[str]:
    text = to_text(tree, random.Random(style))
    expression = parse_expression(text)
    rng = np.random.default_rng(style)
    p = rng.uniform(-3, 3, size=(16, 2))

    ref, unfit, scale = reference(tree, p)
    for k in range(2):  # judge derivatives only where every finite-difference point is fit
        for h in STEPS:
            for sign in (1, -1):
                q = p.copy()
                q[:, k] += sign * h
                unfit |= reference(tree, q)[1]

    value = expression.value(p)
    finite = np.isfinite(ref)
    assert np.array_equal(np.isnan(value), np.isnan(ref)), text
    assert np.array_equal(value[np.isinf(ref)], ref[np.isinf(ref)]), text
    with np.errstate(all="ignore"):
        close = np.abs(value - ref) <= 1e-8 * (np.abs(ref) + scale)
    assert close[finite & (scale <= 1e6)].all(), (text, value, ref)

    formula_again = parse_expression(expression.formula)
    np.testing.assert_array_equal(formula_again.value(p), value)

    grad = expression.grad(p)
    hessian = expression.hessian(p)
    assert np.isnan(grad[np.isnan(value)]).all() and np.isnan(hessian[np.isnan(value)]).all()
    assert np.array_equal(hessian, np.swapaxes(hessian, -1, -2), equal_nan=True), text

    fit = ~unfit
    grad_verdict = judge(grad[fit], expression.value, p[fit], scale[fit])
    assert (grad_verdict != 0).all(), (
        text,
        p[fit][grad_verdict == 0],
        grad[fit][grad_verdict == 0],
    )
    hess_scale = scale[fit] + np.abs(grad[fit]).max(axis=-1, initial=0.0)
    hess_verdict = judge(hessian[fit], expression.grad, p[fit], hess_scale)
    assert (hess_verdict != 0).all(), (text, p[fit][hess_verdict == 0])
    return Counter(
        points=len(p),
        grad_judged=int((grad_verdict == 1).sum()),
        hessian_judged=int((hess_verdict == 1).sum()),
    )


def test_random_formulas_against_reference_and_finite_differences() -> None:
    totals: Counter[str] = Counter()

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(tree=trees, style=st.integers(0, 2**32 - 1))
    def check(tree: Tree, style: int) -> None:
        assume(size(tree) <= 40)
        totals.update(check_formula(tree, style))

    check()
    # Not vacuous: most points were judged (skipping depends only on the reference).
    assert totals["grad_judged"] > 0.4 * totals["points"], totals
    assert totals["hessian_judged"] > 0.4 * totals["points"], totals


@pytest.mark.parametrize(
    "text",
    [
        "sin(x)*cos(y) + 0.1*(x^2+y^2)",
        "(1-x)^2 + 100*(y-x^2)^2",
        "x^y + atan(x*y)",
        "softplus(x-y)",
    ],
)
def test_known_formulas_are_judged_everywhere(text: str) -> None:
    """The finite-difference judge itself is sharp enough: on smooth formulas every point counts."""
    expression = parse_expression(text)
    p = np.random.default_rng(1).uniform(0.5, 2.5, size=(50, 2))
    scale = np.abs(expression.value(p)) + 1
    assert (judge(expression.grad(p), expression.value, p, scale) == 1).all()
    assert (judge(expression.hessian(p), expression.grad, p, scale + 1e3) == 1).all()
