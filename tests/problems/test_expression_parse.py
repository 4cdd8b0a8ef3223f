"""Parsing user formulas: grammar, precedence, names, numbers, errors with positions, rendering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from server.problems.base import Array, Problem
from server.problems.expression import (
    DEFAULT_DOMAIN,
    EXAMPLES,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    Expression,
    ExpressionError,
    check_domain,
    parse_expression,
)


def at(text: str, x: float = 0.7, y: float = -1.3) -> float:
    return float(parse_expression(text).value(np.array([x, y])))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2", -(0.7**2)),
        ("-x^2", -(0.7**2)),
        ("2^3^2", 512.0),
        ("2**3**2", 512.0),
        ("(2^3)^2", 64.0),
        ("x^2", 0.7**2),
        ("-2^2", -4.0),
        ("2^-1", 0.5),
        ("2^-x^2", 2.0 ** -(0.7**2)),
        ("2+3*4", 14.0),
        ("(2+3)*4", 20.0),
        ("2*3^2", 18.0),
        ("8/2/2", 2.0),
        ("8/(2/2)", 8.0),
        ("x - y - 1", 0.7 + 1.3 - 1),
        ("x - (y - 1)", 0.7 - (-1.3 - 1)),
        ("+x", 0.7),
        ("--x", 0.7),
        ("x*-y", 0.7 * 1.3),
        ("2 ** x ^ 2", 2.0 ** (0.7**2)),
        ("1e3", 1000.0),
        ("1.5e-3*x", 1.5e-3 * 0.7),
        (".5", 0.5),
        ("1_000", 1000.0),
        ("0x10", 16.0),
        ("7/2", 3.5),
        ("1/0", math.inf),
        ("-1/0", -math.inf),
    ],
)
def test_arithmetic_and_precedence(text: str, expected: float) -> None:
    assert at(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sin(x)", math.sin(0.7)),
        ("cos(y)", math.cos(-1.3)),
        ("tan(x)", math.tan(0.7)),
        ("exp(y)", math.exp(-1.3)),
        ("log(x)", math.log(0.7)),
        ("ln(x)", math.log(0.7)),
        ("log10(x)", math.log10(0.7)),
        ("log2(x)", math.log2(0.7)),
        ("sqrt(x)", math.sqrt(0.7)),
        ("abs(y)", 1.3),
        ("tanh(y)", math.tanh(-1.3)),
        ("sinh(y)", math.sinh(-1.3)),
        ("cosh(y)", math.cosh(-1.3)),
        ("arctan(y)", math.atan(-1.3)),
        ("atan(y)", math.atan(-1.3)),
        ("sigmoid(y)", 1 / (1 + math.exp(1.3))),
        ("softplus(y)", math.log1p(math.exp(-1.3))),
        ("relu(y)", 0.0),
        ("relu(x)", 0.7),
        ("max(x, y)", 0.7),
        ("min(x, y)", -1.3),
        ("max(x, y, 2)", 2.0),
        ("min(x, y, -5, 3)", -5.0),
        ("hypot(x, y)", math.hypot(0.7, -1.3)),
        ("pi", math.pi),
        ("e", math.e),
        ("2*pi*x", 2 * math.pi * 0.7),
        ("e^x", math.e**0.7),
        ("sigmoid(-800)", 0.0),
        ("softplus(800)", 800.0),
    ],
)
def test_functions_aliases_and_constants(text: str, expected: float) -> None:
    assert at(text) == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_aliases_render_under_their_canonical_name() -> None:
    assert parse_expression("atan(x) + ln(y)").formula == "arctan(x) + log(y)"


def test_whitespace_and_typographic_operators() -> None:
    assert at("  x +\n\ty ") == pytest.approx(0.7 - 1.3)
    assert at("x \u00d7 y") == pytest.approx(0.7 * -1.3)
    assert at("x \u2212 y") == pytest.approx(0.7 + 1.3)
    assert at("x \u00f7 y") == pytest.approx(0.7 / -1.3)


def test_numbers_are_floats_so_huge_powers_are_infinite() -> None:
    assert at("9**9**9") == math.inf
    assert at("(9**9999)**9999") == math.inf
    assert at("1" + "0" * 400) == math.inf
    assert at("10**400 - 10**400") != at("10**400 - 10**400")  # inf - inf is NaN
    assert at("(-8)^(1/3)") != at("(-8)^(1/3)")  # real powers of negatives are undefined
    assert at("(-2)^3") == -8.0


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        ("x + z", "unknown name 'z' at 4: use x and y", 4),
        ("  z", "unknown name 'z' at 2", 2),
        ("x^2 + foo(y)", "function 'foo' at 6 is not allowed; allowed: abs, arctan (atan)", 6),
        ("sin(x, y)", "expected 1 argument for sin, got 2", 0),
        ("hypot(x)", "expected 2 arguments for hypot, got 1", 0),
        ("max(x)", "max needs at least 2 arguments, got 1", 0),
        ("sin(x=1)", "keyword arguments are not allowed", 4),
        ("sin(*x)", "starred arguments", 4),
        ("x.real", "attribute access ('.real')", 1),
        ("(x).real", "attribute access ('.real')", 3),
        ("x % 2", "operator '%' at 2 is not allowed", 2),
        ("x^2 // 2", "operator '//' at 4 is not allowed", 4),
        ("(x) @ y", "operator '@' at 4", 4),
        ("~x", "operator '~' at 0", 0),
        ("not x", "operator 'not' at 0", 0),
        ("x < y", "comparisons", 0),
        ("x and y", "'and' and 'or'", 0),
        ("x if y else 1", "'if ... else'", 0),
        ("x, y", "commas", 0),
        ("[x]", "lists", 0),
        ("x[0]", "indexing", 0),
        ("'x'", "text in quotes", 0),
        ("1j", "imaginary numbers", 0),
        ("True", "'True' at 0 is not allowed", 0),
        ("None", "'None'", 0),
        ("sin", "sin at 0 is a function: write sin(...)", 0),
        ("x(2)", "'x' at 0 is not a function", 0),
        ("(x+1)(x-1)", "only named functions can be called", 0),
        ("2x", "write 2*x", 0),
        ("x +", "cannot read the formula", None),
        ("(x + 1", "'(' was never closed", 0),
        ("x \u00e9", "character '\u00e9' at 2 is not allowed", 2),
        ("x\x00", "character U+0000 at 1", 1),
        ("\uff58", "character", 0),  # fullwidth x: Python would quietly read it as x
        ("", "empty", None),
        ("   ", "empty", None),
    ],
)
def test_errors_say_what_and_where(text: str, fragment: str, position: int | None) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert fragment in info.value.message
    assert str(info.value) == info.value.message
    if position is not None or fragment in ("empty",):
        assert info.value.position == position


def test_error_positions_survive_the_caret_rewrite() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("x^2 + y^2 + w")
    assert info.value.position == 12
    assert "'w' at 12" in info.value.message


def test_syntax_error_positions_point_into_the_user_text() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("x^^2")
    assert info.value.position in (1, 2)


def test_caps() -> None:
    with pytest.raises(
        ExpressionError, match=r"formula too long \(612 characters; the limit is 500\)"
    ):
        parse_expression("x" * 612)
    assert MAX_LENGTH == 500
    parse_expression("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
    with pytest.raises(ExpressionError, match="nested too deeply") as info:
        parse_expression("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    assert info.value.position == MAX_DEPTH
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * 60 + "x")
    with pytest.raises(ExpressionError, match="too many parts"):
        parse_expression("+".join(["x"] * (MAX_NODES // 2 + 1)))
    with pytest.raises(ExpressionError, match="too many parts"):
        parse_expression("max(" + ",".join(["x"] * MAX_NODES) + ")")


@pytest.mark.parametrize(
    "text",
    [
        "-x^2",
        "(-x)^2",
        "x - (y - 1)",
        "x - y - 1",
        "2^3^2",
        "(2^3)^2",
        "-(x*y)",
        "-x*y",
        "x/(y*2)",
        "x/y*2",
        "2^-x",
        "-(-x)",
        "max(x, y, 0)",
        "sin(x)*cos(y) + 0.1*(x^2 + y^2)",
        "1e999*x",
        "1.5e-07 + x",
        "(x + y)^(x - y)",
    ],
)
def test_formula_rendering_reads_back_the_same(text: str) -> None:
    expression = parse_expression(text)
    again = parse_expression(expression.formula)
    assert again.formula == expression.formula
    points = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    np.testing.assert_array_equal(again.value(points), expression.value(points))


def test_formula_is_cleaned_up() -> None:
    assert parse_expression("((x))**2+ ( y*2 )").formula == "x^2 + y*2"
    assert parse_expression("2.0*x").formula == "2*x"


@pytest.mark.parametrize(
    ("points", "value", "grad", "hessian"),
    [
        (np.array([1.0, 2.0]), (), (2,), (2, 2)),
        (np.zeros((1, 2)), (1,), (1, 2), (1, 2, 2)),
        (np.zeros((3, 4, 2)), (3, 4), (3, 4, 2), (3, 4, 2, 2)),
        (np.zeros((0, 2)), (0,), (0, 2), (0, 2, 2)),
    ],
)
@pytest.mark.parametrize("text", ["x*y + sin(x)", "3", "x", "max(x, 1)"])
def test_shapes(
    text: str,
    points: Array,
    value: tuple[int, ...],
    grad: tuple[int, ...],
    hessian: tuple[int, ...],
) -> None:
    expression = parse_expression(text)
    assert expression.value(points).shape == value
    assert expression.grad(points).shape == grad
    assert expression.hessian(points).shape == hessian
    v, g = expression.value_and_grad(points)
    assert v.shape == value and g.shape == grad
    for result in (expression.value(points), expression.grad(points), expression.hessian(points)):
        assert result.dtype == np.float64


def test_results_are_fresh_arrays() -> None:
    points = np.array([[1.0, 2.0], [3.0, 4.0]])
    value = parse_expression("x").value(points)
    value[:] = -1
    assert points[0, 0] == 1.0


def test_points_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        parse_expression("x").value(np.zeros((4, 3)))


def test_it_is_a_problem() -> None:
    problem: Problem = parse_expression("x^2 + y^2")
    assert problem.dim == 2
    np.testing.assert_allclose(problem.grad(np.array([[1.0, -2.0]])), [[2.0, -4.0]])


def test_grid_orientation_and_masking() -> None:
    xs, ys, z = parse_expression("x + 10*y").grid(5, ((0.0, 4.0), (-1.0, 1.0)))
    np.testing.assert_allclose(xs, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(ys, [-1, -0.5, 0, 0.5, 1])
    for i in range(5):
        for j in range(5):
            assert z[i][j] == pytest.approx(xs[j] + 10 * ys[i])
    _, _, z = parse_expression("log(x) + 1/y").grid(5, ((-2.0, 2.0), (-2.0, 2.0)))
    assert np.isnan(z[:, :2]).all()  # log of a negative
    assert np.isnan(z[2, :]).all()  # 1/0 is inf, masked too
    assert np.isfinite(z[[0, 1, 3, 4]][:, 3:]).all()


def test_grid_uses_the_expression_domain_and_caps_n() -> None:
    expression = parse_expression("x*y", domain=[[0, 1], [5, 6]])
    xs, ys, z = expression.grid(3)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (0.0, 1.0, 5.0, 6.0)
    assert z.shape == (3, 3)
    for n in (1, 100_000):
        with pytest.raises(ValueError, match="grid size"):
            expression.grid(n)


@pytest.mark.parametrize(
    "domain",
    [[[1, 0], [0, 1]], [[0, 1]], [[0, float("nan")], [0, 1]], "abc", [[0, 1], [0, 1e999]], 3],
)
def test_bad_domains_are_refused(domain: object) -> None:
    with pytest.raises(ExpressionError, match="domain"):
        check_domain(domain)


def test_to_json() -> None:
    data = parse_expression("(x-1)^2 + (y+2)^2").to_json()
    assert data["expression"] == "(x-1)^2 + (y+2)^2"
    assert data["formula"] == "(x - 1)^2 + (y + 2)^2"
    assert data["domain"] == [[-3.0, 3.0], [-3.0, 3.0]] == [list(r) for r in DEFAULT_DOMAIN]
    x, y = data["start"]
    assert -3 <= x <= 3 and -3 <= y <= 3
    assert (x, y) != (1.0, -2.0)


def test_default_start_avoids_undefined_regions() -> None:
    expression = parse_expression("log(-x) + log(-y)")
    x, y = expression.default_start()
    assert x < 0 and y < 0
    assert math.isfinite(float(expression.value(np.array([x, y]))))


def test_default_start_of_a_formula_undefined_everywhere_is_still_a_point() -> None:
    assert parse_expression("log(-1) * x").default_start() == (0.0, 0.0)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["title"] for e in EXAMPLES])
def test_examples(example: dict[str, object]) -> None:
    expression = parse_expression(str(example["expression"]), domain=example["domain"])
    assert isinstance(expression, Expression)
    (x0, x1), (y0, y1) = expression.domain
    start = np.array(example["start"], dtype=float)
    assert x0 < start[0] < x1 and y0 < start[1] < y1
    assert math.isfinite(float(expression.value(start)))
    assert np.isfinite(expression.grad(start)).all()
    assert np.isfinite(expression.hessian(start)).all()
    assert np.any(expression.grad(start) != 0)
    _, _, z = expression.grid(40)
    assert np.isfinite(z).mean() > 0.5
