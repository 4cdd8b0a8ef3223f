"""Two-parameter linear and logistic regression: exact surfaces, gradients, Hessians, minima."""

from __future__ import annotations

import numpy as np
import pytest

from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.regression import RegressionConfig, RegressionProblem

H = 1e-5
CONFIGS = [
    RegressionConfig(model="linear", n=40, noise=0.5, seed=1),
    RegressionConfig(model="linear", n=40, noise=0.5, seed=1, l2=0.3),
    RegressionConfig(model="logistic", n=60, noise=0.8, seed=2),
    RegressionConfig(model="logistic", n=60, noise=0.0, seed=2, l2=0.2),
]
IDS = ["linear", "linear-l2", "logistic", "logistic-l2-separable"]


def _points() -> np.ndarray:
    return np.random.default_rng(0).uniform(-3, 3, size=(4, 5, 2))


def _brute_value(problem: RegressionProblem, w: float, b: float) -> float:
    z = w * problem.x + b
    if problem.config.model == "linear":
        data = np.mean((z - problem.y) ** 2)
    else:
        data = np.mean(np.log1p(np.exp(z)) - problem.y * z)
    return float(data + 0.5 * problem.l2 * w * w)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_value_is_the_stated_formula(config: RegressionConfig) -> None:
    problem = RegressionProblem(config)
    p = _points()
    values = problem.value(p)
    assert values.shape == (4, 5)
    for idx in np.ndindex(values.shape):
        assert values[idx] == pytest.approx(_brute_value(problem, *p[idx]), rel=1e-12)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_gradient_and_hessian_match_finite_differences(config: RegressionConfig) -> None:
    problem = RegressionProblem(config)
    p = _points()
    g, hess = problem.grad(p), problem.hessian(p)
    assert g.shape == (4, 5, 2) and hess.shape == (4, 5, 2, 2)
    for i, e in enumerate(np.eye(2) * H):
        numeric_g = (problem.value(p + e) - problem.value(p - e)) / (2 * H)
        np.testing.assert_allclose(g[..., i], numeric_g, rtol=1e-6, atol=1e-8)
        numeric_h = (problem.grad(p + e) - problem.grad(p - e)) / (2 * H)
        np.testing.assert_allclose(hess[..., :, i], numeric_h, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_linear_minimum_is_the_normal_equations_solution(l2: float) -> None:
    problem = RegressionProblem(RegressionConfig(model="linear", n=30, seed=4, l2=l2))
    x, y = problem.x, problem.y
    design = np.stack([x, np.ones_like(x)], axis=1)
    gram = design.T @ design / x.size + np.diag([l2 / 2, 0.0])
    expected = np.linalg.solve(gram, design.T @ y / x.size)
    if l2 == 0.0:
        np.testing.assert_allclose(expected, np.linalg.lstsq(design, y, rcond=None)[0], atol=1e-12)
    [[w, b, f]] = problem.minima
    np.testing.assert_allclose([w, b], expected, atol=1e-12)
    assert f == pytest.approx(_brute_value(problem, w, b), rel=1e-12)
    grid = problem.value(_points())
    assert np.all(grid >= f)


def test_logistic_minimum_is_stationary_or_absent() -> None:
    overlapping = RegressionProblem(RegressionConfig(model="logistic", n=80, noise=0.7))
    assert not overlapping.separable()
    [[w, b, f]] = overlapping.minima
    assert np.abs(overlapping.grad(np.array([w, b]))).max() < 1e-10
    assert np.all(overlapping.value(_points()) >= f)
    separable = RegressionProblem(RegressionConfig(model="logistic", n=40, noise=0.0))
    assert separable.separable() and separable.minima == []
    with_l2 = RegressionProblem(RegressionConfig(model="logistic", n=40, noise=0.0, l2=0.1))
    assert len(with_l2.minima) == 1


def test_fitted_line_and_json() -> None:
    linear = RegressionProblem(RegressionConfig(model="linear"))
    p = np.array([[2.0, 1.0], [0.0, -1.0]])
    xs = np.array([-1.0, 0.0, 3.0])
    np.testing.assert_allclose(linear.fitted_line(p, xs), [[-1.0, 1.0, 7.0], [-1.0, -1.0, -1.0]])
    assert linear.fitted_line(p).shape == (2, 50)
    logistic = RegressionProblem(RegressionConfig(model="logistic"))
    np.testing.assert_allclose(logistic.fitted_line(np.array([0.0, 0.0]), xs), [0.5] * 3)
    doc = linear.to_json()
    (w0, w1), (b0, b1) = doc["domain"]
    [[w, b, _]] = doc["minima"]
    assert w0 < w < w1 and b0 < b < b1
    assert w0 <= doc["start"][0] <= w1 and b0 <= doc["start"][1] <= b1
    assert len(doc["data"]["x"]) == 50 and all(isinstance(v, float) for v in doc["domain"][0])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"model": "poisson"}, "regression.model"),
        ({"n": 1}, "regression.n"),
        ({"n": 20.5}, "regression.n"),
        ({"noise": "lots"}, "regression.noise"),
        ({"l2": float("nan")}, "regression.l2"),
        ({"slope": 1}, "regression.slope"),
    ],
)
def test_invalid_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        RegressionConfig.from_json(data)
    assert info.value.field == field


def test_config_round_trip() -> None:
    config = RegressionConfig.from_json({"model": "logistic", "n": 30.0, "seed": 3})
    assert config == RegressionConfig(model="logistic", n=30, seed=3)
    assert RegressionConfig.from_json(config.to_json()) == config
    assert RegressionProblem.from_json({"model": "logistic"}).dim == 2
