"""A CNN on the digits or an RNN on a sequence task, as a ``Problem`` over its flat weights.

The objective, the mini-batch order and the metrics follow ``problem.NetworkProblem``: the mean
loss (softmax cross-entropy on the digits, mean squared error on sequences) plus
``(l2 / 2) * sum(W^2)`` over the weights; update ``k`` uses the mini-batch ``k - 1`` of an epoch
order drawn from ``default_rng((seed, epoch))``; ``value`` is the full training objective.

Gradient clipping (RNN): the gradient used by update ``u`` is scaled to at most the threshold in
force for ``u`` (torch.nn.utils.clip_grad_norm_'s rule). ``set_clip`` changes it from a given
update on; ``clip_for(u)`` tells the threshold of update ``u``, so a torch twin can follow.

Accuracy: the share of correct classes on the digits; on sequences the share of outputs within
``TOLERANCE[task]`` of their target (0.04 for the adding problem, the usual criterion; 0.1 for
the sine), so every network frame carries ``train_acc`` and ``test_acc``.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from server.problems.base import Array
from server.problems.nn.cnn import CNN
from server.problems.nn.cnn_eval import PooledColumns, pooled_columns, split_logits
from server.problems.nn.deep_config import DeepConfig
from server.problems.nn.digits import CLASSES, SIDE, Split, load_digits, split
from server.problems.nn.losses import Loss, MeanSquaredError, SoftmaxCrossEntropy
from server.problems.nn.recurrent import clip_by_norm
from server.problems.nn.rnn import Readout, RNNModel
from server.problems.nn.sequences import make_sequences

TOLERANCE = {"adding": 0.04, "sine_seq": 0.1}
SAMPLE_DIGITS = 12
SAMPLE_SEQUENCES = 16
PROBE_BATCH = 32
TRAIN_MEMO = 256  # weight sets whose training loss and accuracy are kept
_CHUNK_ELEMENTS = 1 << 21


@cache
def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread, process-wide, once.

    The RNN's and the CNN's gradient matmuls (inner sizes of thousands) are where OpenBLAS
    starts its thread pool; on a busy 2-core machine that made an RNN backward 20x slower (9 ms
    to 180 ms measured). Sessions' trainings run one at a time in one worker thread anyway.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class DeepProblem:
    """``Problem`` (and ``StochasticProblem``) over the weights of a CNN or an RNN."""

    def __init__(self, config: DeepConfig | None = None) -> None:
        single_threaded_blas()
        self.config = c = config or DeepConfig()
        self.model: CNN | RNNModel
        self.loss: Loss
        if c.model == "cnn":
            images, labels = load_digits()
            self.data: Split = split(images, labels, c.test_fraction, c.seed, c.n)
            self.model = CNN(SIDE, 1, c.filters, c.kernel, c.stride, c.padding, c.pool, CLASSES)
            self.loss = SoftmaxCrossEntropy()
            self.task = "multiclass"
            self._width = c.filters * SIDE * SIDE * 2
        else:
            x, y = make_sequences(c.dataset, c.n, c.steps, c.seed, c.noise, c.ahead)
            self.data = split(x, y, c.test_fraction, c.seed)
            readout: Readout = "last" if c.dataset == "adding" else "every"
            self.model = RNNModel(2, c.hidden, readout, c.recurrent_scale)
            self.loss = MeanSquaredError()
            self.task = "regression"
            self._width = c.steps * c.hidden * 4
        self.dim = self.model.dim
        self.train_targets = self.encode(self.data.y_train)
        self.test_targets = self.encode(self.data.y_test)
        self._decay = c.l2 * self.model.weight_mask()
        self._columns: dict[str, PooledColumns] = {}
        self._train_memo: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._epoch: tuple[int, Array, Array] | None = None
        self._clips: list[tuple[int, float | None]] = [(1, c.clip)]

    @property
    def kind(self) -> str:
        return self.config.model

    def encode(self, y: Array) -> Array:
        if self.kind == "cnn":
            out: Array = (y[:, None] == np.arange(CLASSES)).astype(np.float64)
            return out
        return y

    def init_params(self, seed: int) -> Array:
        return self.model.init(seed)

    # -- clipping --------------------------------------------------------------------------

    def clip_for(self, update: int) -> float | None:
        """The clipping threshold of update number ``update`` (None: no clipping)."""
        value = self._clips[0][1]
        for first, clip in self._clips:
            if first <= update:
                value = clip
        return value

    def set_clip(self, clip: float | None, first_update: int) -> None:
        """Clip by ``clip`` from update ``first_update`` on (the earlier ones keep theirs)."""
        self._clips = [(u, v) for u, v in self._clips if u < first_update]
        self._clips.append((first_update, clip))

    def keep_latest_clip(self) -> None:
        """After a reset: the threshold in force now applies from update 1."""
        self._clips = [(1, self._clips[-1][1])]

    # -- the objective ---------------------------------------------------------------------

    def _rows(self, p: Array) -> tuple[Array, tuple[int, ...]]:
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (self.dim,):
            raise ValueError(f"Expected parameters of shape (..., {self.dim}), got {p.shape}")
        return p.reshape(-1, self.dim), p.shape[:-1]

    def _chunks(self, runs: int, points: int) -> list[slice]:
        size = max(1, _CHUNK_ELEMENTS // max(1, points * self._width))
        return [slice(i, min(i + size, runs)) for i in range(0, runs, size)]

    def _cols(self, name: str, x: Array) -> PooledColumns:
        """The im2col rows of a whole split by pooling offset, computed once (the CNN only)."""
        assert isinstance(self.model, CNN)
        if name not in self._columns:
            self._columns[name] = pooled_columns(self.model, x)
        return self._columns[name]

    def _forward(self, rows: Array, x: Array, name: str | None = None) -> Array:
        """Logits of ``rows`` on ``x``; ``name`` (``train``, ``test``) when ``x`` is that split."""
        if isinstance(self.model, CNN) and name:
            return split_logits(self.model, rows, self._cols(name, x))
        return self.model.forward(rows, x)

    def _penalty(self, rows: Array) -> Array:
        if self.config.l2 == 0.0:
            return np.zeros(rows.shape[0])
        return 0.5 * ((rows * rows) @ self._decay)

    def _predict(self, rows: Array, x: Array, name: str | None = None) -> Array:
        parts = [self._forward(rows[s], x, name) for s in self._chunks(rows.shape[0], x.shape[0])]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def gradient(self, rows: Array, x: Array, t: Array) -> tuple[Array, Array | None]:
        """Unclipped gradient ``(N, P)`` with the L2 term, and for the RNN ``|dL/dh_t|``."""
        out = np.empty_like(rows)
        norms = []
        m = self.model
        for part in self._chunks(rows.shape[0], x.shape[0]):
            if isinstance(m, CNN):
                z, cnn_cache = m.forward_cached(rows[part], x)
                out[part] = m.backward(rows[part], cnn_cache, self.loss.grad(z, t))
            else:
                z, rnn_cache = m.forward_cached(rows[part], x)
                out[part], h_norms = m.backward(rows[part], rnn_cache, self.loss.grad(z, t))
                norms.append(h_norms)
        if self.config.l2 != 0.0:
            out += rows * self._decay
        return out, (np.concatenate(norms) if norms else None)

    def _train_metrics(self, rows: Array) -> tuple[Array, Array]:
        """Mean loss (no L2 term) and accuracy of ``rows`` ``(N, P)`` on the training set.

        Kept for the last ``TRAIN_MEMO`` weight sets: the engine asks for the loss of every new
        point and the stream then for its accuracy, at the same weights.
        """
        keys = [row.tobytes() for row in rows]
        memo = self._train_memo
        missing = [i for i, key in enumerate(keys) if key not in memo]
        if missing:
            z = self._predict(rows[missing], self.data.x_train, "train")
            loss = self.loss.value(z, self.train_targets)
            acc = self.accuracy(z, self.train_targets)
            for j, i in enumerate(missing):
                memo[keys[i]] = (float(loss[j]), float(acc[j]))
        for key in keys:
            memo.move_to_end(key)
        values = np.array([memo[key] for key in keys], dtype=np.float64).reshape(-1, 2)
        while len(memo) > max(TRAIN_MEMO, len(keys)):
            memo.popitem(last=False)
        return values[:, 0], values[:, 1]

    def value(self, p: Array) -> Array:
        rows, lead = self._rows(p)
        loss, _ = self._train_metrics(rows)
        return (loss + self._penalty(rows)).reshape(lead)

    def grad(self, p: Array) -> Array:
        """Full-batch gradient of ``value`` (clipped as update 1 would be)."""
        rows, lead = self._rows(p)
        g, _ = self.gradient(rows, self.data.x_train, self.train_targets)
        return clip_by_norm(g, self.clip_for(1)).reshape(*lead, self.dim)

    def hessian(self, p: Array) -> Array:
        raise NotImplementedError(
            "Networks have no Hessian here (P x P per run is too large): newton is refused for "
            "network problems; use a first-order optimizer"
        )

    # -- mini-batches ----------------------------------------------------------------------

    @property
    def train_size(self) -> int:
        return int(self.data.x_train.shape[0])

    @property
    def batch_size(self) -> int:
        b = self.config.batch_size
        return self.train_size if b is None else min(b, self.train_size)

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.train_size // self.batch_size)

    def epoch_order(self, epoch: int) -> npt.NDArray[np.intp]:
        return np.random.default_rng((self.config.seed, epoch)).permutation(self.train_size)

    def batch(self, step: int) -> tuple[Array, Array]:
        """Inputs and targets of the mini-batch of update number ``step + 1``."""
        if step < 0:
            raise ValueError(f"Invalid step: {step}")
        x, t = self.data.x_train, self.train_targets
        if self.batch_size >= self.train_size:
            return x, t
        epoch, index = divmod(step, self.batches_per_epoch)
        cached = self._epoch
        if cached is None or cached[0] != epoch:
            order = self.epoch_order(epoch)
            cached = (epoch, x[order], t[order])
            self._epoch = cached
        start = index * self.batch_size
        end = start + self.batch_size
        return cached[1][start:end], cached[2][start:end]

    def grad_batch(self, p: Array, step: int) -> Array:
        """The (clipped) gradient used by update number ``step + 1``."""
        rows, lead = self._rows(p)
        x, t = self.batch(step)
        g, _ = self.gradient(rows, x, t)
        return clip_by_norm(g, self.clip_for(step + 1)).reshape(*lead, self.dim)

    # -- what the page shows ---------------------------------------------------------------

    def accuracy(self, z: Array, t: Array) -> Array:
        """Share of right outputs (over the last axis or two) of outputs ``z`` for targets ``t``."""
        if self.kind == "cnn":
            hits = np.argmax(z, axis=-1) == np.argmax(t, axis=-1)
            out: Array = hits.mean(axis=-1)
            return out
        close = np.abs(z - t) < TOLERANCE[self.config.dataset]
        share: Array = close.mean(axis=(-2, -1))
        return share

    def metrics(self, p: Array) -> dict[str, Array]:
        """Per run ``train_loss``, ``test_loss`` (objective, L2 included), ``train_acc``, ``test_acc``."""
        rows, lead = self._rows(p)
        penalty = self._penalty(rows)
        loss, acc = self._train_metrics(rows)
        z = self._predict(rows, self.data.x_test, "test")
        return {
            "train_loss": (loss + penalty).reshape(lead),
            "train_acc": acc.reshape(lead),
            "test_loss": (self.loss.value(z, self.test_targets) + penalty).reshape(lead),
            "test_acc": self.accuracy(z, self.test_targets).reshape(lead),
        }

    def views(self, rows: Array) -> list[dict[str, Any]]:
        """Per run (rows ``(N, P)``) what the digits or the sequence view draws."""
        if isinstance(self.model, CNN):
            return self._digit_views(rows)
        return self._sequence_views(rows)

    def _digit_views(self, rows: Array) -> list[dict[str, Any]]:
        assert isinstance(self.model, CNN)
        z = self._predict(rows, self.data.x_test, "test")
        predicted = np.argmax(z, axis=-1)
        truth = self.data.y_test.astype(np.intp)
        filters = self.model.filters_of(rows)
        shifted = z[:, :SAMPLE_DIGITS] - z[:, :SAMPLE_DIGITS].max(axis=-1, keepdims=True)
        prob = np.exp(shifted)
        prob /= prob.sum(axis=-1, keepdims=True)
        out = []
        for r in range(rows.shape[0]):
            confusion = np.zeros((CLASSES, CLASSES), dtype=np.int64)
            np.add.at(confusion, (truth, predicted[r]), 1)
            f = filters[r, :, 0]  # (O, k, k): the first input channel
            out.append(
                {
                    "filters": np.round(f, 4),
                    "confusion": confusion,
                    "predicted": predicted[r, :SAMPLE_DIGITS],
                    "confidence": np.round(prob[r].max(axis=-1), 3),
                }
            )
        return out

    def _sequence_views(self, rows: Array) -> list[dict[str, Any]]:
        x, t = self.data.x_test[:PROBE_BATCH], self.test_targets[:PROBE_BATCH]
        _, norms = self.gradient(rows, x, t)
        assert norms is not None
        z = self._predict(rows, x)
        out = []
        for r in range(rows.shape[0]):
            last = isinstance(self.model, RNNModel) and self.model.readout == "last"
            prediction = z[r, :SAMPLE_SEQUENCES, 0] if last else z[r, 0]
            out.append({"prediction": np.round(prediction, 4), "grad_norms": norms[r]})
        return out

    def architecture(self) -> str:
        c = self.config
        if c.model == "cnn":
            pool = f" - maxpool {c.pool}" if c.pool > 1 else ""
            return (
                f"conv {c.filters} filters {c.kernel}x{c.kernel} (stride {c.stride}, padding "
                f"{c.padding}) - relu{pool} - dense {CLASSES} ({self.dim:,} weights)"
            )
        readout = "the last step" if c.dataset == "adding" else "every step"
        return (
            f"tanh RNN, {c.hidden} hidden units over {c.steps} steps - linear readout at "
            f"{readout} ({self.dim:,} weights)"
        )

    def to_json(self, grid: int = 0) -> dict[str, Any]:
        """The problem for the page: configuration, architecture and sample inputs."""
        c = self.config
        out: dict[str, Any] = {
            "kind": "network",
            "model": c.model,
            "config": c.to_json(),
            "task": self.task,
            "classes": CLASSES if c.model == "cnn" else 0,
            "dim": self.dim,
            "batch_size": self.batch_size,
            "train_size": self.train_size,
            "test_size": int(self.data.x_test.shape[0]),
            "architecture": self.architecture(),
            "loss": self.loss.name,
        }
        if c.model == "cnn":
            out["samples"] = {
                "images": np.round(self.data.x_test[:SAMPLE_DIGITS, :, :, 0], 4),
                "labels": self.data.y_test[:SAMPLE_DIGITS].astype(np.int64),
            }
            out["filter_shape"] = [c.kernel, c.kernel]
        else:
            x, y = self.data.x_test, self.data.y_test
            if c.dataset == "adding":
                sample = {"targets": y[:SAMPLE_SEQUENCES, 0]}
            else:
                sample = {"inputs": x[0, :, 0], "targets": y[0]}
            out["samples"] = {k: np.round(v, 4) for k, v in sample.items()}
            out["steps"] = c.steps
            out["tolerance"] = TOLERANCE[c.dataset]
        return out
