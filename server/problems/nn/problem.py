"""A small network on a toy data set, as a ``Problem`` over its flat parameter vector.

The objective is the mean loss over the training set plus an L2 penalty on the weights (not
the biases): ``f(p) = loss(p) + (l2 / 2) * sum(W^2)``, whose gradient adds ``l2 * W`` (the
same as torch.optim's ``weight_decay = l2`` on the weights).

Training: update number ``k`` (k = 1, 2, ...) uses ``grad_batch(params, k - 1)``, the gradient
on mini-batch ``k - 1``. Each epoch visits the training set in a fresh order, the permutation
of epoch ``e`` drawn from ``numpy.random.default_rng((seed, e))``; batches are consecutive
slices of it, the last one shorter when ``batch_size`` does not divide the training set
(torch's DataLoader with ``drop_last=False``). ``batch_size`` None (or >= the training set)
means full batch, the same gradient as ``grad``.

``metrics`` reports, per run, ``train_loss`` and ``test_loss`` (both the objective above, L2
included, like Keras' ``loss``/``val_loss``) and for classification ``train_acc`` and
``test_acc``. Keys that do not apply are omitted, not NaN: the accuracies for regression, the
test entries when ``test_fraction`` is 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from server.problems.base import Array
from server.problems.nn.datasets import (
    DATASETS,
    MAX_POINTS,
    Dataset,
    InvalidConfig,
    make_dataset,
    task_of,
)
from server.problems.nn.layers import ACTIVATIONS, sigmoid
from server.problems.nn.losses import Loss, loss
from server.problems.nn.mlp import MLP

MAX_LAYERS = 6
MAX_UNITS = 64
MAX_L2 = 10.0
LOSS_CHOICES: tuple[str, ...] = ("auto", "bce", "softmax", "mse")
LIMITS: dict[str, tuple[float, float]] = {
    "n": (10, MAX_POINTS),
    "noise": (0.0, 5.0),
    "test_fraction": (0.0, 0.9),
    "arms": (2, 6),
    "classes": (2, 6),
    "l2": (0.0, MAX_L2),
    "batch_size": (1, MAX_POINTS),
    "seed": (0, 2**32 - 1),
}
"""Each numeric field's (lowest, highest); int bounds mean a whole number."""
# Temporaries of a batched forward hold (runs x points x width) floats; chunk the runs to
# keep each one near 8 MB.
_CHUNK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class NetworkConfig:
    """A network problem, as sent by the page under ``"network"``."""

    dataset: str = "spiral"
    n: int = 400
    noise: float = 0.1
    test_fraction: float = 0.2
    arms: int = 2
    classes: int = 3
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    loss: str = "auto"
    l2: float = 0.0
    batch_size: int | None = None
    seed: int = 0

    @classmethod
    def from_json(cls, data: object, prefix: str = "network") -> NetworkConfig:
        """Parse and validate; errors are ``InvalidConfig`` with ``field`` ``"network.<key>"``."""
        if not isinstance(data, Mapping):
            raise InvalidConfig(prefix, "The network must be a JSON object")
        known = set(cls.__dataclass_fields__)
        for key in data:
            if key not in known:
                raise InvalidConfig(f"{prefix}.{key}", f"Unknown network field {key!r}")

        def where(key: str) -> str:
            return f"{prefix}.{key}"

        d = cls()
        hidden_raw = data.get("hidden", list(d.hidden))
        if not isinstance(hidden_raw, list | tuple):
            raise InvalidConfig(where("hidden"), "hidden must be a list of layer widths")
        if len(hidden_raw) > MAX_LAYERS:
            raise InvalidConfig(
                where("hidden"), f"Too many hidden layers: {len(hidden_raw)} (at most {MAX_LAYERS})"
            )
        hidden = tuple(
            _integer(v, f"{where('hidden')}[{i}]", 1, MAX_UNITS) for i, v in enumerate(hidden_raw)
        )
        batch_raw = data.get("batch_size")

        def number(key: str) -> Any:
            lo, hi = LIMITS[key]
            value = data.get(key, getattr(d, key))
            if isinstance(lo, int):
                return _integer(value, where(key), lo, int(hi))
            return _real(value, where(key), lo, hi)

        config = cls(
            dataset=_choice(data.get("dataset", d.dataset), where("dataset"), DATASETS),
            n=number("n"),
            noise=number("noise"),
            test_fraction=number("test_fraction"),
            arms=number("arms"),
            classes=number("classes"),
            hidden=hidden,
            activation=_choice(
                data.get("activation", d.activation), where("activation"), ACTIVATIONS
            ),
            loss=_choice(data.get("loss", d.loss), where("loss"), LOSS_CHOICES),
            l2=number("l2"),
            batch_size=None if batch_raw is None else number("batch_size"),
            seed=number("seed"),
        )
        config.resolved_loss(prefix)
        return config

    def resolved_loss(self, prefix: str = "network") -> str:
        """The loss ``"auto"`` stands for, after checking the loss suits the data set."""
        task, _ = task_of(self.dataset, self.arms, self.classes)
        if self.loss == "auto":
            return {"binary": "bce", "multiclass": "softmax", "regression": "mse"}[task]
        if self.loss == "bce" and task != "binary":
            raise InvalidConfig(
                f"{prefix}.loss", "bce needs a two-class data set; use softmax or mse"
            )
        if self.loss == "softmax" and task == "regression":
            raise InvalidConfig(f"{prefix}.loss", "softmax needs a classification data set")
        return self.loss

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _integer(value: object, field: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfig(field, f"Invalid {field}: {_describe(value)} (an integer)")
    if not lo <= value <= hi:
        raise InvalidConfig(field, f"Invalid {field}: {value} ({lo} to {hi})")
    return value


def _real(value: object, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(field, f"Invalid {field}: {_describe(value)} (a number)")
    number = float(value)
    if not (math.isfinite(number) and lo <= number <= hi):
        raise InvalidConfig(field, f"Invalid {field}: {value} ({lo} to {hi})")
    return number


def _choice(value: object, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidConfig(
            field, f"Invalid {field}: {_describe(value)} (one of {', '.join(choices)})"
        )
    return value


class NetworkProblem:
    """``Problem`` over the ``dim`` parameters of an MLP trained on a toy data set."""

    def __init__(self, config: NetworkConfig | None = None) -> None:
        self.config = config or NetworkConfig()
        c = self.config
        loss_name = c.resolved_loss()
        try:
            self.dataset: Dataset = make_dataset(
                c.dataset, c.n, c.noise, c.seed, c.test_fraction, c.arms, c.classes
            )
        except InvalidConfig as error:
            raise InvalidConfig(f"network.{error.field}", error.message) from None
        data = self.dataset
        outputs = data.classes if (loss_name == "softmax" or data.task == "multiclass") else 1
        self.mlp = MLP((data.inputs, *c.hidden, outputs), c.activation)
        self.loss: Loss = loss(loss_name)
        self.dim = self.mlp.dim
        self.train_targets = self.encode(data.y_train)
        self.test_targets = self.encode(data.y_test)
        self._decay = c.l2 * self.mlp.weight_mask()
        self._epoch: tuple[int, Array, Array] | None = None

    @classmethod
    def from_json(cls, data: object) -> NetworkProblem:
        return cls(NetworkConfig.from_json(data))

    @property
    def outputs(self) -> int:
        return self.mlp.sizes[-1]

    def encode(self, y: Array) -> Array:
        """Targets ``(B, outputs)``: one-hot for several outputs, else ``y`` as a column."""
        if self.outputs == 1:
            return y[:, None].copy()
        out: Array = (y[:, None] == np.arange(self.outputs)).astype(np.float64)
        return out

    def init_params(self, seed: int) -> Array:
        """Initial weights ``(P,)``: torch.nn.Linear's default init drawn from ``seed``."""
        return self.mlp.init(seed)

    # -- the objective ---------------------------------------------------------------

    def _rows(self, p: Array) -> tuple[Array, tuple[int, ...]]:
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (self.dim,):
            raise ValueError(f"Expected parameters of shape (..., {self.dim}), got {p.shape}")
        return p.reshape(-1, self.dim), p.shape[:-1]

    def _chunks(self, runs: int, points: int) -> list[slice]:
        size = max(1, _CHUNK_ELEMENTS // max(1, points * self.mlp.width))
        return [slice(i, min(i + size, runs)) for i in range(0, runs, size)]

    def _penalty(self, rows: Array) -> Array:
        if self.config.l2 == 0.0:
            return np.zeros(rows.shape[0])
        return 0.5 * ((rows * rows) @ self._decay)

    def _objective(self, rows: Array, x: Array, t: Array) -> Array:
        out = np.empty(rows.shape[0])
        for part in self._chunks(rows.shape[0], x.shape[0]):
            out[part] = self.loss.value(self.mlp.forward(rows[part], x), t)
        return out + self._penalty(rows)

    def _gradient(self, rows: Array, x: Array, t: Array) -> Array:
        out = np.empty_like(rows)
        for part in self._chunks(rows.shape[0], x.shape[0]):
            z, cache = self.mlp.forward_cached(rows[part], x)
            out[part] = self.mlp.backward(rows[part], cache, self.loss.grad(z, t))
        if self.config.l2 != 0.0:
            out += rows * self._decay
        return out

    def value(self, p: Array) -> Array:
        """Training-set loss plus the L2 penalty, shape ``p.shape[:-1]``."""
        rows, lead = self._rows(p)
        return self._objective(rows, self.dataset.x_train, self.train_targets).reshape(lead)

    def grad(self, p: Array) -> Array:
        """Full-batch gradient of ``value``, shape ``p.shape``."""
        rows, lead = self._rows(p)
        return self._gradient(rows, self.dataset.x_train, self.train_targets).reshape(
            *lead, self.dim
        )

    def hessian(self, p: Array) -> Array:
        raise NotImplementedError(
            "Networks have no Hessian here (P x P per run is too large): newton is refused for "
            "network problems; use a first-order optimizer"
        )

    # -- mini-batches ----------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """The effective batch size (the training set's size for full batch)."""
        n = int(self.dataset.x_train.shape[0])
        b = self.config.batch_size
        return n if b is None else min(b, n)

    @property
    def batches_per_epoch(self) -> int:
        return -(-int(self.dataset.x_train.shape[0]) // self.batch_size)

    def epoch_order(self, epoch: int) -> npt.NDArray[np.intp]:
        """The permutation of the training set visited in epoch ``epoch`` (0-based)."""
        rng = np.random.default_rng((self.config.seed, epoch))
        return rng.permutation(self.dataset.x_train.shape[0])

    def batch_indices(self, step: int) -> npt.NDArray[np.intp]:
        """Training-set indices of the mini-batch used by update number ``step + 1``."""
        if step < 0:
            raise ValueError(f"Invalid step: {step}")
        n = self.dataset.x_train.shape[0]
        if self.batch_size >= n:
            return np.arange(n)
        epoch, index = divmod(step, self.batches_per_epoch)
        start = index * self.batch_size
        return self.epoch_order(epoch)[start : start + self.batch_size]

    def batch(self, step: int) -> tuple[Array, Array]:
        """Inputs and encoded targets of mini-batch ``step`` (views, cached per epoch)."""
        x, t = self.dataset.x_train, self.train_targets
        if self.batch_size >= x.shape[0]:
            return x, t
        epoch, index = divmod(step, self.batches_per_epoch)
        cached = self._epoch
        if cached is None or cached[0] != epoch:
            order = self.epoch_order(epoch)
            cached = (epoch, x[order], t[order])
            self._epoch = cached  # one assignment: concurrent readers see old or new, whole
        start = index * self.batch_size
        return cached[1][start : start + self.batch_size], cached[2][
            start : start + self.batch_size
        ]

    def grad_batch(self, p: Array, step: int) -> Array:
        """Gradient (with the L2 term) on the mini-batch of update number ``step + 1``."""
        if step < 0:
            raise ValueError(f"Invalid step: {step}")
        rows, lead = self._rows(p)
        x, t = self.batch(step)
        return self._gradient(rows, x, t).reshape(*lead, self.dim)

    # -- what the page shows -----------------------------------------------------------

    def _predict(self, rows: Array, x: Array) -> Array:
        out = np.empty((rows.shape[0], x.shape[0], self.outputs))
        for part in self._chunks(rows.shape[0], x.shape[0]):
            out[part] = self.mlp.forward(rows[part], x)
        return out

    def _classes(self, z: Array) -> Array:
        if self.outputs > 1:
            out: Array = np.argmax(z, axis=-1).astype(np.float64)
            return out
        threshold = 0.5 if self.loss.name == "mse" else 0.0
        return (z[..., 0] > threshold).astype(np.float64)

    def metrics(self, p: Array) -> dict[str, Array]:
        """Per-run ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc`` (see the module)."""
        rows, lead = self._rows(p)
        data = self.dataset
        parts = [("train", data.x_train, data.y_train, self.train_targets)]
        if data.x_test.shape[0]:
            parts.append(("test", data.x_test, data.y_test, self.test_targets))
        out: dict[str, Array] = {}
        for name, x, y, t in parts:
            z = self._predict(rows, x)
            out[f"{name}_loss"] = (self.loss.value(z, t) + self._penalty(rows)).reshape(lead)
            if data.task != "regression":
                correct = self._classes(z) == y
                out[f"{name}_acc"] = correct.mean(axis=-1).reshape(lead)
        return out

    def grid_axes(self, n: int = 40) -> tuple[Array, Array | None]:
        """The input grid of ``boundary``: x (and y for 2D inputs) coordinates, ``n`` each."""
        bounds = self.dataset.bounds
        gx = np.linspace(*bounds[0], n)
        gy = np.linspace(*bounds[1], n) if len(bounds) > 1 else None
        return gx, gy

    def boundary(self, p: Array, n: int = 40) -> Array:
        """What the network predicts over the input grid, per run.

        2D classification: ``(..., n, n)`` with ``[i, j]`` at ``(x[j], y[i])``, the probability
        of class 1 for two classes (the clipped output for mse), the argmax class index
        otherwise. 1D regression: the curve ``(..., n)`` over ``x``.
        """
        if not 2 <= n <= 200:
            raise ValueError(f"Invalid grid size: {n} (2 to 200)")
        rows, lead = self._rows(p)
        gx, gy = self.grid_axes(n)
        if gy is None:
            return self._predict(rows, gx[:, None])[..., 0].reshape(*lead, n)
        xx, yy = np.meshgrid(gx, gy)
        z = self._predict(rows, np.stack([xx.ravel(), yy.ravel()], axis=1))
        if self.outputs > 2:
            values = self._classes(z)
        elif self.outputs == 2:
            values = sigmoid(z[..., 1] - z[..., 0])
        elif self.loss.name == "mse":
            values = np.clip(z[..., 0], 0.0, 1.0)
        else:
            values = sigmoid(z[..., 0])
        return values.reshape(*lead, n, n)

    def to_json(self, grid: int = 40) -> dict[str, Any]:
        """The problem for the page: configuration, architecture, data and grid axes."""
        data = self.dataset
        gx, gy = self.grid_axes(grid)
        return {
            "kind": "network",
            "config": self.config.to_json(),
            "task": data.task,
            "classes": data.classes,
            "sizes": list(self.mlp.sizes),
            "activation": self.mlp.activation,
            "loss": self.loss.name,
            "dim": self.dim,
            "batch_size": self.batch_size,
            "train": {"x": data.x_train.tolist(), "y": data.y_train.tolist()},
            "test": {"x": data.x_test.tolist(), "y": data.y_test.tolist()},
            "bounds": [list(b) for b in data.bounds],
            "grid": {"n": grid, "x": gx.tolist(), "y": None if gy is None else gy.tolist()},
        }
