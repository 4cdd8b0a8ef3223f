"""Layers of a small MLP, each with its forward and its backward side by side.

Shapes carry a leading run axis: N weight sets are evaluated at once on the same inputs.
``x`` is ``(B, in)`` (the data, shared by every run) or ``(N, B, in)``; a linear layer's
weight is ``(N, out, in)`` (torch.nn.Linear's layout) and its bias ``(N, 1, out)``.
A backward takes the upstream gradient ``dL/dy`` and returns ``dL/dx`` (and the parameters'
gradients), with the cached forward values it needs.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from server.problems.base import Array

ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "leaky_relu", "sigmoid", "gelu")
LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU's default negative_slope


class Linear:
    """``y = x W^T + b``."""

    @staticmethod
    def forward(x: Array, w: Array, b: Array, out: Array | None = None) -> Array:
        y = np.matmul(x, w.transpose(0, 2, 1), out=out)
        y += b
        return y

    @staticmethod
    def backward(
        x: Array, w: Array, dy: Array, dx: Array | None = None, need_dx: bool = True
    ) -> tuple[Array | None, Array, Array]:
        """``(dL/dx, dL/dW, dL/db)``; ``dL/dx`` is skipped (None) for the first layer."""
        dw = np.matmul(dy.transpose(0, 2, 1), x)
        db = np.matmul(np.ones(dy.shape[1]), dy)  # the sum over the batch, as BLAS does it fastest
        return (np.matmul(dy, w, out=dx) if need_dx else None), dw, db


class Activation(Protocol):
    """An elementwise nonlinearity ``a = f(z)``; ``backward`` returns ``dL/dz = f'(z) dL/da``.

    ``out``, when given, receives the result (it must not be an input).
    """

    name: str

    def forward(self, z: Array, out: Array | None = None) -> Array: ...

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array: ...


class Tanh:
    name = "tanh"

    def forward(self, z: Array, out: Array | None = None) -> Array:
        return np.tanh(z, out=out)

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array:
        dz = np.multiply(a, a, out=out)
        np.subtract(1.0, dz, out=dz)
        dz *= da
        return dz


class ReLU:
    """``max(z, 0)``; like torch, the derivative at ``z = 0`` is 0."""

    name = "relu"

    def forward(self, z: Array, out: Array | None = None) -> Array:
        return np.maximum(z, 0.0, out=out)

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array:
        return np.multiply(da, z > 0.0, out=out)


class LeakyReLU:
    """``z`` for ``z > 0``, else ``slope * z``; the derivative at 0 is ``slope`` (torch's)."""

    name = "leaky_relu"

    def __init__(self, slope: float = LEAKY_SLOPE) -> None:
        self.slope = slope

    def forward(self, z: Array, out: Array | None = None) -> Array:
        return np.multiply(z, np.where(z > 0.0, 1.0, self.slope), out=out)

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array:
        return np.multiply(da, np.where(z > 0.0, 1.0, self.slope), out=out)


class Sigmoid:
    """``1 / (1 + exp(-z))``, written so that neither branch overflows."""

    name = "sigmoid"

    def forward(self, z: Array, out: Array | None = None) -> Array:
        return sigmoid(z, out=out)

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array:
        dz = np.subtract(1.0, a, out=out)
        dz *= a
        dz *= da
        return dz


class GELU:
    """The exact GELU, ``z Phi(z)`` with the normal CDF ``Phi`` (torch.nn.GELU(), not 'tanh')."""

    name = "gelu"

    def forward(self, z: Array, out: Array | None = None) -> Array:
        return np.multiply(z, normal_cdf(z), out=out)

    def backward(self, z: Array, a: Array, da: Array, out: Array | None = None) -> Array:
        density = np.exp(-0.5 * z * z)
        density *= z * (1.0 / math.sqrt(2.0 * math.pi))
        density += normal_cdf(z)
        return np.multiply(da, density, out=out)


def activation(name: str) -> Activation:
    """The activation named ``name`` (one of ``ACTIVATIONS``)."""
    table: dict[str, Activation] = {
        "tanh": Tanh(),
        "relu": ReLU(),
        "leaky_relu": LeakyReLU(),
        "sigmoid": Sigmoid(),
        "gelu": GELU(),
    }
    if name not in table:
        raise ValueError(f"Unknown activation {name!r}; choose one of {list(ACTIVATIONS)}")
    return table[name]


def sigmoid(z: Array, out: Array | None = None) -> Array:
    """The logistic function, accurate in both tails: ``e / (1 + e)`` with ``e = exp(-|z|)``."""
    e = np.exp(-np.abs(z))
    return np.divide(np.where(z >= 0.0, 1.0, e), 1.0 + e, out=out)


# erf by piecewise Taylor series: on [0, 6] the centres c_k = k h (h = 1/32) carry the
# coefficients of erf(c_k + t) up to t^7, from erf^(n)(c) = 2/sqrt(pi) (-1)^(n-1) H_{n-1}(c)
# exp(-c^2) with the physicists' Hermite polynomials H. With |t| <= h/2 the truncation error is
# below 1e-17; beyond 6, erf is 1 to double precision. Max error vs math.erf: about 1e-16.
_ERF_STEP = 1.0 / 32.0
_ERF_ORDER = 7
_ERF_LIMIT = 6.0


def _erf_table() -> Array:
    centres = round(_ERF_LIMIT / _ERF_STEP) + 1
    table = np.zeros((_ERF_ORDER + 1, centres))
    for k in range(centres):
        c = k * _ERF_STEP
        hermite = [1.0, 2.0 * c]
        for n in range(2, _ERF_ORDER):
            hermite.append(2.0 * c * hermite[-1] - 2.0 * (n - 1) * hermite[-2])
        scale = 2.0 / math.sqrt(math.pi) * math.exp(-c * c)
        table[0, k] = math.erf(c)
        for n in range(1, _ERF_ORDER + 1):
            table[n, k] = scale * (-1.0) ** (n - 1) * hermite[n - 1] / math.factorial(n)
    return table


_ERF_TABLE = _erf_table()


def erf(x: Array) -> Array:
    """The error function, vectorized (numpy has none), absolute error about 1e-16."""
    u = np.minimum(np.abs(x), _ERF_LIMIT)
    centre = np.rint(u * (1.0 / _ERF_STEP))
    # fmin maps a NaN centre to a valid index; t then stays NaN, so NaN propagates.
    index = np.fmin(centre, _ERF_TABLE.shape[1] - 1).astype(np.intp)
    t = u - centre * _ERF_STEP
    acc = _ERF_TABLE[_ERF_ORDER].take(index)
    for n in range(_ERF_ORDER - 1, -1, -1):
        acc *= t
        acc += _ERF_TABLE[n].take(index)
    out: Array = np.copysign(acc, x)
    return out


def normal_cdf(z: Array) -> Array:
    """``Phi(z) = (1 + erf(z / sqrt 2)) / 2``."""
    return 0.5 * (1.0 + erf(z * (1.0 / math.sqrt(2.0))))
