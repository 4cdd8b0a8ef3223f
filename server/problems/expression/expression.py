"""``Expression``: a parsed user formula as a ``Problem`` (value, gradient, Hessian, grid)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from server.problems.base import Array
from server.problems.expression.errors import ExpressionError
from server.problems.expression.evaluate import Op, compile_tree, evaluate, evaluate_value
from server.problems.expression.nodes import Node, render
from server.problems.expression.parse import parse

Domain = tuple[tuple[float, float], tuple[float, float]]

DEFAULT_DOMAIN: Domain = ((-3.0, 3.0), (-3.0, 3.0))
MAX_GRID_N = 1000

# Where to try a default start, as fractions of the domain from -1 (low edge) to 1 (high edge).
_START_CANDIDATES = (
    (0.75, 0.6),
    (-0.75, 0.6),
    (-0.6, -0.75),
    (0.6, -0.75),
    (0.4, 0.3),
    (-0.3, 0.5),
)


class Expression:
    """A formula in ``x`` and ``y`` with exact derivatives (forward-mode, see ``evaluate``).

    Points have shape ``(..., 2)``; ``value`` returns ``(...)``, ``grad`` ``(..., 2)`` and ``hessian``
    ``(..., 2, 2)``. Where the formula is undefined the results are NaN or inf; nothing raises.
    Where the value is NaN, so are the gradient and the Hessian.
    At kinks of ``abs``, ``relu``, ``max``, ``min`` and ``hypot`` the derivative is that of the
    branch taken (a subgradient). ``grad`` does first-order work only.
    """

    dim: int = 2

    def __init__(self, text: str, tree: Node, domain: Domain = DEFAULT_DOMAIN) -> None:
        self.text = text
        self.tree = tree
        self.domain = domain
        with np.errstate(all="ignore"):
            self._op: Op = compile_tree(tree)
        self._start: tuple[float, float] | None = None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def formula(self) -> str:
        """The formula as we read it, with ``^`` for powers and no redundant parentheses."""
        return render(self.tree)

    def value(self, p: Array) -> Array:
        x, y, lead = _split(p)
        return evaluate_value(self._op, x, y).reshape(lead)

    def grad(self, p: Array) -> Array:
        return self._evaluate(p, 1)[1]

    def value_and_grad(self, p: Array) -> tuple[Array, Array]:
        """Both from one first-order pass."""
        v, g, _ = self._evaluate(p, 1)
        return v, g

    def hessian(self, p: Array) -> Array:
        return self._evaluate(p, 2)[2]

    def _evaluate(self, p: Array, order: int) -> tuple[Array, Array, Array]:
        x, y, lead = _split(p)
        v, g, h = evaluate(self._op, x, y, order)
        return v.reshape(lead), g.reshape((*lead, 2)), h.reshape((*lead, 2, 2))

    def grid(self, n: int, domain: Domain | None = None) -> tuple[Array, Array, Array]:
        """``(xs, ys, z)`` on an ``n`` x ``n`` grid with ``z[i][j] = f(xs[j], ys[i])``.

        Undefined and infinite values are NaN, so the plot leaves a hole there.
        """
        if not 2 <= n <= MAX_GRID_N:
            raise ValueError(f"grid size must be between 2 and {MAX_GRID_N}, got {n}")
        (x0, x1), (y0, y1) = domain if domain is not None else self.domain
        xs = np.linspace(x0, x1, n)
        ys = np.linspace(y0, y1, n)
        points = np.stack(np.meshgrid(xs, ys), axis=-1)
        z = self.value(points)
        z[~np.isfinite(z)] = np.nan
        return xs, ys, z

    def default_start(self) -> tuple[float, float]:
        """A point inside the domain, away from the middle, where value and slope are finite."""
        if self._start is None:
            self._start = self._find_start()
        return self._start

    def _find_start(self) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.domain

        def place(fx: float, fy: float) -> tuple[float, float]:
            return (
                round(x0 + (fx + 1) / 2 * (x1 - x0), 3),
                round(y0 + (fy + 1) / 2 * (y1 - y0), 3),
            )

        candidates = [place(fx, fy) for fx, fy in _START_CANDIDATES]
        ticks = np.linspace(-0.9, 0.9, 13)
        candidates += [place(float(fx), float(fy)) for fy in ticks[::-1] for fx in ticks]
        points = np.array(candidates)
        v, g = self.value_and_grad(points)
        usable = np.isfinite(v) & np.all(np.isfinite(g), axis=-1)
        moving = usable & (np.abs(g).sum(axis=-1) > 1e-9)
        for mask in (moving, usable):
            if mask.any():
                return candidates[int(np.argmax(mask))]
        return place(0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.text,
            "formula": self.formula,
            "title": "Custom formula",
            "domain": [list(self.domain[0]), list(self.domain[1])],
            "start": list(self.default_start()),
            "minima": [],
        }


def parse_expression(text: str, domain: Any = None) -> Expression:
    """Parse ``text`` into an ``Expression``; raises ``ExpressionError`` and nothing else.

    ``domain`` is ``[[x0, x1], [y0, y1]]`` (finite, ``x0 < x1``, ``y0 < y1``), default
    ``DEFAULT_DOMAIN``.
    """
    tree = parse(text)
    return Expression(text, tree, DEFAULT_DOMAIN if domain is None else check_domain(domain))


def check_domain(domain: Any) -> Domain:
    """``domain`` as a pair of finite increasing ranges, or ``ExpressionError``."""
    message = "domain must be [[x0, x1], [y0, y1]] with finite x0 < x1 and y0 < y1"
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError, OverflowError):
        raise ExpressionError(message) from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
        raise ExpressionError(message)
    return (x0, x1), (y0, y1)


def _split(p: Array) -> tuple[Array, Array, tuple[int, ...]]:
    points = np.asarray(p, dtype=np.float64)
    if points.ndim == 0 or points.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {points.shape}")
    flat = points.reshape(-1, 2)
    return flat[:, 0], flat[:, 1], points.shape[:-1]
