"""An Elman RNN with a linear readout over a flat parameter vector, N vectors at once.

Architecture (torch): ``nn.RNN(inputs, hidden, nonlinearity="tanh", batch_first=True)`` then
``nn.Linear(hidden, 1)``, applied to the last hidden state (``readout="last"``: one output per
sequence) or to every one (``readout="every"``: one output per step).

Flat layout: ``weight_ih (H, I)``, ``weight_hh (H, H)``, ``bias_ih (H)``, ``bias_hh (H)``, then
the readout's weight ``(1, H)`` and bias ``(1,)``: torch's ``parameters()`` order for a module
holding ``rnn`` then ``out``. Initialization: torch's defaults (every RNN parameter uniform in
``[-1/sqrt(H), 1/sqrt(H)]``, the readout as nn.Linear), with ``weight_hh`` then multiplied by
``recurrent_scale`` (1 is torch's; larger makes gradients explode through time, smaller vanish).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from server.problems.base import Array
from server.problems.nn.recurrent import ElmanRNN, RNNCache

Readout = Literal["last", "every"]


@dataclass(frozen=True)
class RNNModelCache:
    rnn: RNNCache
    h: Array  # (N, B, T, H)


@dataclass(frozen=True)
class RNNModel:
    inputs: int
    hidden: int
    readout: Readout
    recurrent_scale: float = 1.0

    @property
    def slices(self) -> tuple[slice, ...]:
        i, h = self.inputs, self.hidden
        sizes = (h * i, h * h, h, h, h, 1)
        ends = np.cumsum(sizes)
        return tuple(slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True))

    @property
    def dim(self) -> int:
        return int(self.slices[-1].stop)

    def weight_mask(self) -> Array:
        mask = np.zeros(self.dim)
        for k in (0, 1, 4):
            mask[self.slices[k]] = 1.0
        return mask

    def unflatten(self, params: Array) -> tuple[Array, ...]:
        n, i, h = params.shape[0], self.inputs, self.hidden
        s = self.slices
        return (
            params[:, s[0]].reshape(n, h, i),
            params[:, s[1]].reshape(n, h, h),
            params[:, s[2]],
            params[:, s[3]],
            params[:, s[4]],
            params[:, s[5]],
        )

    def init(self, seed: int) -> Array:
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(self.hidden)
        out = rng.uniform(-bound, bound, size=self.dim)
        out[self.slices[1]] *= self.recurrent_scale
        return out

    def forward_cached(self, params: Array, x: Array) -> tuple[Array, RNNModelCache]:
        """Outputs ``(N, B, 1)`` (last) or ``(N, B, T)`` (every) for ``x`` ``(B, T, I)``."""
        w_ih, w_hh, b_ih, b_hh, w_o, b_o = self.unflatten(params)
        h, cache = ElmanRNN.forward(x[None], w_ih, w_hh, b_ih, b_hh)
        if self.readout == "last":
            y = np.matmul(h[:, :, -1], w_o[:, :, None])
            y += b_o[:, None, :]
        else:
            y = np.matmul(h, w_o[:, None, :, None])[..., 0]
            y += b_o[:, None, :]
        return y, RNNModelCache(cache, h)

    def forward(self, params: Array, x: Array) -> Array:
        return self.forward_cached(params, x)[0]

    def backward(self, params: Array, cache: RNNModelCache, dy: Array) -> tuple[Array, Array]:
        """The gradient ``(N, P)`` and ``|dL/dh_t|`` ``(N, T)`` from the outputs' gradient."""
        n = params.shape[0]
        w_ih, w_hh, _, _, w_o, _ = self.unflatten(params)
        h = cache.h
        s = self.slices
        grads = np.empty((n, self.dim))
        if self.readout == "last":
            dh = np.zeros_like(h)
            dh[:, :, -1] = dy * w_o[:, None, :]
            grads[:, s[4]] = np.einsum("nb,nbh->nh", dy[..., 0], h[:, :, -1])
            grads[:, s[5]] = dy.sum(axis=(1, 2))[:, None]
        else:
            dh = dy[..., None] * w_o[:, None, None, :]
            grads[:, s[4]] = np.einsum("nbt,nbth->nh", dy, h)
            grads[:, s[5]] = dy.sum(axis=(1, 2))[:, None]
        g = ElmanRNN.backward(cache.rnn, w_ih, w_hh, dh)
        grads[:, s[0]] = g.w_ih.reshape(n, -1)
        grads[:, s[1]] = g.w_hh.reshape(n, -1)
        grads[:, s[2]] = g.b_ih
        grads[:, s[3]] = g.b_hh
        return grads, g.h_norms
