"""The basin and sweep observers against a plain per-row loop over the same paths."""

from __future__ import annotations

import numpy as np
import pytest

from server.analysis.track import DIVERGED, NONE, NearBest, NearestMinimum


def reference(targets: np.ndarray) -> tuple[list[int], list[int]]:
    """targets[k, i]: row i's target at step k. The last target, and the first step of the
    final stretch on it (-1 where the last target is NONE)."""
    result, settled = [], []
    for column in targets.T:
        last = int(column[-1])
        k = len(column) - 1
        while k > 0 and column[k - 1] == last:
            k -= 1
        result.append(last)
        settled.append(k if last >= 0 else -1)
    return result, settled


def nearest(x: np.ndarray, y: np.ndarray, minima: list[tuple[float, float]], tol: float) -> int:
    hits = [j for j, (mx, my) in enumerate(minima) if (x - mx) ** 2 + (y - my) ** 2 <= tol * tol]
    return hits[-1] if hits else NONE  # overlapping balls: the last minimum listed


@pytest.mark.parametrize(("count", "tol"), [(1, 0.3), (4, 0.3), (3, 2.0), (140, 0.05)])
def test_nearest_minimum_matches_a_plain_loop(count: int, tol: float) -> None:
    rng = np.random.default_rng(count)
    minima = [(float(a), float(b)) for a, b in rng.uniform(-1, 1, (count, 2))]
    steps, rows = 60, 200
    walk = np.cumsum(rng.normal(0, 0.15, (steps + 1, rows, 2)), axis=0)
    path = np.clip(walk, -1.2, 1.2)
    observer = NearestMinimum(rows, minima, tol)
    for k in range(steps + 1):
        observer.step(k, path[k, :, 0].copy(), path[k, :, 1].copy(), np.zeros(rows))
    result, settled = observer.finish()
    targets = np.array(
        [[nearest(px, py, minima, tol) for px, py in path[k]] for k in range(steps + 1)]
    )
    assert (result.tolist(), settled.tolist()) == reference(targets)
    assert (result >= 0).any() and ((result == NONE).any() or tol > 1.0)


def test_near_best_and_dropped_rows() -> None:
    rng = np.random.default_rng(7)
    steps, rows = 40, 50
    losses = np.abs(rng.normal(0, 1, (steps + 1, rows)))
    observer = NearBest(rows, 0.0, 0.5)
    keep = np.ones(rows, dtype=bool)
    keep[::7] = False  # these rows diverge at step 20
    index = np.arange(rows)
    for k in range(steps + 1):
        observer.step(k, np.zeros(len(index)), np.zeros(len(index)), losses[k, index])
        if k == 20:
            observer.drop(keep)
            index = index[keep]
    result, settled = observer.finish()
    targets = np.where(losses <= 0.5, 0, NONE)
    expected = reference(targets)
    for i in range(rows):
        if keep[i]:
            assert (result[i], settled[i]) == (expected[0][i], expected[1][i])
        else:
            assert result[i] == DIVERGED
