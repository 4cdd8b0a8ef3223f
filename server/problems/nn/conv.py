"""Convolution, max pooling and flattening, each with its forward and its backward side by side.

Layout: channels last with a leading run axis, ``x`` of shape ``(R, B, H, W, C)`` (R weight sets
evaluated at once; R may be 1 for data shared by every run, which broadcasts). A convolution's
weight is ``(R, O, C, k, k)``, torch.nn.Conv2d's layout per run, and its bias ``(R, O)``.

``Conv2d`` is im2col: the ``k x k x C`` patch under every output pixel is gathered into one row
(one strided copy per kernel offset), so the convolution is one batched matmul and its weight gradient
another; the input gradient scatters the patch gradients back with one add per kernel offset
(``k * k`` vectorized adds, never a loop over pixels). Cross-correlation, as torch computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from server.problems.base import Array


def out_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output length of a window sweep (torch's floor formula); at least 1 or ValueError."""
    n = (size + 2 * padding - kernel) // stride + 1
    if n < 1:
        raise ValueError(
            f"Invalid window: kernel {kernel} with padding {padding} does not fit size {size}"
        )
    return n


def _scatter(
    d_windows: Array, shape: tuple[int, ...], kernel: int, stride: int, ho: int, wo: int
) -> Array:
    """The adjoint of im2col: sum the window gradients ``(R, B, Ho, Wo, C, k, k)`` into ``shape``."""
    dx = np.zeros(shape)
    for i in range(kernel):
        for j in range(kernel):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            cols = slice(j, j + stride * (wo - 1) + 1, stride)
            dx[:, :, rows, cols, :] += d_windows[..., i, j]
    return dx


@dataclass(frozen=True)
class ConvCache:
    cols: Array  # (R | 1, B * Ho * Wo, C * k * k)
    x_shape: tuple[int, ...]
    out_hw: tuple[int, int]


class Conv2d:
    """``y[r, b, p, q, o] = b[r, o] + sum_{c,i,j} w[r, o, c, i, j] xp[r, b, s p + i, s q + j, c]``
    with ``xp`` the input zero-padded by ``padding`` on each side of H and W."""

    def __init__(self, kernel: int, stride: int = 1, padding: int = 0) -> None:
        if kernel < 1 or stride < 1 or padding < 0:
            raise ValueError(
                f"Invalid convolution: kernel {kernel}, stride {stride}, padding {padding}"
            )
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def _pad(self, x: Array) -> Array:
        p = self.padding
        if p == 0:
            return x
        return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p), (0, 0)))

    def columns(self, x: Array) -> ConvCache:
        """The im2col rows of ``x``: reusable when the same input is convolved again."""
        r, batch, h, width, c = x.shape
        k, s = self.kernel, self.stride
        ho = out_size(h, k, s, self.padding)
        wo = out_size(width, k, s, self.padding)
        xp = self._pad(x)
        cols = np.empty((r, batch, ho, wo, c, k, k))
        for i in range(k):
            for j in range(k):
                cols[..., i, j] = xp[
                    :, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s
                ]
        return ConvCache(cols.reshape(r, batch * ho * wo, c * k * k), x.shape, (ho, wo))

    def forward(
        self, x: Array, w: Array, b: Array, cache: ConvCache | None = None
    ) -> tuple[Array, ConvCache]:
        """``y`` ``(R, B, Ho, Wo, O)``; ``cache`` (``columns(x)``) skips the gathering."""
        cache = cache or self.columns(x)
        runs, o = w.shape[0], w.shape[1]
        y = np.matmul(cache.cols, w.reshape(runs, o, -1).transpose(0, 2, 1))
        y += b[:, None, :]
        ho, wo = cache.out_hw
        return y.reshape(y.shape[0], cache.x_shape[1], ho, wo, o), cache

    def backward(
        self, cache: ConvCache, w: Array, dy: Array, need_dx: bool = True
    ) -> tuple[Array | None, Array, Array]:
        """``(dL/dx, dL/dw, dL/db)`` from ``dL/dy`` ``(R, B, Ho, Wo, O)``; dx skipped if not needed."""
        runs, o, c, k, _ = w.shape
        d2 = dy.reshape(dy.shape[0], -1, o)
        dw = np.matmul(d2.transpose(0, 2, 1), cache.cols).reshape(w.shape)
        db = d2.sum(axis=1)
        if not need_dx:
            return None, dw, db
        ho, wo = cache.out_hw
        _, batch, h, width, _ = cache.x_shape
        d_cols = np.matmul(d2, w.reshape(runs, o, c * k * k))
        d_windows = d_cols.reshape(d_cols.shape[0], batch, ho, wo, c, k, k)
        p = self.padding
        padded = (d_cols.shape[0], batch, h + 2 * p, width + 2 * p, c)
        dxp = _scatter(d_windows, padded, k, self.stride, ho, wo)
        return dxp[:, :, p : p + h, p : p + width, :], dw, db


@dataclass(frozen=True)
class PoolCache:
    index: npt.NDArray[np.int8]  # (R, B, Ho, Wo, C): the offset i * k + j of each window's maximum
    x_shape: tuple[int, ...]


class MaxPool2d:
    """``y = max`` over each ``k x k`` window (stride ``stride``, default ``k``; no padding).

    One vectorized comparison per kernel offset. Like torch, the gradient goes to the first
    maximum of a window (row-major) when it ties.
    """

    def __init__(self, kernel: int, stride: int | None = None) -> None:
        self.kernel = kernel
        self.stride = kernel if stride is None else stride
        if kernel < 1 or self.stride < 1:
            raise ValueError(f"Invalid pooling: kernel {kernel}, stride {self.stride}")

    def _offsets(self, ho: int, wo: int) -> list[tuple[int, slice, slice]]:
        k, s = self.kernel, self.stride
        return [
            (i * k + j, slice(i, i + s * (ho - 1) + 1, s), slice(j, j + s * (wo - 1) + 1, s))
            for i in range(k)
            for j in range(k)
        ]

    def forward(self, x: Array) -> tuple[Array, PoolCache]:
        ho = out_size(x.shape[2], self.kernel, self.stride)
        wo = out_size(x.shape[3], self.kernel, self.stride)
        offsets = self._offsets(ho, wo)
        _, rows, cols = offsets[0]
        y = x[:, :, rows, cols].copy()
        index = np.zeros(y.shape, dtype=np.int8)
        for o, rows, cols in offsets[1:]:
            window = x[:, :, rows, cols]
            bigger = window > y  # strictly: a tie keeps the earlier offset
            np.copyto(y, window, where=bigger)
            index[bigger] = o
        return y, PoolCache(index, x.shape)

    def backward(self, cache: PoolCache, dy: Array) -> Array:
        ho, wo = cache.index.shape[2], cache.index.shape[3]
        dx = np.zeros(cache.x_shape)
        overlap = self.stride < self.kernel
        for o, rows, cols in self._offsets(ho, wo):
            routed = np.where(cache.index == o, dy, 0.0)
            if overlap:
                dx[:, :, rows, cols] += routed
            else:
                dx[:, :, rows, cols] = routed
        return dx


class Flatten:
    """``(R, B, ...)`` to ``(R, B, features)`` in row-major order, and back."""

    @staticmethod
    def forward(x: Array) -> Array:
        return x.reshape(x.shape[0], x.shape[1], -1)

    @staticmethod
    def backward(shape: tuple[int, ...], dy: Array) -> Array:
        return dy.reshape(shape)
