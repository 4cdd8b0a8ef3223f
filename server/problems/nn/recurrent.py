"""An Elman RNN cell (tanh) unrolled through time, backprop through time, clipping by norm.

Shapes carry a leading run axis R (R weight sets at once). The inputs ``x`` are ``(R | 1, B, T,
I)`` (batch first, as torch.nn.RNN(batch_first=True)); the weights follow torch.nn.RNN:
``w_ih (R, H, I)``, ``w_hh (R, H, H)``, ``b_ih`` and ``b_hh`` ``(R, H)``. From ``h_0 = 0``:

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   t = 1..T

``forward`` returns every hidden state, ``(R, B, T, H)``. ``backward`` takes ``dL/dh_t`` from the
layers above (every t) and carries the gradient back through the recurrence:
``dz_t = (dL/dh_t + dz_{t+1} W_hh) * (1 - h_t^2)``. It also returns the norm of the total
gradient reaching each hidden state, ``|dL/dh_t|`` per run and step, which is what vanishes or
explodes through time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.problems.base import Array

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ divides by (norm + 1e-6)


@dataclass(frozen=True)
class RNNCache:
    x: Array  # (R | 1, B, T, I)
    h: Array  # (R, T, B, H), time major


@dataclass(frozen=True)
class RNNGrads:
    dx: Array | None
    w_ih: Array
    w_hh: Array
    b_ih: Array
    b_hh: Array
    h_norms: Array  # (R, T): |dL/dh_t| over the batch and the units


class ElmanRNN:
    """The tanh RNN of torch.nn.RNN (one layer, ``h_0 = 0``), forward and BPTT."""

    @staticmethod
    def forward(
        x: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array
    ) -> tuple[Array, RNNCache]:
        runs, hidden = w_hh.shape[0], w_hh.shape[1]
        _, batch, steps, inputs = x.shape
        # every step's input term at once: (R, T, B, H)
        xt = x.transpose(0, 2, 1, 3).reshape(x.shape[0], steps * batch, inputs)
        drive = np.matmul(xt, w_ih.transpose(0, 2, 1)).reshape(-1, steps, batch, hidden)
        drive = drive + (b_ih + b_hh)[:, None, None, :]
        h = np.empty((runs, steps, batch, hidden))
        w_t = w_hh.transpose(0, 2, 1)
        np.tanh(drive[:, 0], out=h[:, 0])
        for t in range(1, steps):
            z = np.matmul(h[:, t - 1], w_t)
            z += drive[:, t]
            np.tanh(z, out=h[:, t])
        return h.transpose(0, 2, 1, 3), RNNCache(x, h)

    @staticmethod
    def backward(
        cache: RNNCache, w_ih: Array, w_hh: Array, dh: Array, need_dx: bool = False
    ) -> RNNGrads:
        """Gradients from ``dL/dh`` ``(R, B, T, H)`` (the direct part from above, every step)."""
        h = cache.h
        runs, steps, batch, hidden = h.shape
        direct = dh.transpose(0, 2, 1, 3)  # (R, T, B, H)
        dz = np.empty_like(h)
        total = np.empty_like(h)  # dL/dh_t, direct plus what comes back through time
        carry = direct[:, steps - 1]
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                carry = np.matmul(dz[:, t + 1], w_hh)
                carry += direct[:, t]
            total[:, t] = carry
            d = dz[:, t]
            np.multiply(h[:, t], h[:, t], out=d)
            np.subtract(1.0, d, out=d)
            d *= carry
        flat_dz = dz.reshape(runs, steps * batch, hidden)
        prev = np.zeros_like(h)
        prev[:, 1:] = h[:, :-1]
        d_whh = np.matmul(flat_dz.transpose(0, 2, 1), prev.reshape(runs, steps * batch, hidden))
        x = cache.x
        xt = x.transpose(0, 2, 1, 3).reshape(x.shape[0], steps * batch, x.shape[3])
        d_wih = np.matmul(flat_dz.transpose(0, 2, 1), xt)
        db = flat_dz.sum(axis=1)
        dx = None
        if need_dx:
            dx = np.matmul(dz, w_ih[:, None]).transpose(0, 2, 1, 3)
        norms = np.sqrt(np.einsum("rtbh,rtbh->rt", total, total))
        return RNNGrads(dx, d_wih, d_whh, db, db.copy(), norms)


def clip_by_norm(grads: Array, max_norm: float | None) -> Array:
    """Each run's gradient row ``(N, P)`` scaled by ``min(1, max_norm / (|g| + 1e-6))``.

    torch.nn.utils.clip_grad_norm_'s rule (the 2-norm over every parameter); None: unchanged.
    """
    if max_norm is None:
        return grads
    norm = np.sqrt(np.einsum("np,np->n", grads, grads))
    scale = np.minimum(1.0, max_norm / (norm + CLIP_EPS))
    out: Array = grads * scale[:, None]
    return out
