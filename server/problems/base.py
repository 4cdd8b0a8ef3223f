"""What the engine needs of a problem: value, gradient and Hessian, vectorized."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


class Problem(Protocol):
    """A differentiable function of ``dim`` variables.

    Every method takes points of shape ``(..., dim)`` and is vectorized over the leading shape:
    ``value`` returns ``(...)``, ``grad`` returns ``(..., dim)`` and ``hessian`` ``(..., dim, dim)``.
    Outside the function's domain the value may be NaN or infinite; callers treat that as divergence.
    """

    dim: int

    def value(self, p: Array) -> Array: ...

    def grad(self, p: Array) -> Array: ...

    def hessian(self, p: Array) -> Array: ...
