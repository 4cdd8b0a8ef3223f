"""The 8x8 handwritten digits (1,797 images, 10 classes), read from the copy in ``data/``.

See ``data/README.md`` for the source and the licence. Pixels (0..16) are scaled to [0, 1];
images are ``(n, 8, 8, 1)`` (channels last, as ``conv`` expects) and labels class indices as
floats. ``split`` shuffles with the seed and holds out the last ``round(n * test_fraction)``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from server.problems.base import Array

DATA_FILE = Path(__file__).with_name("data") / "digits.u8.gz"
COUNT = 1797
SIDE = 8
CLASSES = 10


@dataclass(frozen=True, eq=False)
class Split:
    """Inputs and targets, split in two. ``y`` is ``(n,)`` class indices or ``(n, ...)`` reals."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array


@cache
def load_digits() -> tuple[Array, Array]:
    """All images ``(1797, 8, 8, 1)`` in [0, 1] and labels ``(1797,)`` (0.0 to 9.0)."""
    try:
        raw = gzip.decompress(DATA_FILE.read_bytes())
    except OSError as error:
        raise RuntimeError(
            f"The digits data file {DATA_FILE} is missing or unreadable ({error}); reinstall "
            "gradscape, or regenerate it with scripts/make_digits.py (needs scikit-learn)"
        ) from None
    data = np.frombuffer(raw, dtype=np.uint8)
    if data.size != COUNT * (1 + SIDE * SIDE):
        raise RuntimeError(
            f"The digits data file {DATA_FILE} has {data.size} bytes, not the expected size"
        )
    labels = data[:COUNT].astype(np.float64)
    images = data[COUNT:].reshape(COUNT, SIDE, SIDE, 1).astype(np.float64) / 16.0
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def split(x: Array, y: Array, test_fraction: float, seed: int, n: int | None = None) -> Split:
    """The first ``n`` of a seeded shuffle of ``(x, y)``, the last ``round(n * f)`` held out."""
    order = np.random.default_rng(seed).permutation(x.shape[0])[: n or x.shape[0]]
    cut = order.size - round(order.size * test_fraction)
    train, test = order[:cut], order[cut:]
    return Split(
        np.ascontiguousarray(x[train]),
        np.ascontiguousarray(y[train]),
        np.ascontiguousarray(x[test]),
        np.ascontiguousarray(y[test]),
    )
