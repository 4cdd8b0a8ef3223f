"""Loss-landscape slices: directions, the grid, and projection of trajectories."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from server.problems.nn.landscape import (
    MAX_SLICE_N,
    directions,
    landscape,
    loss_slice,
    pca_directions,
    project,
    suggested_size,
)
from server.problems.nn.problem import NetworkProblem


@pytest.fixture(scope="module")
def problem() -> NetworkProblem:
    return NetworkProblem.from_json({"dataset": "moons", "n": 120, "hidden": [8, 6]})


def test_directions_are_filter_normalized_with_zero_biases(problem: NetworkProblem) -> None:
    center = problem.init_params(0)
    d1, d2 = directions(problem, center, seed=3)
    assert not np.allclose(d1, d2)
    for d in (d1, d2):
        for slot in problem.mlp.slots:
            shape = (slot.fan_out, slot.fan_in)
            rows = np.linalg.norm(d[slot.weight].reshape(shape), axis=1)
            weights = np.linalg.norm(center[slot.weight].reshape(shape), axis=1)
            np.testing.assert_allclose(rows, weights, rtol=1e-12)
            assert np.all(d[slot.bias] == 0.0)
    again = directions(problem, center, seed=3)
    assert np.array_equal(again[0], d1) and np.array_equal(again[1], d2)
    assert not np.array_equal(directions(problem, center, seed=4)[0], d1)


def test_slice_centre_is_the_loss_at_the_centre(problem: NetworkProblem) -> None:
    center = problem.init_params(1)
    d1, d2 = directions(problem, center, seed=0)
    a, b, z = loss_slice(problem, center, d1, d2, n=9, span=0.5)
    assert z.shape == (9, 9) and a[4] == 0.0 and b[4] == 0.0
    assert z[4, 4] == pytest.approx(float(problem.value(center)), abs=1e-14)
    # z[i, j] is at a[j] along d1 and b[i] along d2
    expected = problem.value(center + a[7] * d1 + b[2] * d2)
    assert z[2, 7] == pytest.approx(float(expected), abs=1e-14)
    assert np.all(np.isfinite(z)) and np.ptp(z) > 0


def test_slice_is_chunked_without_changing_values(
    problem: NetworkProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.problems.nn.landscape as module

    center = problem.init_params(2)
    d1, d2 = directions(problem, center, seed=1)
    whole = loss_slice(problem, center, d1, d2, n=7)[2]
    monkeypatch.setattr(module, "_CHUNK_FLOATS", problem.dim * 7 * 2)
    np.testing.assert_array_equal(loss_slice(problem, center, d1, d2, n=7)[2], whole)


def test_projection_recovers_plane_coordinates(problem: NetworkProblem) -> None:
    center = problem.init_params(3)
    d1, d2 = directions(problem, center, seed=2)  # not orthogonal
    assert abs(d1 @ d2) > 1e-6
    coords = np.random.default_rng(0).uniform(-2, 2, size=(10, 2))
    points = center + coords[:, :1] * d1 + coords[:, 1:] * d2
    np.testing.assert_allclose(project(points, center, d1, d2), coords, atol=1e-12)


def test_pca_directions_are_orthonormal_and_span_the_runs(problem: NetworkProblem) -> None:
    center = problem.init_params(0)
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal(problem.dim), rng.standard_normal(problem.dim)
    t = np.linspace(0, 1, 20)[:, None]
    runs = [center + t * u, center + t * v + t**2 * u]
    d1, d2 = pca_directions(runs, center)
    np.testing.assert_allclose([d1 @ d1, d2 @ d2, d1 @ d2], [1.0, 1.0, 0.0], atol=1e-12)
    for run in runs:
        back = project(run, center, d1, d2)
        rebuilt = center + back[:, :1] * d1 + back[:, 1:] * d2
        np.testing.assert_allclose(rebuilt, run, atol=1e-10)
    # a single straight run still gets a second direction
    d1, d2 = pca_directions([center + t * u], center)
    assert abs(d1 @ d2) < 1e-12 and abs(np.linalg.norm(d2) - 1.0) < 1e-12


@pytest.mark.parametrize("method", ["filter", "pca"])
def test_landscape_projects_every_run_and_covers_it(problem: NetworkProblem, method: str) -> None:
    center = problem.init_params(0)
    runs = [np.stack([center + 0.3 * k * np.ones(problem.dim) for k in range(5)])]
    runs.append(np.stack([center, center + np.nan]))  # a diverged run
    result = landscape(problem, center, runs, method=method, n=7)
    assert result.z.shape == (7, 7) and [p.shape for p in result.paths] == [(5, 2), (2, 2)]
    np.testing.assert_allclose(result.paths[0][0], [0.0, 0.0], atol=1e-12)
    span = result.a[-1]
    assert np.abs(result.paths[0]).max() <= span
    doc = orjson.loads(orjson.dumps(result.to_json()))
    assert doc["paths"][1][1] == [None, None] and len(doc["z"]) == 7


def test_limits(problem: NetworkProblem) -> None:
    center = problem.init_params(0)
    d1, d2 = directions(problem, center, seed=0)
    with pytest.raises(ValueError, match="slice size"):
        loss_slice(problem, center, d1, d2, n=MAX_SLICE_N + 1)
    with pytest.raises(ValueError, match="span"):
        loss_slice(problem, center, d1, d2, n=5, span=float("nan"))
    with pytest.raises(ValueError, match="method"):
        landscape(problem, center, [], method="hessian")
    assert suggested_size(problem) == MAX_SLICE_N
    big = NetworkProblem.from_json({"n": 2000, "hidden": [64] * 6})
    assert 3 <= suggested_size(big) < MAX_SLICE_N
