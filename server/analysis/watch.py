"""Warn a live run that it has become unstable, before its numbers overflow.

A :class:`StabilityWatch` follows one race. Its session hands it every chunk of new points
(:meth:`observe`, a dict update) and asks it for messages once per frame (:meth:`events`). Every
``CHECK_EVERY`` steps (``QUIET_EVERY`` while every run is quiet: its loss did not rise since the
last sample and its lr is at most ``QUIET_SHARE`` of its limit) it samples each running run's last
point and loss and looks for two signs:

- the learning rate is above the local stability edge (:mod:`server.analysis.stability`) at that
  point, for the optimizers that have one: one Hessian evaluation for all the race's runs;
- the loss rose at each of the last ``GROWTH_SAMPLES - 1`` samples, each rise at least
  ``GROWTH_RATIO`` times the one before (geometric growth), for any optimizer.

It says so once per episode: the episode ends with a reset, a ``set`` of that run, or after
``CALM_SAMPLES`` samples in a row with neither sign. The frames between samples cost a
comparison; a sample costs about 30 microseconds per race of four runs.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from server.analysis.stability import Edge, edge, growth_factor, lambda_max
from server.engine import Chunk, Race, RunStatus
from server.optim.schedules import learning_rate

CHECK_EVERY = 8
QUIET_EVERY = 32
QUIET_SHARE = 0.5
GROWTH_SAMPLES = 4
GROWTH_RATIO = 1.5
CALM_SAMPLES = 3
MARGIN = 1.0 + 1e-9
"""lr must exceed the edge by more than rounding: exactly at the edge the error just oscillates."""


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass
class _Run:
    edge: Edge | None
    samples: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=GROWTH_SAMPLES))
    warned: bool = False
    calm: int = 0
    quiet: bool = False  # the last sample saw the loss not rising and the lr far from its limit
    last: tuple[int, float, float, float] | None = None  # step, x, y, loss of the last sample
    crossed: Crossing | None = None


@dataclass(frozen=True)
class Crossing:
    """The last sample where a run's lr was above its local stability limit."""

    step: int
    lr: float
    limit: float
    lambda_max: float
    formula: str


class StabilityWatch:
    def __init__(self, race: Race) -> None:
        self.race = race
        self._latest: dict[str, Chunk] = {}
        self.reset()

    def reset(self) -> None:
        """A new episode for every run (start, reset)."""
        self._runs = {c.id: _Run(edge(c.optimizer, c.hyper)) for c in self.race.configs}
        self._latest.clear()
        self._due = 0  # the first frame samples the start
        self._diverged = 0

    def changed(self, run_id: str) -> None:
        """The run's settings changed: a new episode, checked at the next frame."""
        c = self.race.configs[self.race.index_of(run_id)]
        self._runs[run_id] = _Run(edge(c.optimizer, c.hyper), self._runs[run_id].samples)
        self._due = min(self._due, self.race.step + 1)

    def observe(self, chunks: Mapping[str, Chunk]) -> None:
        self._latest.update(chunks)

    def events(self) -> list[dict[str, Any]]:
        """The ``unstable`` events due now (usually none)."""
        race = self.race
        diverged = race.status.count(RunStatus.DIVERGED)
        if race.step < self._due and diverged == self._diverged:
            self._latest.clear()
            return []
        self._diverged = diverged
        latest, self._latest = self._latest, {}
        events, quiet = self._sample(latest)
        self._due = race.step + (QUIET_EVERY if quiet else CHECK_EVERY) if race.step else 1
        return events

    def crossing(self, run_id: str) -> Crossing | None:
        """The last sample of this episode with the lr above the limit (for a divergence)."""
        run = self._runs.get(run_id)
        return run.crossed if run is not None else None

    def recent(self, run_id: str) -> list[tuple[int, float]]:
        """The (step, loss) samples of a run, oldest first (for explaining its end)."""
        run = self._runs.get(run_id)
        return list(run.samples) if run is not None else []

    def _sample(self, latest: Mapping[str, Chunk]) -> tuple[list[dict[str, Any]], bool]:
        """The events of this sample, and whether every run it took is quiet."""
        taken: list[tuple[str, _Run, int]] = []
        points: list[tuple[float, float]] = []
        for run_id, chunk in latest.items():
            run = self._runs.get(run_id)
            if run is None:
                continue
            loss = chunk.loss
            step = chunk.step + len(loss) - 1
            last = float(loss[-1])
            if math.isfinite(last) and (not run.samples or run.samples[-1][0] < step):
                run.samples.append((step, last))
            if race_running(self.race, run_id) and step > 0:
                x, y = (float(v) for v in chunk.params[-1][:2])
                run.last = (step, x, y, last)
                taken.append((run_id, run, len(points)))
                points.append((x, y))
        if not taken:
            return [], False
        curvature = self._curvatures(taken, points)
        out = []
        for run_id, run, row in taken:
            message = self._check(run_id, run, curvature[row] if curvature is not None else None)
            if message is not None:
                out.append(message)
        return out, all(run.quiet for _, run, _ in taken)

    def _curvatures(
        self, taken: list[tuple[str, _Run, int]], points: list[tuple[float, float]]
    ) -> Any:
        if not any(run.edge is not None for _, run, _ in taken):
            return None  # (a warned run is checked too: its calm samples end the episode)
        with np.errstate(all="ignore"):
            hessians = np.asarray(self.race.problem.hessian(np.array(points)), dtype=np.float64)
        if hessians.ndim != 3 or hessians.shape[0] != len(points):
            return None
        return lambda_max(hessians).tolist()

    def _check(self, run_id: str, run: _Run, curvature: float | None) -> dict[str, Any] | None:
        assert run.last is not None
        step = run.last[0]
        config = self.race.configs[self.race.index_of(run_id)]
        lr = learning_rate(config.schedule, float(config.hyper.get("lr", 0.0)), step)
        over = limit = None
        if run.edge is not None and curvature is not None and math.isfinite(curvature):
            limit = run.edge.limit(curvature)
            if limit is not None and lr > limit * MARGIN:
                over = (limit, curvature)
                run.crossed = Crossing(step, lr, limit, curvature, run.edge.formula)
        growth = self._growth(run)
        samples = run.samples
        rising = len(samples) > 1 and samples[-1][1] > samples[-2][1]
        run.quiet = not rising and (limit is None or lr <= QUIET_SHARE * limit)
        if over is None and growth is None:
            run.calm += 1
            if run.calm >= CALM_SAMPLES:
                run.warned = False
            return None
        run.calm = 0
        if run.warned:
            return None
        run.warned = True
        assert run.edge is not None or over is None
        if over is not None and run.edge is not None:
            text = self._over_message(run, lr, over[0], over[1])
            detail: dict[str, Any] = {
                "cause": "lr_limit",
                "lr": lr,
                "limit": over[0],
                "lambda_max": over[1],
            }
        else:
            assert growth is not None
            text, detail = growth
        return {
            "type": "event",
            "run": run_id,
            "event": "unstable",
            "step": step,
            "message": text,
            **detail,
        }

    def _over_message(self, run: _Run, lr: float, limit: float, curvature: float) -> str:
        assert run.edge is not None and run.last is not None
        step, x, y, _ = run.last
        where = f"({_fmt(x)}, {_fmt(y)})"
        text = (
            f"Unstable at step {step}: lr = {_fmt(lr)} is above the local stability limit "
            f"{run.edge.formula} = {_fmt(limit)} ({_fmt(lr / limit)}x over; λmax = "
            f"{_fmt(curvature)} of the Hessian at {where})."
        )
        if run.edge.factor == 2.0:
            factor = growth_factor(lr, curvature + run.edge.shift)
            text += (
                f" Along the steepest direction every step overshoots by more than it corrects: "
                f"the error there grows {_fmt(factor)}x a step."
            )
        else:
            text += " Along the steepest direction the oscillation grows every step."
        return text + " Lower the learning rate below the limit to keep it stable."

    def _growth(self, run: _Run) -> tuple[str, dict[str, Any]] | None:
        samples = run.samples
        if len(samples) < GROWTH_SAMPLES:
            return None
        losses = [loss for _, loss in samples]
        rises = [b - a for a, b in itertools.pairwise(losses)]
        floor = 1e-12 * (1.0 + abs(losses[-1]))
        if not all(r > floor for r in rises):
            return None
        if not all(b >= GROWTH_RATIO * a for a, b in itertools.pairwise(rises)):
            return None
        (s0, l0), (s1, l1) = samples[0], samples[-1]
        ratio = (rises[-1] / rises[0]) ** (1.0 / max(1, samples[-1][0] - samples[1][0]))
        text = (
            f"Unstable at step {s1}: the loss is growing geometrically, from {_fmt(l0)} at step "
            f"{s0} to {_fmt(l1)}, its rises growing about {_fmt(ratio)}x a step. The steps "
            "overshoot and grow; a smaller learning rate keeps the run stable."
        )
        return text, {"cause": "growth", "loss_from": l0, "loss_to": l1, "rate": ratio}


def race_running(race: Race, run_id: str) -> bool:
    return race.status[race.index_of(run_id)] is RunStatus.RUNNING
