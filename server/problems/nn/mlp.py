"""A multilayer perceptron over a flat parameter vector, for N parameter vectors at once.

Architecture: ``sizes = (inputs, hidden..., outputs)``; every layer but the last is
``Linear`` then the activation, the last is ``Linear`` alone (the loss reads logits).

Flat layout (``P = dim``): for each layer in order, its weight ``(out, in)`` row-major, then its
bias ``(out,)``. That is torch's ``nn.Sequential(Linear, act, Linear, ...).parameters()`` order,
so ``torch.nn.utils.vector_to_parameters(flat, model.parameters())`` loads the same network.

Initialization: torch.nn.Linear's default, drawn with numpy from the seed: weight and bias both
uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (``kaiming_uniform_(a=sqrt(5))`` gives exactly
that bound for the weight).

``params`` has shape ``(N, P)``: N runs share one call; every matmul is batched over N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from server.problems.base import Array
from server.problems.nn.layers import Activation, Linear, activation


@dataclass(frozen=True)
class LayerSlot:
    """Where a layer's weight and bias sit in the flat vector."""

    fan_in: int
    fan_out: int
    weight: slice
    bias: slice


@dataclass(frozen=True)
class Cache:
    """What the backward pass needs from the forward: each layer's input, pre- and
    post-activation (the last layer has no activation: its ``a`` is its ``z``)."""

    inputs: list[Array]
    pre: list[Array]
    post: list[Array]


@dataclass(frozen=True)
class MLP:
    sizes: tuple[int, ...]
    activation: str
    slots: tuple[LayerSlot, ...] = field(init=False)
    act: Activation = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"Invalid layer sizes: {self.sizes}")
        slots = []
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w_end = offset + fan_in * fan_out
            slots.append(LayerSlot(fan_in, fan_out, slice(offset, w_end), slice(w_end, w_end + fan_out)))
            offset = w_end + fan_out
        object.__setattr__(self, "slots", tuple(slots))
        object.__setattr__(self, "act", activation(self.activation))

    @property
    def dim(self) -> int:
        return self.slots[-1].bias.stop

    @property
    def width(self) -> int:
        """The widest layer, which bounds the size of every temporary."""
        return max(self.sizes)

    def weight_mask(self) -> Array:
        """1.0 at weights, 0.0 at biases, shape ``(P,)``."""
        mask = np.zeros(self.dim)
        for s in self.slots:
            mask[s.weight] = 1.0
        return mask

    def unflatten(self, params: Array) -> list[tuple[Array, Array]]:
        """Views ``(W (N, out, in), b (N, 1, out))`` per layer of ``params`` ``(N, P)``."""
        n = params.shape[0]
        return [
            (
                params[:, s.weight].reshape(n, s.fan_out, s.fan_in),
                params[:, s.bias].reshape(n, 1, s.fan_out),
            )
            for s in self.slots
        ]

    def init(self, seed: int) -> Array:
        """Torch's default Linear initialization, drawn from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        out = np.empty(self.dim)
        for s in self.slots:
            bound = 1.0 / math.sqrt(s.fan_in)
            out[s.weight] = rng.uniform(-bound, bound, size=s.fan_in * s.fan_out)
            out[s.bias] = rng.uniform(-bound, bound, size=s.fan_out)
        return out

    def forward(self, params: Array, x: Array) -> Array:
        """Outputs ``(N, B, outputs)`` for ``params`` ``(N, P)`` and inputs ``x`` ``(B, in)``."""
        layers = self.unflatten(params)
        h = x
        for w, b in layers[:-1]:
            h = self.act.forward(Linear.forward(h, w, b))
        w, b = layers[-1]
        return Linear.forward(h, w, b)

    def forward_cached(self, params: Array, x: Array) -> tuple[Array, Cache]:
        """``forward`` keeping what ``backward`` needs."""
        cache = Cache([], [], [])
        layers = self.unflatten(params)
        h = x
        for i, (w, b) in enumerate(layers):
            cache.inputs.append(h)
            z = Linear.forward(h, w, b)
            h = z if i == len(layers) - 1 else self.act.forward(z)
            cache.pre.append(z)
            cache.post.append(h)
        return h, cache

    def backward(self, params: Array, cache: Cache, d_out: Array) -> Array:
        """The gradient ``(N, P)`` of a loss whose gradient at the outputs is ``d_out``."""
        n = params.shape[0]
        grads = np.empty((n, self.dim))
        layers = self.unflatten(params)
        dz = d_out
        for i in range(len(layers) - 1, -1, -1):
            w, _ = layers[i]
            dx, dw, db = Linear.backward(cache.inputs[i], w, dz, need_dx=i > 0)
            s = self.slots[i]
            grads[:, s.weight] = dw.reshape(n, -1)
            grads[:, s.bias] = db
            if dx is not None:
                dz = self.act.backward(cache.pre[i - 1], cache.post[i - 1], dx)
        return grads
