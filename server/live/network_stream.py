"""A network race as a stream: metrics per step, decision boundaries, a loss landscape, twins.

``NetworkStream`` is ``heavy``: the session calls ``advance`` in a worker thread, so everything
costly happens there (training, metrics, boundaries, the landscape slice, torch). ``restart``
runs on the event loop and only evaluates the one shared start vector (metrics and boundary of
step 0), which costs less than the race's own construction.

Per point of each run a frame carries ``train_loss`` (the engine's training objective),
``test_loss``, ``train_acc`` and ``test_acc`` (one batched ``problem.metrics`` call over every
new point of every run), ``gnorm`` and ``proj``: the point's least-squares coordinates on the
landscape plane ``center + a d1 + b d2`` (Li et al. 2018, filter-normalized directions). The
directions are drawn at construction (cheap); the loss slice over them is computed once, on the
first ``advance``, and re-sent (not recomputed) after each reset.

With ``torch=True`` and torch installed, every run whose optimizer has a torch.optim
counterpart gets a twin (``twins.py``) streamed as ``<run>~torch``: same initial weights, same
batch order, same hyperparameters and schedule, updated by torch autograd + torch.optim. Its
``train_loss`` is its training objective (torch's own for an MLP, ours at torch's weights for a
CNN or RNN: see ``twins.py``); its other metrics and ``gnorm`` are our forward (and gradient)
evaluated at the twin's weights. A twin has no gradient noise and stops with its run (at the
step its run stopped) or at its own first non-finite value. While torch is still importing (the
first race of a process), the runs go on without their twins, which catch up afterwards.

A ``DeepProblem`` (a CNN on the digits, an RNN on sequences) streams the same frames without
``proj`` (no landscape: its slice would cost seconds of forwards over the training set), and
instead of ``boundary`` messages ``view`` messages at the same pace: per run the first-layer
filters, the held-out confusion matrix and the classes predicted for the sample digits, or the
predictions on the sample sequences and ``|dL/dh_t|`` per time step. ``set_clip`` changes the
RNN's clipping threshold live, for the runs and their twins alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.engine import Chunk, Race, Stop
from server.live.twins import TWIN_SUFFIX, TwinPoints, Twins
from server.optim.schedules import Schedule
from server.problems.base import Array
from server.problems.nn.deep import DeepProblem
from server.problems.nn.landscape import directions, loss_slice, project, suggested_size
from server.problems.nn.problem import NetworkProblem
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS, torch_available

TORCH_MISSING = "unavailable: pip install torch==2.13.0"
BOUNDARY_GRID = 40
BOUNDARY_PERIOD = 0.1  # seconds between boundary messages (at most ~10 per second)
LANDSCAPE_N = 21
LANDSCAPE_BUDGET = 5e8  # multiply-adds; shrinks the grid of big networks (at least 3 x 3)
LANDSCAPE_SPAN = 1.0  # in units of the filter-normalized directions (the weights' own scale)
MAX_LANDSCAPE_SPAN = 16.0
WIDEN_PERIOD = 2.0  # seconds between two recomputations of a widening landscape
METRIC_KEYS = ("train_loss", "test_loss", "train_acc", "test_acc")


@dataclass
class _Part:
    """Consecutive points of one run (or twin): ``values[key][i]`` belongs to ``step + i``."""

    step: int
    values: dict[str, Array]


class NetworkStream:
    """Streams a race on a ``NetworkProblem``; see the module docstring for what and when."""

    heavy = True

    def __init__(
        self,
        race: Race,
        problem: NetworkProblem | DeepProblem,
        *,
        torch: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.race = race
        self.problem = problem
        self.want_torch = torch
        self.torch_ok = torch and torch_available()
        self._clock = clock
        self.center = np.asarray(race.configs[0].start, dtype=np.float64).copy()
        self.deep = problem if isinstance(problem, DeepProblem) else None
        self.mlp = problem if isinstance(problem, NetworkProblem) else None
        if self.mlp is not None:
            self.d1, self.d2 = directions(self.mlp, self.center, race.seed)
        self._landscape: dict[str, Any] | None = None
        self._span = LANDSCAPE_SPAN
        self._far = 0.0  # farthest projected point of any run, in direction units
        self._widened_at = -np.inf
        self._landscape_sent = False
        self._pending: dict[str, list[_Part]] = {}
        self._messages: list[dict[str, Any]] = []
        self._twins = Twins(race, problem) if self.torch_ok else None
        self._latest: dict[str, tuple[int, Array]] = {}  # runs moved since the last boundary
        self._boundary_time = -np.inf

    # -- what the start message is acked with ---------------------------------------------

    def ack(self) -> dict[str, Any]:
        """Extra keys for the start ``ack``: the twins' state when torch was asked for."""
        if not self.want_torch:
            return {}
        if not self.torch_ok:
            return {"torch": TORCH_MISSING}
        twins = [c.id + TWIN_SUFFIX for c in self.race.configs if c.optimizer in TORCH_OPTIMIZERS]
        return {"torch": "on", "twins": twins}

    # -- the Stream protocol ---------------------------------------------------------------

    def restart(self) -> None:
        chunks = self.race.initial_chunks()
        self._pending = {}
        self._latest = {}
        self._messages = [{"type": "dataset", **self.problem.to_json(BOUNDARY_GRID)}]
        self._landscape_sent = False
        self._queue_landscape()
        if chunks:
            self._collect(chunks, unique=True)
        self._boundary_time = -np.inf
        self._emit_boundary()

    def advance(self, n: int) -> list[Stop]:
        if self._landscape is None and self.mlp is not None:
            self._landscape = self._compute_landscape()
            self._queue_landscape()
        before = self.race.step
        chunks, stops = self.race.advance(n)
        twin_points = self._twins.advance(self.race.step - before) if self._twins else {}
        self._collect(chunks, twin_points)
        self._widen_landscape()
        if self._clock() - self._boundary_time >= BOUNDARY_PERIOD or self.race.done:
            self._emit_boundary()
        return stops

    def take_frame(self) -> dict[str, Any] | None:
        if not self._pending:
            return None
        runs = {run: _join(parts) for run, parts in self._pending.items()}
        self._pending = {}
        return runs

    def take_messages(self) -> list[dict[str, Any]]:
        messages, self._messages = self._messages, []
        if self._twins is not None and self._twins.messages:
            messages += self._twins.messages
            self._twins.messages = []
        return messages

    def set(
        self,
        run: str,
        hyper: Mapping[str, float] | None,
        schedule: Schedule | None,
        noise: float | None,
    ) -> int:
        step = self.race.set(run, hyper=hyper, schedule=schedule, noise=noise)
        if self._twins is not None:
            self._twins.retune(run, step, hyper, schedule)
        return step

    def set_clip(self, clip: float | None) -> int:
        """Clip every run's gradient by ``clip`` (None: off); returns the first update affected.

        The engine already holds the gradient of update ``step + 1`` (computed after update
        ``step``), so the change applies from update ``step + 2`` on, for runs and twins.
        """
        if self.deep is None or self.deep.kind != "rnn":
            raise ValueError("Gradient clipping is a control of the RNN networks")
        first = self.race.step + 2
        self.deep.set_clip(clip, first)
        return first

    def reset(self) -> None:
        if self.deep is not None:
            self.deep.keep_latest_clip()
        self.race.reset()
        self._pending = {}
        self._messages = []
        if self._twins is not None:  # from the (possibly changed) configs the race restarts with
            self._twins = Twins(self.race, self.problem)

    # -- metrics, projections, boundaries, landscape ----------------------------------------

    def _collect(
        self,
        chunks: Mapping[str, Chunk],
        twins: Mapping[str, TwinPoints] | None = None,
        unique: bool = False,
    ) -> None:
        """Meter the new points of every run and twin in one batched call and buffer them."""
        parts: dict[str, _Part] = {}
        for run, chunk in chunks.items():
            parts[run] = _Part(
                chunk.step,
                {"params": chunk.params, "train_loss": chunk.loss, "gnorm": chunk.gnorm},
            )
        for run, points in (twins or {}).items():
            parts[run] = _Part(
                points.step,
                {
                    "params": points.params,
                    "train_loss": points.loss,
                    "gnorm": self._gnorms(points.step, points.params),
                },
            )
        if not parts:
            return
        stacked = np.concatenate([p.values["params"] for p in parts.values()])
        if unique:  # step 0: every run starts from the same weights
            rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
            metrics = {k: v[inverse.ravel()] for k, v in self.problem.metrics(rows).items()}
        else:
            metrics = self.problem.metrics(stacked)
        proj = None
        if self.mlp is not None:
            proj = project(stacked, self.center, self.d1, self.d2)
            near = np.abs(proj).max(axis=1)
            near = near[np.isfinite(near) & (near <= MAX_LANDSCAPE_SPAN)]
            if near.size:
                self._far = max(self._far, float(near.max()))
        at = 0
        for run, part in parts.items():
            params = part.values.pop("params")
            k = params.shape[0]
            for key in METRIC_KEYS:
                if key in metrics and key not in part.values:
                    part.values[key] = metrics[key][at : at + k]
            if proj is not None:
                part.values["proj"] = proj[at : at + k]
            at += k
            self._pending.setdefault(run, []).append(part)
            self._latest[run] = (part.step + k - 1, params[-1])

    def _gnorms(self, first: int, params: Array) -> Array:
        """Gradient norms at a twin's points, as the engine measures them for runs."""
        train = self.deep.train_size if self.deep is not None else self.mlp.dataset.x_train.shape[0]  # type: ignore[union-attr]
        if self.problem.batch_size >= train:
            g = self.problem.grad(params)  # full batch: one call for every point
            return np.asarray(np.sqrt(np.einsum("kd,kd->k", g, g)), dtype=np.float64)
        out = np.empty(params.shape[0])
        for row, step in enumerate(range(first, first + params.shape[0])):
            p = params[row : row + 1]
            g = self.problem.grad_batch(p, step)  # at step 0 too: update 1's batch
            out[row] = float(np.sqrt(np.sum(g * g)))
        return out

    def _emit_boundary(self) -> None:
        if not self._latest:
            return
        runs = list(self._latest)
        steps = [self._latest[r][0] for r in runs]
        params = np.stack([self._latest[r][1] for r in runs])
        rows, inverse = np.unique(params, axis=0, return_inverse=True)
        if self.deep is not None:
            views = self.deep.views(rows)
            self._messages.append(
                {
                    "type": "view",
                    "model": self.deep.kind,
                    "step": self.race.step,
                    "steps": dict(zip(runs, steps, strict=True)),
                    "runs": {r: views[int(inverse.ravel()[i])] for i, r in enumerate(runs)},
                }
            )
            self._latest = {}
            self._boundary_time = self._clock()
            return
        assert self.mlp is not None
        values = self.mlp.boundary(rows, BOUNDARY_GRID)[inverse.ravel()]
        gx, gy = self.mlp.grid_axes(BOUNDARY_GRID)
        if gy is not None:  # probabilities and class indices: 3 decimals are plenty to draw
            values = np.round(values, 3)
        kind = "curve" if gy is None else "class" if self.mlp.outputs > 2 else "probability"
        self._messages.append(
            {
                "type": "boundary",
                "step": self.race.step,
                "kind": kind,
                "steps": dict(zip(runs, steps, strict=True)),
                "runs": {r: values[i] for i, r in enumerate(runs)},
                "grid": {"x": gx, "y": gy},
            }
        )
        self._latest = {}
        self._boundary_time = self._clock()

    def _widen_landscape(self) -> None:
        """Recompute the slice over a wider square once the paths walk off it (at most every
        WIDEN_PERIOD seconds, up to MAX_LANDSCAPE_SPAN), so every path stays on the landscape."""
        if self._far <= 0.95 * self._span or self._span >= MAX_LANDSCAPE_SPAN:
            return
        if self._clock() - self._widened_at < WIDEN_PERIOD:
            return
        self._span = min(MAX_LANDSCAPE_SPAN, float(np.ceil(self._far * 1.5)))
        self._widened_at = self._clock()
        self._landscape = self._compute_landscape()
        self._landscape_sent = False
        self._queue_landscape()

    def _compute_landscape(self) -> dict[str, Any]:
        assert self.mlp is not None
        n = min(LANDSCAPE_N, suggested_size(self.mlp, LANDSCAPE_BUDGET))
        a, b, z = loss_slice(self.mlp, self.center, self.d1, self.d2, n, self._span)
        return {
            "type": "landscape",
            "method": "filter",
            "a": a,
            "b": b,
            "z": [[float(v) if np.isfinite(v) else None for v in row] for row in z],
            "span": self._span,
            "seed": self.race.seed,
        }

    def _queue_landscape(self) -> None:
        if self._landscape is not None and not self._landscape_sent:
            self._messages.append(self._landscape)
            self._landscape_sent = True


def _join(parts: list[_Part]) -> dict[str, Any]:
    """One run's part of a frame: its new points, contiguous from ``parts[0].step``."""
    out: dict[str, Any] = {"step": parts[0].step}
    for key in parts[0].values:
        arrays = [p.values[key] for p in parts]
        out[key] = np.ascontiguousarray(arrays[0] if len(arrays) == 1 else np.concatenate(arrays))
    return out
