"""Seeded sequence tasks for the RNN: inputs ``(n, T, 2)``, targets, from one seed.

- ``adding`` (Hochreiter & Schmidhuber 1997; Le et al. 2015's form): each step carries a value
  uniform in [0, 1] and a marker; exactly two steps are marked, one in each half of the
  sequence, and the target is the sum of the two marked values, read after the last step (so
  the network must carry the first value across up to T steps: the gradient that reaches it
  has to flow back through time, and vanishes). Targets ``(n, 1)``.
- ``sine_seq``: a sine wave of random phase and a frequency in [0.3, 0.6] radians a step, plus
  Gaussian noise of standard deviation ``noise``, as input; the target at every step is the
  clean wave ``ahead`` steps later. The second input feature is the constant 1 (a bias cue
  the tasks share). Targets ``(n, T)``.
"""

from __future__ import annotations

import numpy as np

from server.problems.base import Array

SEQUENCE_TASKS: tuple[str, ...] = ("adding", "sine_seq")


def adding(n: int, steps: int, rng: np.random.Generator) -> tuple[Array, Array]:
    values = rng.uniform(0.0, 1.0, size=(n, steps))
    half = max(1, steps // 2)
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, steps, size=n) if steps > 1 else first
    markers = np.zeros((n, steps))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = (values * markers).sum(axis=1)
    return np.stack([values, markers], axis=2), target[:, None]


def sine_seq(
    n: int, steps: int, rng: np.random.Generator, noise: float, ahead: int
) -> tuple[Array, Array]:
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1))
    freq = rng.uniform(0.3, 0.6, size=(n, 1))
    t = np.arange(steps)[None, :]
    signal = np.sin(freq * t + phase) + noise * rng.standard_normal((n, steps))
    target = np.sin(freq * (t + ahead) + phase)
    return np.stack([signal, np.ones((n, steps))], axis=2), target


def make_sequences(
    task: str, n: int, steps: int, seed: int, noise: float = 0.1, ahead: int = 3
) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    if task == "adding":
        return adding(n, steps, rng)
    if task == "sine_seq":
        return sine_seq(n, steps, rng, noise, ahead)
    raise ValueError(f"Unknown sequence task {task!r}; choose one of {list(SEQUENCE_TASKS)}")
