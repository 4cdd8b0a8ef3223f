"""Linear and logistic regression with two parameters, ``p = (w, b)``: the exact loss surface.

Data: ``n`` points with ``x`` uniform in ``[-3, 3]``, from ``seed``.

- ``linear``: ``y = 1.5 x - 0.5 + noise * N(0, 1)``;
  ``L(w, b) = mean((w x + b - y)^2) + (l2 / 2) w^2`` (torch's MSELoss plus the penalty).
  L is quadratic, evaluated as ``L* + (p - p*)^T (H / 2) (p - p*)`` with ``p*`` from the normal
  equations ``H p* = 2 (mean(x y), mean(y))``, which is exact and never dips below ``L*``.
- ``logistic``: ``y = 1`` where ``x + 0.25 + noise * N(0, 1) > 0``, else 0;
  ``L(w, b) = mean(softplus(w x + b) - y (w x + b)) + (l2 / 2) w^2`` (BCEWithLogitsLoss plus the
  penalty). Without noise the classes are separable and, with ``l2 = 0``, L has no minimum
  (it decreases forever as ``w`` grows): ``minima`` is then empty.

``value``, ``grad`` and ``hessian`` are closed forms, vectorized over any leading shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from server.problems.base import Array
from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.layers import sigmoid

MODELS: tuple[str, ...] = ("linear", "logistic")
LIMITS: dict[str, tuple[float, float, bool]] = {
    "n": (2, 2000, True),
    "noise": (0.0, 5.0, False),
    "l2": (0.0, 10.0, False),
    "seed": (0, 2**32 - 1, True),
}
"""Each numeric field's (lowest, highest, whole number)."""
_CHUNK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class RegressionConfig:
    model: str = "linear"
    n: int = 50
    noise: float = 0.5
    l2: float = 0.0
    seed: int = 0

    @classmethod
    def from_json(cls, data: object, prefix: str = "regression") -> RegressionConfig:
        """Parse and validate; errors are ``InvalidConfig`` naming ``"regression.<key>"``."""
        if not isinstance(data, Mapping):
            raise InvalidConfig(prefix, "The regression must be a JSON object")
        for key in data:
            if key not in cls.__dataclass_fields__:
                raise InvalidConfig(f"{prefix}.{key}", f"Unknown regression field {key!r}")
        d = cls()
        model = data.get("model", d.model)
        if model not in MODELS:
            raise InvalidConfig(f"{prefix}.model", f"Invalid model: {model!r} (linear or logistic)")
        values = {
            key: _number(data.get(key, getattr(d, key)), f"{prefix}.{key}", *limits)
            for key, limits in LIMITS.items()
        }
        return cls(model=str(model), **values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: object, field: str, lo: float, hi: float, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(field, f"Invalid {field}: {value!r} (a number)")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InvalidConfig(field, f"Invalid {field}: {value} ({lo:g} to {hi:g})")
    if integer:
        if not float(value).is_integer():
            raise InvalidConfig(field, f"Invalid {field}: {value} (an integer)")
        return int(value)
    return float(value)


def regression_data(config: RegressionConfig) -> tuple[Array, Array]:
    """The data set ``(x, y)``, each ``(n,)``, described in the module docstring."""
    rng = np.random.default_rng(config.seed)
    x = rng.uniform(-3.0, 3.0, size=config.n)
    noise = config.noise * rng.standard_normal(config.n)
    if config.model == "linear":
        return x, 1.5 * x - 0.5 + noise
    return x, (x + 0.25 + noise > 0.0).astype(np.float64)


class RegressionProblem:
    """``Problem`` over ``p = (w, b)`` of a one-input linear or logistic model."""

    dim = 2

    def __init__(self, config: RegressionConfig | None = None) -> None:
        self.config = config or RegressionConfig()
        self.x, self.y = regression_data(self.config)
        self.l2 = self.config.l2
        linear = self.config.model == "linear"
        self.title = "Linear regression" if linear else "Logistic regression"
        penalty = " + (λ/2) w²" if self.l2 else ""
        self.formula = (
            "mean((w x + b − y)²)" if linear else "mean(log(1 + e^(w x + b)) − y (w x + b))"
        ) + penalty
        if linear:
            self._fit_linear()
        self.minimum = self._solve()

    @classmethod
    def from_json(cls, data: object) -> RegressionProblem:
        return cls(RegressionConfig.from_json(data))

    # -- linear: everything from the normal equations -------------------------------

    def _fit_linear(self) -> None:
        x, y = self.x, self.y
        mx = x.mean()
        self._h = np.array([[2.0 * (x * x).mean() + self.l2, 2.0 * mx], [2.0 * mx, 2.0]])
        rhs = np.array([2.0 * (x * y).mean(), 2.0 * y.mean()])
        self._best = np.linalg.solve(self._h, rhs)
        w, b = self._best
        r = w * x + b - y
        self._best_value = float((r * r).mean() + 0.5 * self.l2 * w * w)

    # -- logistic: per-point sums, chunked over the leading shape ---------------------

    def _logistic_rows(self, rows: Array) -> tuple[Array, Array]:
        """``z`` (M, n) and ``sigmoid(z) - y`` for rows ``(M, 2)``."""
        z = rows[:, :1] * self.x + rows[:, 1:]
        return z, sigmoid(z) - self.y

    def _chunked(self, p: Array, width: int, fn: Any) -> Array:
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (2,):
            raise ValueError(f"Expected points of shape (..., 2), got {p.shape}")
        rows = p.reshape(-1, 2)
        out = np.empty((rows.shape[0], width))
        size = max(1, _CHUNK_ELEMENTS // self.x.size)
        for start in range(0, rows.shape[0], size):
            out[start : start + size] = fn(rows[start : start + size])
        return out

    def value(self, p: Array) -> Array:
        p = np.asarray(p, dtype=np.float64)
        w = p[..., 0]
        if self.config.model == "linear":
            d = p - self._best
            quad = np.einsum("...i,ij,...j->...", d, 0.5 * self._h, d)
            return np.asarray(self._best_value + quad, dtype=np.float64)

        def rows_value(rows: Array) -> Array:
            z = rows[:, :1] * self.x + rows[:, 1:]
            per_point = np.maximum(z, 0.0) - self.y * z + np.log1p(np.exp(-np.abs(z)))
            out: Array = per_point.mean(axis=1, keepdims=True)
            return out

        data = self._chunked(p, 1, rows_value).reshape(p.shape[:-1])
        return data + 0.5 * self.l2 * w * w

    def grad(self, p: Array) -> Array:
        p = np.asarray(p, dtype=np.float64)
        if self.config.model == "linear":
            return np.asarray((p - self._best) @ self._h.T, dtype=np.float64)

        def rows_grad(rows: Array) -> Array:
            _, r = self._logistic_rows(rows)
            return np.stack([(r * self.x).mean(axis=1), r.mean(axis=1)], axis=1)

        g = self._chunked(p, 2, rows_grad).reshape(p.shape)
        g[..., 0] += self.l2 * p[..., 0]
        return g

    def hessian(self, p: Array) -> Array:
        p = np.asarray(p, dtype=np.float64)
        if self.config.model == "linear":
            return np.broadcast_to(self._h, (*p.shape[:-1], 2, 2)).copy()

        def rows_hessian(rows: Array) -> Array:
            z, _ = self._logistic_rows(rows)
            s = sigmoid(z)
            s *= 1.0 - s
            sx = s * self.x
            return np.stack([(sx * self.x).mean(axis=1), sx.mean(axis=1), s.mean(axis=1)], axis=1)

        h = self._chunked(p, 3, rows_hessian)
        out = np.empty((h.shape[0], 2, 2))
        out[:, 0, 0] = h[:, 0] + self.l2
        out[:, 0, 1] = out[:, 1, 0] = h[:, 1]
        out[:, 1, 1] = h[:, 2]
        return out.reshape(*p.shape[:-1], 2, 2)

    # -- the minimum, the view and the fitted curve ------------------------------------

    def _solve(self) -> Array | None:
        """The minimizer: normal equations (linear) or damped Newton (logistic), or None."""
        if self.config.model == "linear":
            return self._best.copy()
        if self.l2 == 0.0 and self.separable():
            return None
        p = np.zeros(2)
        for _ in range(100):
            g = self.grad(p)
            if np.abs(g).max() < 1e-12:
                return p
            step = np.linalg.solve(self.hessian(p) + 1e-12 * np.eye(2), g)
            t, f0 = 1.0, float(self.value(p))
            while t > 1e-8 and float(self.value(p - t * step)) > f0 - 1e-4 * t * float(g @ step):
                t *= 0.5
            p = p - t * step
            if np.abs(p).max() > 1e6:
                return None
        return p if np.abs(self.grad(p)).max() < 1e-8 else None

    def separable(self) -> bool:
        """Whether a threshold on ``x`` splits the classes (then, without L2, no minimum)."""
        ones, zeros = self.x[self.y == 1.0], self.x[self.y == 0.0]
        if ones.size == 0 or zeros.size == 0:
            return True
        return bool(ones.max() < zeros.min() or zeros.max() < ones.min())

    @property
    def minima(self) -> list[list[float]]:
        if self.minimum is None:
            return []
        w, b = self.minimum
        return [[float(w), float(b), float(self.value(self.minimum))]]

    @property
    def domain(self) -> list[list[float]]:
        """``[[w0, w1], [b0, b1]]``: a box around the minimum (else around w = 2, b = 0.5)."""
        w, b = (float(v) for v in self.minimum) if self.minimum is not None else (2.0, 0.5)
        half_w = max(2.0, 1.5 * abs(w))
        half_b = max(2.0, 1.5 * abs(b))
        return [[w - half_w, w + half_w], [b - half_b, b + half_b]]

    @property
    def start(self) -> list[float]:
        (w0, w1), (b0, b1) = self.domain
        return [round(w0 + 0.1 * (w1 - w0), 3), round(b1 - 0.1 * (b1 - b0), 3)]

    def fitted_line(self, p: Array, x: Array | None = None) -> Array:
        """The model's prediction at ``x`` (default: 50 points over the data's range) for each
        ``p`` ``(..., 2)``: ``w x + b``, or ``sigmoid(w x + b)`` for logistic; ``(..., m)``."""
        p = np.asarray(p, dtype=np.float64)
        xs = np.linspace(self.x.min(), self.x.max(), 50) if x is None else np.asarray(x)
        z = p[..., :1] * xs + p[..., 1:]
        return z if self.config.model == "linear" else sigmoid(z)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "regression",
            "model": self.config.model,
            "config": self.config.to_json(),
            "title": self.title,
            "formula": self.formula,
            "domain": self.domain,
            "minima": self.minima,
            "start": self.start,
            "data": {"x": self.x.tolist(), "y": self.y.tolist()},
        }
