"""The CNN's logits over a whole data split (every training or held-out image), pooling first.

Metering a race (the loss and accuracy of every step, for every run, on all the images) needs
no cache for a backward, so the forward is rearranged to touch each activation once. With ``z``
the convolution without its bias, a pooling window ``W`` and a channel's bias ``b``,

    max_{p in W} relu(z_p + b) = relu(max_{p in W} z_p + b)

since ``b`` is the same over a window and ``x -> relu(x + b)`` never decreases (also in floating
point, where rounding is monotone), so both sides are the same number. The im2col rows of the
split are grouped once by their offset in the pooling window, ``(pool^2, B Hp Wp, C k k)``; then
one matmul per offset with every run's filters side by side, ``(C k k, R O)``, gives ``z`` at
that offset for all runs at once, and the running maximum over the offsets is the pooled map.
The bias, the ReLU and the dense layer then work on a map ``pool^2`` times smaller than the
convolution's. Same result as ``CNN.forward`` up to the order of a dot product's terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.problems.base import Array
from server.problems.nn.cnn import CNN


@dataclass(frozen=True)
class PooledColumns:
    cols: Array  # (pool^2, B * Hp * Wp, C * k * k): im2col rows, by offset in the pool window
    batch: int
    cells: int  # Hp * Wp, the pooled map's pixels


def pooled_columns(cnn: CNN, x: Array) -> PooledColumns:
    """The im2col rows of images ``x`` ``(B, side, side, C)`` grouped by pooling offset."""
    cache = cnn.conv.columns(x[None])
    ho, wo = cache.out_hw
    batch, width = x.shape[0], cache.cols.shape[-1]
    p = cnn.pool if cnn.pooling is not None else 1
    hp, wp = cnn.hw
    cols = cache.cols[0].reshape(batch, ho, wo, width)[:, : hp * p, : wp * p]
    grouped = cols.reshape(batch, hp, p, wp, p, width).transpose(2, 4, 0, 1, 3, 5)
    return PooledColumns(
        np.ascontiguousarray(grouped.reshape(p * p, batch * hp * wp, width)), batch, hp * wp
    )


def split_logits(cnn: CNN, params: Array, pc: PooledColumns) -> Array:
    """Logits ``(R, B, classes)`` of the weight sets ``params`` ``(R, P)`` on the split ``pc``."""
    conv_w, conv_b, fc_w, fc_b = cnn.unflatten(params)
    runs, filters = params.shape[0], cnn.filters
    w = conv_w.reshape(runs * filters, -1).T  # (C k k, R O)
    z = np.matmul(pc.cols, w)  # (pool^2, B Hp Wp, R O)
    pooled = z[0] if z.shape[0] == 1 else z.max(axis=0)
    pooled = pooled.reshape(pc.batch, pc.cells, runs, filters)
    pooled += conv_b
    np.maximum(pooled, 0.0, out=pooled)
    features = pooled.transpose(2, 0, 1, 3).reshape(runs, pc.batch, pc.cells * filters)
    logits: Array = np.matmul(features, fc_w.transpose(0, 2, 1))
    logits += fc_b[:, None, :]
    return logits
