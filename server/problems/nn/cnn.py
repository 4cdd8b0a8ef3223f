"""A small convolutional network over a flat parameter vector, for N parameter vectors at once.

Architecture (torch's ``nn.Sequential``): ``Conv2d(C, filters, kernel, stride, padding)``,
``ReLU``, ``MaxPool2d(pool)`` (left out for ``pool = 1``), ``Flatten``, ``Linear(features,
classes)``; the loss reads the logits.

Flat layout (``P = dim``): conv weight ``(filters, C, k, k)``, conv bias, dense weight
``(classes, features)`` with the features in torch's ``(channel, row, column)`` order, dense
bias: torch's ``parameters()`` order, so ``vector_to_parameters`` loads the same network. We
compute channels last; the dense weight is permuted to match (a few thousand numbers, not the
activations).

Initialization: torch's defaults for Conv2d and Linear, drawn with numpy from the seed: weights
and biases uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from server.problems.base import Array
from server.problems.nn.conv import Conv2d, ConvCache, MaxPool2d, PoolCache, out_size
from server.problems.nn.layers import ReLU


@dataclass(frozen=True)
class CNNCache:
    conv: ConvCache
    pre: Array  # conv output, before the ReLU
    pool: PoolCache | None
    features: Array  # (N, B, F), channels-last order


@dataclass(frozen=True)
class CNN:
    side: int  # square inputs side x side
    channels: int
    filters: int
    kernel: int
    stride: int
    padding: int
    pool: int
    classes: int
    conv: Conv2d = field(init=False, repr=False, compare=False)
    pooling: MaxPool2d | None = field(init=False, repr=False, compare=False)
    hw: tuple[int, int] = field(init=False)  # after the conv and the pool

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv", Conv2d(self.kernel, self.stride, self.padding))
        object.__setattr__(self, "pooling", MaxPool2d(self.pool) if self.pool > 1 else None)
        h = out_size(self.side, self.kernel, self.stride, self.padding)
        if self.pool > 1:
            h = out_size(h, self.pool, self.pool)
        object.__setattr__(self, "hw", (h, h))

    @property
    def conv_size(self) -> int:
        return self.filters * self.channels * self.kernel * self.kernel

    @property
    def features(self) -> int:
        return self.filters * self.hw[0] * self.hw[1]

    @property
    def dim(self) -> int:
        return self.conv_size + self.filters + self.classes * self.features + self.classes

    def weight_mask(self) -> Array:
        """1.0 at weights, 0.0 at biases, shape ``(P,)``."""
        mask = np.ones(self.dim)
        mask[self.conv_size : self.conv_size + self.filters] = 0.0
        mask[-self.classes :] = 0.0
        return mask

    def unflatten(self, params: Array) -> tuple[Array, Array, Array, Array]:
        """``conv_w (N, O, C, k, k)``, ``conv_b (N, O)``, ``fc_w (N, K, F)`` (channels-last
        feature order: a copy), ``fc_b (N, K)``."""
        n, k = params.shape[0], self.kernel
        a = self.conv_size
        b = a + self.filters
        c = b + self.classes * self.features
        conv_w = params[:, :a].reshape(n, self.filters, self.channels, k, k)
        h, w = self.hw
        fc = params[:, b:c].reshape(n, self.classes, self.filters, h, w)
        fc_w = fc.transpose(0, 1, 3, 4, 2).reshape(n, self.classes, self.features)
        return conv_w, params[:, a:b], fc_w, params[:, c:]

    def filters_of(self, params: Array) -> Array:
        """The first layer's filters ``(N, O, C, k, k)`` (a view)."""
        return self.unflatten(params)[0]

    def init(self, seed: int) -> Array:
        rng = np.random.default_rng(seed)
        fan_conv = self.channels * self.kernel * self.kernel
        parts = []
        for size, fan in (
            (self.conv_size, fan_conv),
            (self.filters, fan_conv),
            (self.classes * self.features, self.features),
            (self.classes, self.features),
        ):
            bound = 1.0 / math.sqrt(fan)
            parts.append(rng.uniform(-bound, bound, size=size))
        return np.concatenate(parts)

    def forward_cached(
        self, params: Array, x: Array, columns: ConvCache | None = None
    ) -> tuple[Array, CNNCache]:
        """Logits ``(N, B, classes)`` for images ``x`` ``(B, side, side, C)``."""
        conv_w, conv_b, fc_w, fc_b = self.unflatten(params)
        z, conv_cache = self.conv.forward(x[None], conv_w, conv_b, columns)
        a = np.maximum(z, 0.0)
        pool_cache = None
        if self.pooling is not None:
            a, pool_cache = self.pooling.forward(a)
        features = a.reshape(a.shape[0], a.shape[1], -1)
        logits = np.matmul(features, fc_w.transpose(0, 2, 1))
        logits += fc_b[:, None, :]
        return logits, CNNCache(conv_cache, z, pool_cache, features)

    def forward(self, params: Array, x: Array, columns: ConvCache | None = None) -> Array:
        return self.forward_cached(params, x, columns)[0]

    def backward(self, params: Array, cache: CNNCache, d_logits: Array) -> Array:
        """The gradient ``(N, P)`` of a loss whose logits' gradient is ``d_logits``."""
        n = params.shape[0]
        _, _, fc_w, _ = self.unflatten(params)
        grads = np.empty((n, self.dim))
        a = self.conv_size
        b = a + self.filters
        c = b + self.classes * self.features
        h, w = self.hw
        d_fc = np.matmul(d_logits.transpose(0, 2, 1), cache.features)
        grads[:, b:c] = (
            d_fc.reshape(n, self.classes, h, w, self.filters)
            .transpose(0, 1, 4, 2, 3)
            .reshape(n, -1)
        )
        grads[:, c:] = d_logits.sum(axis=1)
        d_a = np.matmul(d_logits, fc_w)
        if cache.pool is not None and self.pooling is not None:
            d_a = self.pooling.backward(cache.pool, d_a.reshape(*d_a.shape[:2], h, w, self.filters))
        d_z = ReLU().backward(cache.pre, cache.pre, d_a.reshape(cache.pre.shape))
        conv_w = params[:, :a].reshape(n, self.filters, self.channels, self.kernel, self.kernel)
        _, d_w, d_b = self.conv.backward(cache.conv, conv_w, d_z, need_dx=False)
        grads[:, :a] = d_w.reshape(n, -1)
        grads[:, a:b] = d_b
        return grads
