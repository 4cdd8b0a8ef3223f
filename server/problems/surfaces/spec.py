"""Surface specs and bound surfaces: the metadata the page shows and the closed forms the engine calls.

A :class:`SurfaceSpec` holds a surface's description (title, formula, domain, minima, default start,
parameters) and its closed forms. Each closed form is a numpy expression of the coordinate arrays
``x`` and ``y`` (any broadcastable shapes) and of the parameter mapping ``k``:

- ``value(x, y, k) -> f``
- ``grad(x, y, k) -> (df/dx, df/dy)``
- ``hessian(x, y, k) -> (d2f/dx2, d2f/dxdy, d2f/dy2)``

A component may be a Python float when it is constant (the Hessian of a quadratic). ``bind`` checks
parameter values and returns a :class:`Surface`, which implements ``server.problems.base.Problem``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from server.problems.base import Array

Scale = Literal["linear", "log"]
Params = Mapping[str, float]
Component = Array | float
Minimum = tuple[float, float, float]
Domain = tuple[tuple[float, float], tuple[float, float]]

ValueForm = Callable[[Array, Array, Params], Array]
GradForm = Callable[[Array, Array, Params], tuple[Component, Component]]
HessianForm = Callable[[Array, Array, Params], tuple[Component, Component, Component]]


class SurfaceError(ValueError):
    """A bad surface name or parameter; ``field`` names it (``"surface"`` or the parameter name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    min: float
    max: float
    scale: Scale
    doc: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "scale": self.scale,
            "doc": self.doc,
        }


@dataclass(frozen=True)
class SurfaceSpec:
    """One surface. ``minima`` lists [x, y, f] at the default parameters, global ones first.

    ``log_color`` is True when, at the default parameters, the largest ``f - min f`` over the domain
    exceeds 100 times its 10th percentile: most of the picture would otherwise be one colour.
    """

    name: str
    title: str
    formula: str
    domain: Domain
    minima: tuple[Minimum, ...]
    start: tuple[float, float]
    params: tuple[ParamSpec, ...]
    log_color: bool
    value_form: ValueForm
    grad_form: GradForm
    hessian_form: HessianForm
    # Constants computed once per binding from the parameters (e.g. a rotated Hessian's entries);
    # the forms receive them merged into ``k``.
    derive: Callable[[Params], dict[str, float]] | None = None
    # Minima as a function of the parameters, when they move (Rosenbrock's follows ``a``).
    minima_form: Callable[[Params], tuple[Minimum, ...]] | None = None
    # The largest Hessian eigenvalue, for surfaces whose Hessian is constant and positive definite.
    lambda_max_form: Callable[[Params], float] | None = None

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def bind(self, params: Mapping[str, float] | None = None) -> Surface:
        """Check ``params`` (names and ranges) and return the surface with defaults filled in."""
        values = self.defaults()
        known = {p.name: p for p in self.params}
        for name, raw in (params or {}).items():
            spec = known.get(name)
            if spec is None:
                expected = ", ".join(known) or "none"
                raise SurfaceError(
                    name, f"{self.name}: unknown parameter {name!r} (expected: {expected})"
                )
            values[name] = _checked(self.name, spec, raw)
        return Surface(self, values)

    def to_json(self, params: Mapping[str, float] | None = None) -> dict[str, Any]:
        """The description the page uses; minima are those at ``params`` (validated)."""
        minima = self.bind(params).minima() if params else list(self.minima)
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "domain": [list(self.domain[0]), list(self.domain[1])],
            "minima": [list(m) for m in minima],
            "start": list(self.start),
            "params": {p.name: p.to_json() for p in self.params},
            "log_color": self.log_color,
        }


def _checked(surface: str, spec: ParamSpec, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | np.integer | np.floating):
        raise SurfaceError(
            spec.name, f"{surface}: parameter {spec.name!r} must be a number, got {raw!r}"
        )
    value = float(raw)
    if not math.isfinite(value):
        raise SurfaceError(
            spec.name, f"{surface}: parameter {spec.name!r} must be finite, got {value}"
        )
    if not spec.min <= value <= spec.max:
        raise SurfaceError(
            spec.name,
            f"{surface}: parameter {spec.name!r} must be in [{spec.min:g}, {spec.max:g}],"
            f" got {value:g}",
        )
    return value


class Surface:
    """A surface with its parameters bound; vectorized over the leading shape of ``p``."""

    dim: int = 2

    def __init__(self, spec: SurfaceSpec, params: dict[str, float]) -> None:
        self.spec = spec
        self.params = dict(params)
        self._k: dict[str, float] = dict(params)
        if spec.derive is not None:
            self._k.update(spec.derive(self._k))
        self._value = spec.value_form
        self._grad = spec.grad_form
        self._hessian = spec.hessian_form

    def __repr__(self) -> str:
        return f"Surface({self.spec.name!r}, {self.params!r})"

    def value(self, p: Array) -> Array:
        """``p`` of shape ``(..., 2)`` -> ``(...)``."""
        q = _points(p)
        return self._value(q[..., 0], q[..., 1], self._k)

    def grad(self, p: Array) -> Array:
        """``p`` of shape ``(..., 2)`` -> ``(..., 2)``."""
        q = _points(p)
        gx, gy = self._grad(q[..., 0], q[..., 1], self._k)
        out = np.empty_like(q)  # same memory order as p: columns stay contiguous for the engine
        out[..., 0] = gx
        out[..., 1] = gy
        return out

    def hessian(self, p: Array) -> Array:
        """``p`` of shape ``(..., 2)`` -> ``(..., 2, 2)``, symmetric."""
        q = _points(p)
        hxx, hxy, hyy = self._hessian(q[..., 0], q[..., 1], self._k)
        out = np.empty((*q.shape, 2))
        out[..., 0, 0] = hxx
        out[..., 0, 1] = hxy
        out[..., 1, 0] = hxy
        out[..., 1, 1] = hyy
        return out

    def minima(self) -> list[Minimum]:
        """Known minima [x, y, f] at these parameters, global ones first."""
        if self.spec.minima_form is not None:
            return list(self.spec.minima_form(self.params))
        return list(self.spec.minima)

    def lambda_max(self) -> float | None:
        """Largest Hessian eigenvalue where the Hessian is constant (quadratics), else None."""
        form = self.spec.lambda_max_form
        return None if form is None else form(self.params)

    def grid(self, n: int, domain: Domain | None = None) -> tuple[Array, Array, Array]:
        """``x`` (n,), ``y`` (n,) spanning the domain and ``z`` (n, n) with ``z[i, j] = f(x[j], y[i])``.

        ``domain`` overrides the surface's own (a zoomed view). Values that overflow are NaN. The
        caller caps ``n``; this only requires ``n >= 2``.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise SurfaceError("n", f"grid size n must be an integer >= 2, got {n!r}")
        (x0, x1), (y0, y1) = self.spec.domain if domain is None else domain
        if not (all(map(math.isfinite, (x0, x1, y0, y1))) and x0 < x1 and y0 < y1):
            raise SurfaceError(
                "domain",
                f"domain must be finite [[x0, x1], [y0, y1]] with x0 < x1, y0 < y1, got {domain}",
            )
        x = np.linspace(x0, x1, n)
        y = np.linspace(y0, y1, n)
        with np.errstate(all="ignore"):
            z = np.asarray(self._value(x[np.newaxis, :], y[:, np.newaxis], self._k), dtype=float)
        if z.shape != (n, n):
            z = np.broadcast_to(z, (n, n)).copy()
        bad = ~np.isfinite(z)
        if bad.any():
            z[bad] = np.nan
        return x, y, z


def _points(p: Array) -> Array:
    q = np.asarray(p, dtype=np.float64)
    if q.ndim == 0 or q.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {q.shape}")
    return q
