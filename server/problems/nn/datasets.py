"""Seeded toy data sets for the network problems, with a train/test split.

Every generator takes ``n`` (total points), ``noise`` (the standard deviation of Gaussian noise
added to each input coordinate, or to the target of the regression set) and a
``numpy.random.Generator``; all 2D sets live roughly in ``[-1.5, 1.5]^2``. Class labels are
stored as floats (0.0, 1.0, ...) so every array is float64.

- ``moons``: two interleaving half circles (radius 1), centred on the origin.
- ``circles``: a ring of radius 1 (class 0) around a ring of radius 0.5 (class 1).
- ``xor``: uniform points in ``[-1, 1]^2``, class 1 where the coordinates' signs differ.
- ``spiral``: ``arms`` arms of 1.5 turns each (radius 0.05 to 1), one class per arm.
- ``blobs``: ``classes`` Gaussian blobs (unit standard deviation scaled by ``0.1 + noise``),
  centred on a circle of radius 1.
- ``sine``: 1D regression, ``x`` uniform in ``[-pi, pi]`` and ``y = sin(x) + noise``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from server.problems.base import Array

Task = Literal["binary", "multiclass", "regression"]

DATASETS: tuple[str, ...] = ("moons", "circles", "xor", "spiral", "blobs", "sine")
MAX_POINTS = 2000


class InvalidConfig(ValueError):
    """A problem configuration value out of its domain; ``field`` names it (``"network.n"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``x`` of shape ``(n, d)`` and targets ``y`` of shape ``(n,)``, split in two.

    ``y`` holds class indices as floats for classification, real targets for regression.
    ``bounds`` is the padded input range per coordinate, used for decision-boundary grids.
    """

    name: str
    task: Task
    classes: int
    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array
    bounds: tuple[tuple[float, float], ...]

    @property
    def inputs(self) -> int:
        return int(self.x_train.shape[1])


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    n_upper = n // 2
    angle = rng.uniform(0.0, math.pi, size=n)
    upper = np.arange(n) < n_upper
    x = np.where(upper, np.cos(angle), 1.0 - np.cos(angle)) - 0.5
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle)) - 0.25
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return points, (~upper).astype(np.float64)


def circles(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    n_outer = n // 2
    angle = rng.uniform(0.0, 2.0 * math.pi, size=n)
    inner = np.arange(n) >= n_outer
    radius = np.where(inner, 0.5, 1.0)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points += noise * rng.standard_normal((n, 2))
    return points, inner.astype(np.float64)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    points = rng.uniform(-1.0, 1.0, size=(n, 2))
    label = (points[:, 0] * points[:, 1] < 0.0).astype(np.float64)
    return points + noise * rng.standard_normal((n, 2)), label


def spiral(n: int, noise: float, rng: np.random.Generator, arms: int = 2) -> tuple[Array, Array]:
    label = np.arange(n) % arms
    t = rng.uniform(0.0, 1.0, size=n)
    radius = 0.05 + 0.95 * t
    angle = 2.0 * math.pi * (label / arms + 1.5 * t)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points += noise * rng.standard_normal((n, 2))
    return points, label.astype(np.float64)


def blobs(n: int, noise: float, rng: np.random.Generator, classes: int = 3) -> tuple[Array, Array]:
    label = np.arange(n) % classes
    angle = 2.0 * math.pi * label / classes + math.pi / 2.0
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points = centres + (0.1 + noise) * rng.standard_normal((n, 2))
    return points, label.astype(np.float64)


def sine(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    x = rng.uniform(-math.pi, math.pi, size=n)
    return x[:, None], np.sin(x) + noise * rng.standard_normal(n)


def _generator(name: str, arms: int, classes: int) -> Callable[..., tuple[Array, Array]]:
    table: dict[str, Callable[..., tuple[Array, Array]]] = {
        "moons": moons,
        "circles": circles,
        "xor": xor,
        "spiral": lambda n, noise, rng: spiral(n, noise, rng, arms),
        "blobs": lambda n, noise, rng: blobs(n, noise, rng, classes),
        "sine": sine,
    }
    return table[name]


def task_of(name: str, arms: int = 2, classes: int = 3) -> tuple[Task, int]:
    """The task and the number of classes (0 for regression) of a named data set."""
    if name == "sine":
        return "regression", 0
    count = {"spiral": arms, "blobs": classes}.get(name, 2)
    return ("binary" if count == 2 else "multiclass"), count


def make_dataset(
    name: str,
    n: int = 200,
    noise: float = 0.1,
    seed: int = 0,
    test_fraction: float = 0.2,
    arms: int = 2,
    classes: int = 3,
) -> Dataset:
    """Generate ``n`` points of data set ``name`` from ``seed`` and split off a test part.

    The points are shuffled with the same seed before the split; the test part is the last
    ``round(n * test_fraction)`` of them.
    """
    if name not in DATASETS:
        raise InvalidConfig("dataset", f"Unknown dataset {name!r}; choose one of {list(DATASETS)}")
    if not 2 <= n <= MAX_POINTS:
        raise InvalidConfig("n", f"Invalid number of points: {n} (2 to {MAX_POINTS})")
    if not (math.isfinite(noise) and 0.0 <= noise <= 5.0):
        raise InvalidConfig("noise", f"Invalid noise: {noise} (0 to 5)")
    if not (math.isfinite(test_fraction) and 0.0 <= test_fraction <= 0.9):
        raise InvalidConfig("test_fraction", f"Invalid test fraction: {test_fraction} (0 to 0.9)")
    if not 2 <= arms <= 6:
        raise InvalidConfig("arms", f"Invalid number of spiral arms: {arms} (2 to 6)")
    if not 2 <= classes <= 6:
        raise InvalidConfig("classes", f"Invalid number of classes: {classes} (2 to 6)")
    n_test = round(n * test_fraction)
    if n - n_test < 2:
        raise InvalidConfig("test_fraction", "The training part needs at least 2 points")

    rng = np.random.default_rng(seed)
    x, y = _generator(name, arms, classes)(n, noise, rng)
    order = rng.permutation(n)
    x, y = x[order], y[order]
    task, count = task_of(name, arms, classes)
    low, high = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    bounds = tuple((float(lo), float(hi)) for lo, hi in zip(low - pad, high + pad, strict=True))
    split = n - n_test
    return Dataset(
        name=name,
        task=task,
        classes=count,
        x_train=np.ascontiguousarray(x[:split]),
        y_train=np.ascontiguousarray(y[:split]),
        x_test=np.ascontiguousarray(x[split:]),
        y_test=np.ascontiguousarray(y[split:]),
        bounds=bounds,
    )
