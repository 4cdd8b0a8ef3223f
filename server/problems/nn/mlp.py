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
import threading
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
    post-activation (the last layer has no activation: its ``a`` is its ``z``).

    The hidden layers' arrays may live in the scratch buffers of ``Scratch``: a cache is
    valid until the next forward on the same thread.
    """

    inputs: list[Array]
    pre: list[Array]
    post: list[Array]


class Scratch(threading.local):
    """Temporaries reused from call to call, one set per thread.

    A training step allocates a few arrays of ``runs x batch x width`` floats and frees them;
    at tens of KB each, glibc returns the freed heap top to the OS and faults it back in on
    the next step, which more than doubled the cost of a small network's step. Reusing the
    buffers avoids that. Shapes above ``KEEP_LIMIT`` floats are not kept (their arithmetic
    outweighs the faults, and they would pin memory).
    """

    KEEP_LIMIT = 1 << 18

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, int], Array] = {}

    def get(self, name: str, layer: int, shape: tuple[int, ...]) -> Array:
        if math.prod(shape) > self.KEEP_LIMIT:
            return np.empty(shape)
        array = self.arrays.get((name, layer))
        if array is None or array.shape != shape:
            array = self.arrays[(name, layer)] = np.empty(shape)
        return array


@dataclass(frozen=True)
class MLP:
    sizes: tuple[int, ...]
    activation: str
    slots: tuple[LayerSlot, ...] = field(init=False)
    act: Activation = field(init=False, repr=False, compare=False)
    scratch: Scratch = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"Invalid layer sizes: {self.sizes}")
        slots = []
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w_end = offset + fan_in * fan_out
            slots.append(
                LayerSlot(fan_in, fan_out, slice(offset, w_end), slice(w_end, w_end + fan_out))
            )
            offset = w_end + fan_out
        object.__setattr__(self, "slots", tuple(slots))
        object.__setattr__(self, "act", activation(self.activation))
        object.__setattr__(self, "scratch", Scratch())

    @property
    def dim(self) -> int:
        return int(self.slots[-1].bias.stop)

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
        """Outputs ``(N, B, outputs)`` for ``params`` ``(N, P)`` and inputs ``x`` ``(B, in)``.

        The result is a new array; the hidden layers use scratch buffers.
        """
        layers = self.unflatten(params)
        shape = (params.shape[0], x.shape[0])
        h = x
        for i, (w, b) in enumerate(layers[:-1]):
            z = Linear.forward(h, w, b, out=self.scratch.get("z", i, (*shape, w.shape[1])))
            h = self.act.forward(z, out=self.scratch.get("a", i, z.shape))
        w, b = layers[-1]
        return Linear.forward(h, w, b)

    def forward_cached(self, params: Array, x: Array) -> tuple[Array, Cache]:
        """``forward`` keeping what ``backward`` needs (valid until the next forward)."""
        cache = Cache([], [], [])
        layers = self.unflatten(params)
        shape = (params.shape[0], x.shape[0])
        last = len(layers) - 1
        h = x
        for i, (w, b) in enumerate(layers):
            cache.inputs.append(h)
            if i == last:
                h = z = Linear.forward(h, w, b)
            else:
                z = Linear.forward(h, w, b, out=self.scratch.get("z", i, (*shape, w.shape[1])))
                h = self.act.forward(z, out=self.scratch.get("a", i, z.shape))
            cache.pre.append(z)
            cache.post.append(h)
        return h, cache

    def backward(self, params: Array, cache: Cache, d_out: Array) -> Array:
        """The gradient ``(N, P)`` (a new array) of a loss whose output gradient is ``d_out``."""
        n = params.shape[0]
        grads = np.empty((n, self.dim))
        layers = self.unflatten(params)
        dz = d_out
        for i in range(len(layers) - 1, -1, -1):
            w, _ = layers[i]
            x = cache.inputs[i]
            dx = self.scratch.get("dx", i, x.shape) if i > 0 else None
            dx, dw, db = Linear.backward(x, w, dz, dx=dx, need_dx=i > 0)
            s = self.slots[i]
            grads[:, s.weight] = dw.reshape(n, -1)
            grads[:, s.bias] = db
            if dx is not None:
                out = self.scratch.get("dz", i - 1, dx.shape)
                dz = self.act.backward(cache.pre[i - 1], cache.post[i - 1], dx, out=out)
        return grads
