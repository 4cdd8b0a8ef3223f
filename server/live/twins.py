"""The torch twins of a network race (``<run>~torch``): built once torch is in, then stepped
to their runs' steps, with every live change at the update its run's ack named.

torch takes seconds to import (8 s on a quiet 2-core machine, 20 s on a busy one; half of it
``torch._dynamo``, which torch.optim pulls in). So the first race that wants twins starts the
import in a thread of its own and trains its runs meanwhile; the twins are then built from the
runs' settings at the race's start (or last reset) and catch up at most ``CATCH_UP`` times the
race's own steps per advance, so frames keep coming; the race's last advance brings them all the
way (waiting for the import if need be). Once torch is imported, later races build their twins on their first advance, in step.

Each twin's new points are its weights and its training objective: torch's own objective for an
MLP's twin; for a CNN's or RNN's, ``DeepProblem.value`` at torch's weights (our forward; torch's
over all 1,437 training digits cost 20-50 ms a step per twin, more than the step itself). The
weights are torch's either way, and the layer tests hold our forward to torch's within 1e-10.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from server import heap
from server.engine import Race, RunConfig, RunStatus
from server.optim.schedules import Schedule
from server.problems.base import Array
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_twin import DeepTwin
from server.problems.nn.problem import NetworkProblem
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS, TorchTwin, torch_optimizer

TWIN_SUFFIX = "~torch"
CATCH_UP = 2  # a lagging twin takes up to this many times the race's steps per advance

_import_lock = threading.Lock()
_imported = threading.Event()
_importer: threading.Thread | None = None


def _import_torch() -> None:
    try:
        import torch

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # imports torch._dynamo
    finally:
        _imported.set()  # a failed import fails the twins' building, with its own message


def torch_ready(wait: bool = False) -> bool:
    """Whether torch and torch.optim are imported; the first call starts importing them in a
    background thread (``wait``: and waits for it)."""
    global _importer
    if not _imported.is_set():
        with _import_lock:
            if _importer is None:
                _importer = threading.Thread(target=_import_torch, name="gradscape-torch-import")
                _importer.daemon = True
                _importer.start()
        if wait:
            _imported.wait()
    return _imported.is_set()


Change = tuple[int, Mapping[str, float] | None, Schedule | None]  # (first update, hyper, schedule)


@dataclass
class _Twin:
    run: str
    index: int  # position of its run in race.configs
    model: TorchTwin | DeepTwin
    changes: list[Change] = field(default_factory=list)  # live changes not yet applied
    stopped: bool = False
    first: int = 0  # step of the first point not yet handed out


@dataclass
class TwinPoints:
    """A twin's new points: ``params[i]`` and ``loss[i]`` belong to step ``step + i``."""

    step: int
    params: Array
    loss: Array


class Twins:
    """The twins of one race from its step 0: see the module docstring."""

    def __init__(self, race: Race, problem: NetworkProblem | DeepProblem) -> None:
        self.race = race
        self.problem = problem
        self.configs: list[RunConfig] = list(race.configs)  # the settings the race starts with
        self._changes: dict[str, list[Change]] = {}  # made before the twins were built
        self._twins: list[_Twin] | None = None
        self.messages: list[dict[str, Any]] = []  # a twin's own divergence, for the client

    def retune(
        self, run: str, step: int, hyper: Mapping[str, float] | None, schedule: Schedule | None
    ) -> None:
        """Run ``run`` changed from update ``step`` on: so does its twin."""
        if self._twins is None:
            self._changes.setdefault(run, []).append((step, hyper, schedule))
            return
        for twin in self._twins:
            if twin.run == run:
                twin.changes.append((step, hyper, schedule))

    def advance(self, steps: int) -> dict[str, TwinPoints]:
        """Bring the twins towards their runs' steps after the race advanced ``steps``; returns
        the new points (empty while torch is still importing)."""
        if self._twins is None:
            if not torch_ready(wait=self.race.done):
                return {}
            self._twins = self._build()
        limit = None if self.race.done else CATCH_UP * max(1, steps)
        out: dict[str, TwinPoints] = {}
        for twin in self._twins:
            points = self._step(twin, limit)
            if points is not None:
                out[twin.run + TWIN_SUFFIX] = points
        return out

    def _build(self) -> list[_Twin]:
        twins = []
        for i, c in enumerate(self.configs):
            if c.optimizer not in TORCH_OPTIMIZERS:
                continue
            model: TorchTwin | DeepTwin
            if isinstance(self.problem, DeepProblem):
                model = DeepTwin(self.problem, c.optimizer, c.hyper, c.start, schedule=c.schedule)
            else:
                model = TorchTwin(self.problem, c.optimizer, c.hyper, c.start, schedule=c.schedule)
            twins.append(_Twin(c.id, i, model, changes=list(self._changes.get(c.id, []))))
        heap.settle()  # torch was imported just now, the first time in this process
        return twins

    def _step(self, twin: _Twin, limit: int | None) -> TwinPoints | None:
        """Up to ``limit`` updates (None: no limit) of one twin towards its run's step."""
        params: list[Array] = []
        loss: list[float] = []
        if twin.first == 0:  # the start
            params.append(twin.model.params())
            loss.append(self._loss(twin.model, params[0]))
        running = self.race.status[twin.index] is RunStatus.RUNNING
        target = self.race.step if running else self.race.stopped_at[twin.index]
        if limit is not None:
            target = min(target, twin.model.count + limit)
        while not twin.stopped and twin.model.count < target:
            self._apply_changes(twin)
            twin.model.update()
            p = twin.model.params()
            value = self._loss(twin.model, p)
            if not (np.isfinite(value) and np.isfinite(p).all()):
                twin.stopped = True
                self.messages.append(_twin_diverged(twin.run, twin.model.count))
                break
            params.append(p)
            loss.append(value)
        if not params:
            return None
        points = TwinPoints(twin.first, np.stack(params), np.array(loss))
        twin.first += len(params)
        return points

    def _apply_changes(self, twin: _Twin) -> None:
        """The changes whose first update is the twin's next one."""
        update = twin.model.count + 1
        while twin.changes and twin.changes[0][0] <= update:
            _, hyper, schedule = twin.changes.pop(0)
            if hyper is not None:
                _, kwargs = torch_optimizer(self.configs[twin.index].optimizer, hyper)
                for group in twin.model.optimizer.param_groups:
                    group.update(kwargs)
                twin.model.base_lr = float(kwargs.get("lr", twin.model.base_lr))
            if schedule is not None:
                twin.model.schedule = schedule

    def _loss(self, model: TorchTwin | DeepTwin, params: Array) -> float:
        if isinstance(self.problem, DeepProblem):
            return float(self.problem.value(params))  # remembered for the metering
        return model.loss()


def _twin_diverged(run: str, step: int) -> dict[str, Any]:
    return {
        "type": "event",
        "run": run + TWIN_SUFFIX,
        "event": "diverged",
        "step": step,
        "message": (
            f"The torch twin of run '{run}' diverged at step {step}: its values grew too large "
            "to represent. Try a smaller learning rate."
        ),
    }
