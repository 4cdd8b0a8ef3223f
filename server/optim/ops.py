"""Small array helpers that mirror torch.optim's in-place tensor idioms, batched over rows.

Each helper returns a new array (inputs are never mutated) and follows torch's operation order,
so rounding matches torch.optim as closely as plain numpy allows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from server.optim.base import Array


def zeros_row(params: Array) -> Array:
    """A zero ``(N, 1)`` column: the step counter of a fresh state."""
    return np.zeros((params.shape[0], 1))


def coupled_decay(grads: Array, params: Array, weight_decay: Array) -> Array:
    """``grad + weight_decay * param`` where ``weight_decay`` is not 0, else ``grad`` itself, as
    torch has it (``if weight_decay != 0: grad = grad.add(param, alpha=weight_decay)``): the
    term is skipped, not added as ``0 * param`` (which would turn a ``-0.0`` gradient into
    ``+0.0``, and cost two passes over the rows). Returns a new array."""
    if isinstance(weight_decay, np.ndarray) and not weight_decay.any():
        return np.array(grads)  # callers may update it in place
    out = weight_decay * params
    out += grads
    if isinstance(weight_decay, np.ndarray) and weight_decay.all():
        return out
    # Mixed rows, or traced code (a where on a value known to be 0 keeps only ``grads``).
    mixed: Array = np.where(is_on(weight_decay), out, grads)
    return mixed


def lerp(start: Array, end: Array, weight: Array) -> Array:
    """``start + weight * (end - start)`` (torch's ``start.lerp_(end, weight)``)."""
    out = end - start
    out *= weight
    out += start
    return out


def decay_square(average: Array, grads: Array, beta: Array) -> Array:
    """``average * beta + (1 - beta) * grad * grad`` (torch's ``mul_(beta).addcmul_``)."""
    out = grads * grads
    out *= 1.0 - beta
    out += average * beta
    return out


def is_on(flag: Array) -> npt.NDArray[np.bool_]:
    """A 0.0 / 1.0 hyperparameter column as booleans."""
    return np.not_equal(flag, 0.0)
