"""Losses on the network's outputs, each with its gradient beside it.

``z`` is the output of N networks on a batch, shape ``(N, B, K)``; ``t`` the encoded target,
shape ``(B, K)``, shared by the N runs. Every loss is a mean over the batch (torch's
``reduction="mean"``) and returns ``(N,)``; ``value_and_grad`` also returns ``dL/dz``.

- ``bce``: binary cross-entropy on logits, torch.nn.BCEWithLogitsLoss; K = 1, t in {0, 1}:
  ``mean(softplus(z) - t z)``, gradient ``(sigmoid(z) - t) / B``.
- ``softmax``: softmax cross-entropy on logits, torch.nn.CrossEntropyLoss; t one-hot:
  ``mean(logsumexp(z) - sum(t z))``, gradient ``(softmax(z) - t) / B``.
- ``mse``: mean squared error over every element, torch.nn.MSELoss:
  ``mean((z - t)^2)``, gradient ``2 (z - t) / (B K)``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from server.problems.base import Array
from server.problems.nn.layers import sigmoid

LOSSES: tuple[str, ...] = ("bce", "softmax", "mse")


class Loss(Protocol):
    name: str

    def value(self, z: Array, t: Array) -> Array: ...

    def value_and_grad(self, z: Array, t: Array) -> tuple[Array, Array]: ...

    def grad(self, z: Array, t: Array) -> Array: ...


class BinaryCrossEntropy:
    name = "bce"

    def value(self, z: Array, t: Array) -> Array:
        # softplus(z) = max(z, 0) + log1p(exp(-|z|)), which never overflows
        per_point = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
        out: Array = per_point.mean(axis=(-2, -1))
        return out

    def grad(self, z: Array, t: Array) -> Array:
        dz = sigmoid(z)
        dz -= t
        dz *= 1.0 / z.shape[-2]
        return dz

    def value_and_grad(self, z: Array, t: Array) -> tuple[Array, Array]:
        return self.value(z, t), self.grad(z, t)


class SoftmaxCrossEntropy:
    name = "softmax"

    def value_and_grad(self, z: Array, t: Array) -> tuple[Array, Array]:
        shifted = z - z.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=-1, keepdims=True)
        per_point = np.log(total[..., 0]) - (shifted * t).sum(axis=-1)
        exp /= total
        exp -= t
        exp *= 1.0 / z.shape[-2]
        return per_point.mean(axis=-1), exp

    def value(self, z: Array, t: Array) -> Array:
        shifted = z - z.max(axis=-1, keepdims=True)
        per_point = np.log(np.exp(shifted).sum(axis=-1)) - (shifted * t).sum(axis=-1)
        out: Array = per_point.mean(axis=-1)
        return out

    def grad(self, z: Array, t: Array) -> Array:
        return self.value_and_grad(z, t)[1]


class MeanSquaredError:
    name = "mse"

    def value(self, z: Array, t: Array) -> Array:
        r = z - t
        out: Array = (r * r).mean(axis=(-2, -1))
        return out

    def grad(self, z: Array, t: Array) -> Array:
        dz = z - t
        dz *= 2.0 / (z.shape[-2] * z.shape[-1])
        return dz

    def value_and_grad(self, z: Array, t: Array) -> tuple[Array, Array]:
        return self.value(z, t), self.grad(z, t)


def loss(name: str) -> Loss:
    """The loss named ``name`` (one of ``LOSSES``)."""
    table: dict[str, Loss] = {
        "bce": BinaryCrossEntropy(),
        "softmax": SoftmaxCrossEntropy(),
        "mse": MeanSquaredError(),
    }
    if name not in table:
        raise ValueError(f"Unknown loss {name!r}; choose one of {list(LOSSES)}")
    return table[name]
