"""Hostile formulas: each is refused with ``ExpressionError`` or evaluated, in bounded time.

Then fuzzing (hypothesis): random strings, token soups and random Python-like expression trees.
Only ``ExpressionError`` may ever escape ``parse_expression``, and whatever parses evaluates at
any points (huge, zero, NaN included) without raising or warning.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.problems.base import Array
from server.problems.expression import Expression, ExpressionError, parse_expression

T = TypeVar("T")
GUARD_SECONDS = 30.0  # generous: the caps make every case take milliseconds

POINTS = np.array(
    [
        [0.5, -1.5],
        [0.0, 0.0],
        [-3.0, 2.0],
        [1e300, -1e300],
        [-1e-300, 1e-300],
        [np.nan, 1.0],
        [np.inf, -np.inf],
    ]
)


def bounded(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread; fail the test if it has not finished within ``GUARD_SECONDS``."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:  # handed back to the test thread below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), "did not finish in bounded time"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def evaluate_everywhere(expression: Expression) -> tuple[Array, Array, Array]:
    """Value, gradient and Hessian on extreme points and a grid: no exception, no warning."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        v, g, h = expression.value(POINTS), expression.grad(POINTS), expression.hessian(POINTS)
        _, _, z = expression.grid(30)
        expression.to_json()
    assert v.shape == (len(POINTS),) and g.shape == (len(POINTS), 2)
    assert h.shape == (len(POINTS), 2, 2)
    assert not np.isinf(z).any()
    return v, g, h


def parse_and_evaluate(text: str) -> tuple[Array, Array, Array]:
    return evaluate_everywhere(parse_expression(text))


@pytest.fixture(autouse=True)
def no_shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    calls: list[object] = []

    def fake_system(*args: object) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(os, "system", fake_system)
    yield
    assert calls == [], "os.system was called"


REFUSED = [
    ("__import__('os').system('id')", "only named functions"),
    ("__import__('os')", "function '__import__' at 0 is not allowed"),
    ("__import__", "unknown name '__import__'"),
    ("().__class__.__bases__[0].__subclasses__()", "only named functions"),
    ("().__class__", "attribute access ('.__class__')"),
    ("lambda: 1", "lambda"),
    ("(lambda: 1)()", "only named functions"),
    ("[i for i in range(10**9)]", "comprehensions"),
    ("sum(i for i in range(10**9))", "function 'sum'"),
    ("f'{x}'", "f-strings"),
    ("f\"{__import__('os').system('id')}\"", "f-strings"),
    ("x.real", "attribute access ('.real')"),
    ("sin.__globals__", "attribute access"),
    ("sin(x=1)", "keyword arguments are not allowed"),
    ("max(x, y, key=abs)", "keyword arguments are not allowed"),
    ("'-'*100000 + 'x'", "text in quotes"),
    ("-" * 100000 + "x", "formula too long (100001 characters; the limit is 500)"),
    ("(" * 200 + "x" + ")" * 200, "nested too deeply"),
    ("[" * 200, "nested too deeply"),
    ("sin(" * 90 + "x" + ")" * 90, "nested too deeply"),
    ("-" * 150 + "x", "nested too deeply"),
    ("-" * 499 + "x", "too many parts"),
    ("x" + "**x" * 80, "nested too deeply"),
    ("x" + "+x" * 200, "too many parts"),
    ("eval('1')", "function 'eval'"),
    ("exec", "unknown name 'exec'"),
    ("open('/etc/passwd')", "function 'open'"),
    ("globals()", "function 'globals'"),
    ("x if x else y", "'if ... else'"),
    ("(y := 2)", "assignments"),
    ("*x", "cannot read"),
    ("x[::-1]", "indexing"),
    ("{x: y}", "dictionaries"),
    ("b'x'", "text in quotes"),
    ("...", "'Ellipsis'"),
    ("await x", "'await'"),
    ("x\x00", "character U+0000"),
    ("\u0445", "character"),  # Cyrillic look-alike of x
    ("\uff58", "character"),  # fullwidth x, which Python would normalize to x
    ("x\u2028+y", "character"),
    ("1e5j", "imaginary"),
]


@pytest.mark.parametrize(("text", "fragment"), REFUSED, ids=[t[:40] for t, _ in REFUSED])
def test_hostile_input_is_refused_with_a_clear_message(text: str, fragment: str) -> None:
    def attempt() -> ExpressionError:
        with pytest.raises(ExpressionError) as info:
            parse_expression(text)
        return info.value

    error = bounded(attempt)
    assert fragment in error.message
    assert error.position is None or 0 <= error.position <= len(text)


def test_power_towers_of_constants_are_infinite_at_once() -> None:
    for text in ("9**9**9", "(9**9999)**9999", "9^9^9^9^9", "10**400", "2**2**2**2**2**2"):
        v, _, _ = bounded(partial(parse_and_evaluate, text))
        assert np.all(v == np.inf), text


def test_power_tower_of_x_evaluates() -> None:
    expression = bounded(lambda: parse_expression("x**x**x**x**x**x"))
    bounded(lambda: evaluate_everywhere(expression))
    x = 1.1
    expected = x ** (x ** (x ** (x ** (x**x))))
    assert float(expression.value(np.array([x, 0.0]))) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(expression.grad(np.array([x, 0.0]))).all()


def test_thirty_nested_sines_evaluate() -> None:
    text = "sin(" * 30 + "x" + ")" * 30
    expression = bounded(lambda: parse_expression(text))
    bounded(lambda: evaluate_everywhere(expression))
    expected = 0.9
    for _ in range(30):
        expected = float(np.sin(expected))
    assert float(expression.value(np.array([0.9, 0.0]))) == pytest.approx(expected, rel=1e-12)


def test_deep_but_allowed_formulas_evaluate() -> None:
    for text in (
        "(" * 50 + "x" + ")" * 50,
        "exp(" * 45 + "x" + ")" * 45,
        "-" * 49 + "x",
        "+".join(["x*y"] * 30),
        "max(" + ", ".join(["sin(x)"] * 60) + ")",
    ):
        bounded(partial(parse_and_evaluate, text))


def test_undefined_regions_are_nan_and_masked() -> None:
    v, g, h = bounded(partial(parse_and_evaluate, "log(x) + 1/y"))
    assert np.isnan(v[2]) and np.isnan(g[2]).any() and np.isnan(h[2]).any()  # log(-3)
    assert not np.isfinite(v[1])  # 1/0


# ---- fuzzing -------------------------------------------------------------------------------------

ALPHABET = (
    "xyze0123456789.+-*/^()[]{},:;='\"!@#$%&|~`<> _\\\n\tjabcdfghiklmnopqrstuvw\u00e9\u2212\u00d7"
)
TOKENS = [
    "x", "y", "z", "e", "pi", "1", "0", "2.5", "1e308", "1e-308", "9", "1j", "0x1f", "1_0",
    "+", "-", "*", "/", "**", "^", "%", "//", "@", "<", "==", "and", "or", "not", "if", "else",
    "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", ":=", "lambda", "for", "in", "yield",
    "sin", "cos", "tan", "exp", "log", "ln", "log10", "log2", "sqrt", "abs", "tanh", "sinh",
    "cosh", "arctan", "atan", "sigmoid", "softplus", "relu", "max", "min", "hypot",
    "__import__", "os", "system", "__class__", "'id'", "f'{x}'", "None", "True", "...", " ",
]  # fmt: skip

UNARY_NAMES = [
    "sin", "cos", "tan", "exp", "log", "ln", "log10", "log2", "sqrt", "abs", "tanh", "sinh",
    "cosh", "arctan", "atan", "sigmoid", "softplus", "relu",
]  # fmt: skip


GOOD_LEAVES = [
    "x",
    "y",
    "pi",
    "e",
    "0",
    "1e999",
    "1e-320",
    "9" * 60,
    "1" + "0" * 309,
    "0x10",
    "1_0",
    ".5",
]
BAD_LEAVES = ["z", "'s'", "b'b'", "...", "1j", "True", "None", "__import__"]
BAD_SHAPES = [
    "({0} % {1})", "({0} // {1})", "({0} @ {1})", "({0} << {1})", "({0} & {1})", "({0} | {1})",
    "~{0}", "not {0}", "eval({0})", "foo({0}, {1})", "sin({0}, {1})", "sin({0}, k={1})",
    "({0}).real", "[{0}]", "{0}[0]", "(lambda: {0})", "[i for i in {0}]", "({0} if {1} else 1)",
    "({0} < {1})", "f'{{{0}}}'", "sin()", "max({0})", "hypot({0})", "({0}, {1})",
]  # fmt: skip


@st.composite
def python_like(draw: st.DrawFn, max_depth: int = 5) -> str:
    """Random Python-like expression trees: mostly our grammar, now and then a construct outside it
    (5% of the nodes), so that many parse and evaluation is fuzzed too, with extreme numbers."""

    def node(depth: int) -> str:
        if depth >= max_depth or draw(st.integers(0, 9)) < 3:
            if draw(st.integers(0, 19)) == 0:
                return draw(st.sampled_from(BAD_LEAVES))
            return draw(
                st.one_of(
                    st.sampled_from(GOOD_LEAVES),
                    st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    st.integers(0, 10**30).map(str),
                )
            )
        if draw(st.integers(0, 19)) == 0:
            return draw(st.sampled_from(BAD_SHAPES)).format(node(depth + 1), node(depth + 1))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            op = draw(st.sampled_from(["+", "-", "*", "/", "**", "^"]))
            return f"({node(depth + 1)} {op} {node(depth + 1)})"
        if kind == 1:
            op = draw(st.sampled_from(["+", "-", "*", "/", "**", "^"]))
            return f"{node(depth + 1)}{op}{node(depth + 1)}"
        if kind == 2:
            return draw(st.sampled_from(["-", "+"])) + node(depth + 1)
        if kind == 3:
            return f"{draw(st.sampled_from(UNARY_NAMES))}({node(depth + 1)})"
        name = draw(st.sampled_from(["max", "min", "hypot"]))
        count = 2 if name == "hypot" else draw(st.integers(2, 3))
        return f"{name}({', '.join(node(depth + 1) for _ in range(count))})"

    return node(0)


FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def survive(text: str) -> None:
    """Only ExpressionError may escape; what parses evaluates without exceptions or warnings."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            expression = parse_expression(text)
    except ExpressionError as error:
        assert error.message
        assert error.position is None or 0 <= error.position <= len(text)
        return
    evaluate_everywhere(expression)
    np.testing.assert_array_equal(
        parse_expression(expression.formula).value(POINTS[:3]), expression.value(POINTS[:3])
    )


@settings(FUZZ, max_examples=3000)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_fuzz_strings_over_a_relevant_alphabet(text: str) -> None:
    survive(text)


@settings(FUZZ, max_examples=500)
@given(st.text(max_size=600))
def test_fuzz_arbitrary_unicode(text: str) -> None:
    survive(text)


@settings(FUZZ, max_examples=2000)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from(["", " "]))
def test_fuzz_token_soups(tokens: list[str], gap: str) -> None:
    survive(gap.join(tokens))


@settings(FUZZ, max_examples=500)
@given(python_like())
def test_fuzz_python_like_trees(text: str) -> None:
    survive(text)


def test_parse_accepts_only_text() -> None:
    for value in (None, 3, b"x", ["x"]):
        with pytest.raises(ExpressionError, match="text"):
            parse_expression(value)  # type: ignore[arg-type]
