"""Surfaces: closed forms against finite differences, minima against published values, the API."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import orjson
import pytest

from server.problems.base import Array, Problem
from server.problems.surfaces import SURFACES, Surface, SurfaceError, get_surface

NAMES = [
    "rosenbrock",
    "himmelblau",
    "beale",
    "booth",
    "matyas",
    "rastrigin",
    "ackley",
    "goldstein_price",
    "six_hump_camel",
    "three_hump_camel",
    "styblinski_tang",
    "levi13",
    "easom",
    "mccormick",
    "quadratic",
    "saddle",
    "monkey_saddle",
]

# Every surface at its defaults, plus the parametrized ones away from their defaults.
CASES: list[tuple[str, dict[str, float]]] = [(name, {}) for name in NAMES] + [
    ("rosenbrock", {"a": -0.7, "b": 3.0}),
    ("rastrigin", {"A": 2.5}),
    ("quadratic", {"kappa": 250.0, "angle": 33.0}),
    ("quadratic", {"kappa": 1.0, "angle": -90.0}),
]
CASE_IDS = [name + "".join(f"-{k}={v:g}" for k, v in params.items()) for name, params in CASES]

# Published global minima (VLSE / the usual tables) as (x, y, f, digits of x and y, digits of f).
PUBLISHED: dict[str, list[tuple[float, float, float, int, int]]] = {
    "rosenbrock": [(1.0, 1.0, 0.0, 12, 12)],
    "himmelblau": [
        (3.0, 2.0, 0.0, 12, 12),
        (-2.805118, 3.131312, 0.0, 6, 12),
        (-3.779310, -3.283186, 0.0, 6, 12),
        (3.584428, -1.848126, 0.0, 6, 12),
    ],
    "beale": [(3.0, 0.5, 0.0, 12, 12)],
    "booth": [(1.0, 3.0, 0.0, 12, 12)],
    "matyas": [(0.0, 0.0, 0.0, 12, 12)],
    "rastrigin": [(0.0, 0.0, 0.0, 12, 12)],
    "ackley": [(0.0, 0.0, 0.0, 12, 12)],
    "goldstein_price": [(0.0, -1.0, 3.0, 12, 12)],
    "six_hump_camel": [(0.0898, -0.7126, -1.0316, 4, 4), (-0.0898, 0.7126, -1.0316, 4, 4)],
    "three_hump_camel": [(0.0, 0.0, 0.0, 12, 12)],
    "styblinski_tang": [(-2.903534, -2.903534, -78.33233, 6, 5)],
    "levi13": [(1.0, 1.0, 0.0, 12, 12)],
    "easom": [(math.pi, math.pi, -1.0, 12, 12)],
    "mccormick": [(-0.54719, -1.54719, -1.9133, 5, 4)],
    "quadratic": [(0.0, 0.0, 0.0, 12, 12)],
    "saddle": [],
    "monkey_saddle": [],
}
# Published local minima worth checking too (Goldstein-Price's are exact; Dixon & Szego).
PUBLISHED_LOCAL: dict[str, list[tuple[float, float, float]]] = {
    "goldstein_price": [(-0.6, -0.4, 30.0), (1.8, 0.2, 84.0), (1.2, 0.8, 840.0)],
}


PI = math.pi
# The textbook formulas, written out independently of the module (at default parameters).
REFERENCE: dict[str, Callable[[Array, Array], Array]] = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "beale": lambda x, y: (
        (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    ),
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "matyas": lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y,
    "rastrigin": lambda x, y: 20 + x**2 - 10 * np.cos(2 * PI * x) + y**2 - 10 * np.cos(2 * PI * y),
    "ackley": lambda x, y: (
        -20 * np.exp(-0.2 * np.sqrt(0.5 * (x**2 + y**2)))
        - np.exp(0.5 * (np.cos(2 * PI * x) + np.cos(2 * PI * y)))
        + math.e
        + 20
    ),
    "goldstein_price": lambda x, y: (
        (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2))
        * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2))
    ),
    "six_hump_camel": lambda x, y: (
        (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    ),
    "three_hump_camel": lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2,
    "styblinski_tang": lambda x, y: 0.5 * (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y),
    "levi13": lambda x, y: (
        np.sin(3 * PI * x) ** 2
        + (x - 1) ** 2 * (1 + np.sin(3 * PI * y) ** 2)
        + (y - 1) ** 2 * (1 + np.sin(2 * PI * y) ** 2)
    ),
    "easom": lambda x, y: -np.cos(x) * np.cos(y) * np.exp(-((x - PI) ** 2) - (y - PI) ** 2),
    "mccormick": lambda x, y: np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
    "quadratic": lambda x, y: 0.5 * (x**2 + 10 * y**2),
    "saddle": lambda x, y: x**2 - y**2,
    "monkey_saddle": lambda x, y: x**3 - 3 * x * y**2,
}


def random_points(name: str, n: int, seed: int) -> Array:
    (x0, x1), (y0, y1) = SURFACES[name].domain
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)], axis=-1)


H = 1e-4  # domains are at most 20 wide, so p + H is exact to ~1e-12 relative


def steps(p: Array) -> Array:
    """The step H made exactly representable at each coordinate of ``p``."""
    return (p + H) - p


def five_point(fun: Callable[[Array], Array], p: Array, i: int) -> Array:
    """d fun / d p_i by the five-point stencil: error ~ h^4 f^(5) / 30 + eps |f| / h."""
    h = steps(p)[:, i]
    e = np.zeros_like(p)
    e[:, i] = h
    near = fun(p + e) - fun(p - e)
    far = fun(p + 2.0 * e) - fun(p - 2.0 * e)
    h = h.reshape(h.shape + (1,) * (near.ndim - 1))
    return (8.0 * near - far) / (12.0 * h)


def fd_grad(s: Surface, p: Array) -> Array:
    return np.stack([five_point(s.value, p, i) for i in range(2)], axis=-1)


def fd_hessian(s: Surface, p: Array) -> Array:
    return np.stack([five_point(s.grad, p, j) for j in range(2)], axis=-1)


def test_names_in_order() -> None:
    assert list(SURFACES) == NAMES
    for name, spec in SURFACES.items():
        assert spec.name == name


@pytest.mark.parametrize("name", NAMES)
def test_value_is_the_textbook_formula(name: str) -> None:
    p = random_points(name, 500, seed=0)
    expected = REFERENCE[name](p[:, 0], p[:, 1])
    np.testing.assert_allclose(get_surface(name).value(p), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_gradient_matches_finite_differences(name: str, params: dict[str, float]) -> None:
    s = get_surface(name, params)
    p = random_points(name, 200, seed=1)
    g = s.grad(p)
    f = np.abs(s.value(p))
    # The stencil's error is mostly rounding, ~eps |f| / h = 2e-12 |f|; the worst case measured
    # over these cases is 1.3e-10 (|g| + |f|), the quadratic at kappa = 250 (cancellation in f).
    tol = 1e-8 * (np.linalg.norm(g, axis=-1) + f)
    err = np.abs(fd_grad(s, p) - g).max(axis=-1)
    worst = int(np.argmax(err / tol))
    assert np.all(err <= tol), f"{name} at {p[worst]}: error {err[worst]:.3g} > {tol[worst]:.3g}"


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_hessian_matches_finite_differences(name: str, params: dict[str, float]) -> None:
    s = get_surface(name, params)
    p = random_points(name, 200, seed=2)
    h = s.hessian(p)
    np.testing.assert_array_equal(h, np.swapaxes(h, -1, -2))
    g = np.linalg.norm(s.grad(p), axis=-1)
    # measured worst case: 1.5e-11 (|H| + |g|), Levi N.13
    tol = 1e-8 * (np.linalg.norm(h, axis=(-2, -1)) + g)
    err = np.abs(fd_hessian(s, p) - h).max(axis=(-2, -1))
    worst = int(np.argmax(err / tol))
    assert np.all(err <= tol), f"{name} at {p[worst]}: error {err[worst]:.3g} > {tol[worst]:.3g}"


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_vectorized_over_leading_shape(name: str, params: dict[str, float]) -> None:
    s = get_surface(name, params)
    p = random_points(name, 12, seed=3).reshape(3, 4, 2)
    v, g, h = s.value(p), s.grad(p), s.hessian(p)
    assert v.shape == (3, 4)
    assert g.shape == (3, 4, 2)
    assert h.shape == (3, 4, 2, 2)
    for i in range(3):
        for j in range(4):
            q = p[i, j]
            np.testing.assert_allclose(v[i, j], s.value(q), rtol=1e-13, atol=1e-300)
            np.testing.assert_allclose(g[i, j], s.grad(q), rtol=1e-13, atol=1e-300)
            np.testing.assert_allclose(h[i, j], s.hessian(q), rtol=1e-13, atol=1e-300)
    assert s.grad(p[0, :1]).shape == (1, 2)
    assert s.hessian(p[0, 0]).shape == (2, 2)


def test_bad_point_shape_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        get_surface("booth").grad(np.zeros((4, 3)))


@pytest.mark.parametrize("name", NAMES)
def test_surface_is_a_problem(name: str) -> None:
    s: Problem = get_surface(name)
    assert s.dim == 2


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_minima(name: str) -> None:
    spec = SURFACES[name]
    s = get_surface(name)
    (x0, x1), (y0, y1) = spec.domain
    assert s.minima() == list(spec.minima)
    for x, y, f in spec.minima:
        assert x0 <= x <= x1 and y0 <= y <= y1
        p = np.array([x, y])
        assert s.value(p) == pytest.approx(f, rel=1e-12, abs=1e-12)
        hess = s.hessian(p)
        assert np.all(np.linalg.eigvalsh(hess) > 0), f"{name} {p}: not a strict minimum"
        # listed to full precision: within a few ulps of the stationary point Newton's method finds
        q = p.copy()
        for _ in range(5):
            q = q - np.linalg.solve(s.hessian(q), s.grad(q))
        assert np.max(np.abs(q - p)) <= 1e-12, f"{name}: {p} refines to {q}"
        assert s.value(q) == pytest.approx(f, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_minima_agree_with_published_values(name: str) -> None:
    listed = SURFACES[name].minima
    published = PUBLISHED[name]
    if not published:
        assert listed == ()
        return
    best = min(m[2] for m in listed)
    globals_ = [m for m in listed if m[2] <= best + 1e-9 * (1.0 + abs(best))]
    assert len(globals_) == len(published)
    for px, py, pf, coord_digits, f_digits in published:
        # agree within one unit of the last published digit
        near = [
            m
            for m in globals_
            if abs(m[0] - px) <= 10.0**-coord_digits and abs(m[1] - py) <= 10.0**-coord_digits
        ]
        assert len(near) == 1, f"{name}: no listed minimum near ({px}, {py})"
        assert near[0][2] == pytest.approx(pf, abs=10.0**-f_digits)
    for px, py, pf in PUBLISHED_LOCAL.get(name, []):
        assert any(
            abs(m[0] - px) < 1e-9 and abs(m[1] - py) < 1e-9 and abs(m[2] - pf) < 1e-9
            for m in listed
        )


@pytest.mark.parametrize("name", NAMES)
def test_nothing_on_a_fine_grid_beats_the_global_minimum(name: str) -> None:
    spec = SURFACES[name]
    if not spec.minima:
        return
    best = min(m[2] for m in spec.minima)
    z = get_surface(name).grid(1001)[2]
    assert z.min() >= best - 1e-9 * (1.0 + abs(best))
    # and the grid comes close to it, so the domain really contains the basin
    assert z.min() <= best + 0.05 * (1.0 + abs(best))


def test_global_minima_of_published_local_ones_listed_in_order() -> None:
    for spec in SURFACES.values():
        values = [m[2] for m in spec.minima]
        assert values == sorted(values), spec.name


def test_rosenbrock_minimum_follows_a() -> None:
    s = get_surface("rosenbrock", {"a": 0.5, "b": 10.0})
    assert s.minima() == [(0.5, 0.25, 0.0)]
    p = np.array([0.5, 0.25])
    assert s.value(p) == 0.0
    np.testing.assert_array_equal(s.grad(p), [0.0, 0.0])
    assert SURFACES["rosenbrock"].to_json({"a": 0.5})["minima"] == [[0.5, 0.25, 0.0]]


@pytest.mark.parametrize("kappa", [1.0, 2.5, 10.0, 123.0, 1000.0])
@pytest.mark.parametrize("angle", [-90.0, -30.0, 0.0, 17.0, 45.0, 90.0])
def test_quadratic_eigenvalues_are_one_and_kappa(kappa: float, angle: float) -> None:
    s = get_surface("quadratic", {"kappa": kappa, "angle": angle})
    h = s.hessian(np.array([0.3, -0.7]))
    w, v = np.linalg.eigh(h)
    np.testing.assert_allclose(w, [1.0, kappa], rtol=1e-13)
    assert s.lambda_max() == kappa
    if kappa > 1.0:  # the steep direction is the y axis rotated by the angle
        t = math.radians(angle)
        assert abs(v[:, 1] @ [-math.sin(t), math.cos(t)]) == pytest.approx(1.0, abs=1e-12)
    # the gradient of a quadratic is H p and its value p^T H p / 2
    p = random_points("quadratic", 20, seed=4)
    np.testing.assert_allclose(s.grad(p), p @ h, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(s.value(p), 0.5 * np.einsum("ni,ij,nj->n", p, h, p), rtol=1e-12)


def test_quadratic_defaults() -> None:
    s = get_surface("quadratic")
    assert s.params == {"kappa": 10.0, "angle": 0.0}
    np.testing.assert_array_equal(s.hessian(np.zeros(2)), [[1.0, 0.0], [0.0, 10.0]])


def test_lambda_max_only_for_constant_positive_definite_hessians() -> None:
    for name in NAMES:
        s = get_surface(name)
        lam = s.lambda_max()
        if lam is None:
            continue
        p = random_points(name, 5, seed=5)
        hessians = s.hessian(p)
        np.testing.assert_allclose(hessians, np.broadcast_to(hessians[0], hessians.shape))
        w = np.linalg.eigvalsh(hessians[0])
        assert w[0] > 0
        assert lam == pytest.approx(w[-1], rel=1e-12)
    assert get_surface("rosenbrock").lambda_max() is None
    assert get_surface("saddle").lambda_max() is None


def test_ackley_at_its_cone_tip() -> None:
    s = get_surface("ackley")
    p = np.zeros((1, 2))
    assert abs(s.value(p)[0]) < 1e-14
    np.testing.assert_array_equal(s.grad(p), [[0.0, 0.0]])
    h = s.hessian(p)
    assert np.all(np.isfinite(h))
    # with the cone's part taken as 0, what is left is the ripple's Hessian, (2 pi^2 e) I
    np.testing.assert_allclose(h[0], 2.0 * math.pi**2 * math.e * np.eye(2), rtol=1e-14)
    tiny = np.array([[1e-310, -1e-310], [0.0, 5e-324]])
    assert np.all(np.isfinite(s.grad(tiny)))
    assert np.all(np.isfinite(s.hessian(tiny)))


def test_bind_rejects_unknown_parameter() -> None:
    with pytest.raises(ValueError, match="'c'") as info:
        SURFACES["rosenbrock"].bind({"c": 1.0})
    assert isinstance(info.value, SurfaceError)
    assert info.value.field == "c"
    with pytest.raises(ValueError, match="'kappa'"):
        get_surface("booth", {"kappa": 3.0})


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        ("quadratic", "kappa", 0.5),
        ("quadratic", "kappa", 1e6),
        ("quadratic", "angle", 91.0),
        ("rosenbrock", "b", 0.0),
        ("rosenbrock", "a", float("nan")),
        ("rastrigin", "A", float("inf")),
        ("rastrigin", "A", -1.0),
    ],
)
def test_bind_rejects_out_of_range(name: str, param: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"'{param}'") as info:
        get_surface(name, {param: value})
    assert isinstance(info.value, SurfaceError)
    assert info.value.field == param


@pytest.mark.parametrize("value", [True, "3", None, [1.0]])
def test_bind_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="'kappa'"):
        get_surface("quadratic", {"kappa": value})  # type: ignore[dict-item]


def test_bind_accepts_bounds_and_ints() -> None:
    s = get_surface("quadratic", {"kappa": 1000, "angle": -90})
    assert s.params == {"kappa": 1000.0, "angle": -90.0}
    assert all(isinstance(v, float) for v in s.params.values())


def test_unknown_surface() -> None:
    with pytest.raises(ValueError, match="'nope'") as info:
        get_surface("nope")
    assert isinstance(info.value, SurfaceError)
    assert info.value.field == "surface"


@pytest.mark.parametrize("name", NAMES)
def test_to_json(name: str) -> None:
    spec = SURFACES[name]
    data = orjson.loads(orjson.dumps(spec.to_json()))
    assert set(data) == {
        "name",
        "title",
        "formula",
        "domain",
        "minima",
        "start",
        "params",
        "log_color",
    }
    assert data["name"] == name
    (x0, x1), (y0, y1) = data["domain"]
    assert x0 < x1 and y0 < y1
    sx, sy = data["start"]
    assert x0 <= sx <= x1 and y0 <= sy <= y1
    assert data["minima"] == [list(m) for m in spec.minima]
    assert list(data["params"]) == [p.name for p in spec.params]
    for p in data["params"].values():
        assert set(p) == {"name", "default", "min", "max", "scale", "doc"}
        assert p["min"] <= p["default"] <= p["max"]
        assert p["scale"] in ("linear", "log")
        assert p["scale"] == "linear" or p["min"] > 0
    # the start is not already a stationary point
    assert np.linalg.norm(get_surface(name).grad(np.array(data["start"]))) > 1e-3


def test_to_json_validates_params() -> None:
    with pytest.raises(ValueError, match="'kappa'"):
        SURFACES["quadratic"].to_json({"kappa": -1.0})


@pytest.mark.parametrize("name", NAMES)
def test_grid(name: str) -> None:
    s = get_surface(name)
    x, y, z = s.grid(7)
    (x0, x1), (y0, y1) = SURFACES[name].domain
    assert x.shape == (7,) and y.shape == (7,) and z.shape == (7, 7)
    assert (x[0], x[-1], y[0], y[-1]) == (x0, x1, y0, y1)
    for i in range(7):
        for j in range(7):
            assert z[i, j] == pytest.approx(s.value(np.array([x[j], y[i]])), rel=1e-13, abs=1e-300)
    assert np.all(np.isfinite(s.grid(200)[2]))


def test_grid_over_a_custom_domain() -> None:
    s = get_surface("goldstein_price")
    x, y, z = s.grid(5, ((-1.0, 1.0), (0.0, 2.0)))
    np.testing.assert_array_equal(x, np.linspace(-1.0, 1.0, 5))
    np.testing.assert_array_equal(y, np.linspace(0.0, 2.0, 5))
    assert z[3, 1] == s.value(np.array([x[1], y[3]]))
    z = s.grid(3, ((-1e80, 1e80), (-1e80, 1e80)))[2]
    assert np.isnan(z[0, 0])  # overflow is NaN, never inf
    for bad in [((1.0, 0.0), (0.0, 1.0)), ((0.0, 1.0), (0.0, 0.0)), ((0.0, math.inf), (0.0, 1.0))]:
        with pytest.raises(ValueError, match="domain"):
            s.grid(5, bad)


@pytest.mark.parametrize("n", [0, 1, -5, 2.5, True])
def test_grid_rejects_bad_sizes(n: int) -> None:
    with pytest.raises(ValueError, match="n"):
        get_surface("booth").grid(n)


@pytest.mark.parametrize("name", NAMES)
def test_log_color_follows_the_documented_rule(name: str) -> None:
    z = get_surface(name).grid(200)[2]
    d = z - z.min()
    assert SURFACES[name].log_color == bool(d.max() > 100.0 * np.percentile(d, 10))
