"""A 2D slice of a network's loss around a point, and trajectories projected onto it.

Following Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets": the slice is
``f(c + a d1 + b d2)`` over a grid of ``(a, b)`` for a centre ``c`` and two fixed directions.

- ``directions``: filter-normalized random directions. Each Gaussian direction is rescaled row
  by row: the row of a layer's direction that feeds neuron j gets the norm of the same row of
  the centre's weights, ``d_j <- d_j * |W_j| / |d_j|``. Bias entries are set to zero (the
  paper's choice for 1-D parameters), so the slice moves the weights only.
- ``pca_directions``: the top two principal directions of the runs' points relative to the
  centre (the paper's choice for drawing trajectories, which random directions miss).

``project`` puts points on the plane by least squares, ``argmin |c + a d1 + b d2 - p|``, which
handles a non-orthogonal pair. ``loss_slice`` evaluates the whole grid with batched forwards
(the rows of the grid are N parameter vectors of one call). It costs about
``n^2 * points * P`` multiply-adds; ``suggested_size`` picks ``n`` for a budget. This module is
CPU-bound: call it off the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.problems.base import Array
from server.problems.nn.problem import NetworkProblem

MAX_SLICE_N = 41
_CHUNK_FLOATS = 1 << 21


def directions(problem: NetworkProblem, center: Array, seed: int) -> tuple[Array, Array]:
    """Two filter-normalized random directions ``(P,)`` around ``center`` (biases zero)."""
    center = np.asarray(center, dtype=np.float64).reshape(problem.dim)
    rng = np.random.default_rng(seed)
    pair = []
    for _ in range(2):
        d = np.zeros(problem.dim)
        for slot in problem.mlp.slots:
            shape = (slot.fan_out, slot.fan_in)
            w = center[slot.weight].reshape(shape)
            r = rng.standard_normal(shape)
            scale = np.linalg.norm(w, axis=1, keepdims=True) / np.linalg.norm(
                r, axis=1, keepdims=True
            )
            d[slot.weight] = (r * scale).ravel()
        pair.append(d)
    return pair[0], pair[1]


def pca_directions(
    trajectories: Sequence[Array], center: Array, seed: int = 0
) -> tuple[Array, Array]:
    """The two leading principal directions (unit vectors) of all points minus ``center``.

    If the points span fewer than two directions, the missing ones are random unit vectors
    orthogonal to the others (from ``seed``).
    """
    center = np.asarray(center, dtype=np.float64).ravel()
    rows = [np.asarray(t, dtype=np.float64).reshape(-1, center.size) for t in trajectories]
    points = np.concatenate([*rows, center[None]], axis=0)
    points = points[np.isfinite(points).all(axis=1)] - center
    _, sv, vt = np.linalg.svd(points, full_matrices=False)
    basis = [vt[i] for i in range(min(2, sv.size)) if sv[i] > 1e-12 * max(sv[0], 1e-300)]
    rng = np.random.default_rng(seed)
    while len(basis) < 2:
        v = rng.standard_normal(center.size)
        for u in basis:
            v -= (v @ u) * u
        basis.append(v / np.linalg.norm(v))
    return basis[0], basis[1]


def project(points: Array, center: Array, d1: Array, d2: Array) -> Array:
    """Plane coordinates ``(k, 2)`` of ``points`` ``(k, P)``: least squares onto ``d1, d2``."""
    basis = np.stack([d1, d2], axis=1)
    gram = basis.T @ basis
    rhs = (np.asarray(points, dtype=np.float64) - center) @ basis
    return np.asarray(np.linalg.solve(gram, rhs.T).T, dtype=np.float64)


def suggested_size(problem: NetworkProblem, budget: float = 2e9) -> int:
    """The largest grid size ``n <= MAX_SLICE_N`` whose slice costs at most ``budget`` flops."""
    per_point = 2.0 * problem.dataset.x_train.shape[0] * problem.dim
    return max(3, min(MAX_SLICE_N, math.isqrt(int(budget / per_point))))


def loss_slice(
    problem: NetworkProblem,
    center: Array,
    d1: Array,
    d2: Array,
    n: int = 25,
    span: float = 1.0,
) -> tuple[Array, Array, Array]:
    """``(a, b, Z)``: ``a`` and ``b`` are ``n`` points of ``[-span, span]`` and
    ``Z[i, j] = problem.value(center + a[j] d1 + b[i] d2)`` (the training objective)."""
    if not 2 <= n <= MAX_SLICE_N:
        raise ValueError(f"Invalid slice size: {n} (2 to {MAX_SLICE_N})")
    if not (math.isfinite(span) and span > 0.0):
        raise ValueError(f"Invalid span: {span}")
    center = np.asarray(center, dtype=np.float64).reshape(problem.dim)
    a = np.linspace(-span, span, n)
    b = a.copy()
    z = np.empty((n, n))
    rows_per_chunk = max(1, _CHUNK_FLOATS // (n * problem.dim))
    for start in range(0, n, rows_per_chunk):
        rows = b[start : start + rows_per_chunk]
        params = center + a[None, :, None] * d1 + rows[:, None, None] * d2
        z[start : start + rows.size] = problem.value(params)
    return a, b, z


@dataclass(frozen=True)
class Landscape:
    """A computed slice with every run's path on it; ``paths[i]`` is ``(k_i, 2)``."""

    method: str
    a: Array
    b: Array
    z: Array
    paths: list[Array]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: non-finite values become null."""

        def finite(x: Any) -> Any:
            if isinstance(x, list):
                return [finite(v) for v in x]
            return x if math.isfinite(x) else None

        return {
            "method": self.method,
            "a": self.a.tolist(),
            "b": self.b.tolist(),
            "z": finite(self.z.tolist()),
            "paths": [finite(p.tolist()) for p in self.paths],
        }


def landscape(
    problem: NetworkProblem,
    center: Array,
    trajectories: Sequence[Array],
    method: str = "filter",
    n: int = 25,
    span: float | None = None,
    seed: int = 0,
) -> Landscape:
    """The slice around ``center`` with ``trajectories`` (each ``(k_i, P)``) projected on it.

    ``method`` is ``"filter"`` (filter-normalized random directions) or ``"pca"``. With
    ``span`` None the grid covers every projected point with a 20% margin (at least 1.0 for
    filter-normalized directions, whose unit is the weights' own scale).
    """
    if method == "filter":
        d1, d2 = directions(problem, center, seed)
    elif method == "pca":
        d1, d2 = pca_directions(trajectories, center, seed)
    else:
        raise ValueError(f"Unknown landscape method {method!r}; choose 'filter' or 'pca'")
    paths = [project(np.asarray(t).reshape(-1, problem.dim), center, d1, d2) for t in trajectories]
    if span is None:
        reach = [np.abs(p[np.isfinite(p).all(axis=1)]).max(initial=0.0) for p in paths]
        span = 1.2 * max(reach, default=0.0)
        span = max(span, 1.0) if method == "filter" else (span or 1.0)
    a, b, z = loss_slice(problem, center, d1, d2, n, span)
    return Landscape(method, a, b, z, paths)
