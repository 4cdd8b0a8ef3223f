"""Network races: optimizers training the same small network from the same weights.

Built as the websocket's ``start`` builds a ``{"network": ...}`` race (server/live/commands.py):
the same validation, the weights drawn from ``seed`` and shared by every run, the same engine.
Each run's metrics are those the live frames carry, per step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from gradscape.race import Array, Event, Run
from server.engine import Race, RunStatus
from server.errors import from_validation
from server.export.scale import run_color
from server.export.state import run_id
from server.problems.factory import build_problem
from server.problems.nn.deep import DeepProblem
from server.problems.nn.problem import NetworkProblem
from server.runs import build_run
from server.schemas import ProblemSpec, RunSpec
from server.settings import Settings

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "gnorm")


@dataclass(frozen=True)
class NetworkResult:
    """``metrics[id][name]`` is a ``(k + 1,)`` array over steps (``train_loss``, ``test_loss``,
    ``train_acc``, ``test_acc``, ``gnorm``); ``weights[id]`` the ``(k + 1, D)`` weights."""

    network: dict[str, Any]
    runs: tuple[Run, ...]
    weights: dict[str, Array]
    metrics: dict[str, dict[str, Array]]
    events: list[Event]

    def figure(self) -> Figure:
        """Training loss (solid) and test loss (dotted) per step, one colour per run."""
        import plotly.graph_objects as go

        fig = go.Figure()
        for i, (run, values) in enumerate(self.metrics.items()):
            steps = np.arange(len(values["train_loss"]))
            label = f"{run} · {self.runs[i].optimizer}"
            colour = run_color(i)
            fig.add_trace(
                go.Scatter(
                    x=steps, y=values["train_loss"], name=f"{label} train", line={"color": colour}
                )
            )
            if "test_loss" in values:
                fig.add_trace(
                    go.Scatter(
                        x=steps,
                        y=values["test_loss"],
                        name=f"{label} test",
                        line={"color": colour, "dash": "dot"},
                    )
                )
        fig.update_layout(
            xaxis_title="step",
            yaxis_title="loss",
            yaxis_type="log",
            template="plotly_white",
            height=420,
        )
        return fig


def train(
    network: Mapping[str, Any],
    *,
    runs: Sequence[Run],
    steps: int = 500,
    seed: int = 0,
) -> NetworkResult:
    """Train one network per run from the same initial weights, as the page's Networks mode.

    ``network`` is the websocket's ``{"network": ...}`` object (docs/protocol.md), e.g.
    ``{"dataset": "moons", "hidden": [8]}``. Runs stop early on convergence or divergence.

    >>> result = train({"dataset": "moons", "n": 60, "hidden": [4]},
    ...                runs=[Run("adam", lr=0.05), Run("sgd", lr=0.5)], steps=40)
    >>> result.metrics["a"]["train_loss"].shape
    (41,)
    >>> bool(result.metrics["a"]["train_loss"][-1] < result.metrics["a"]["train_loss"][0])
    True
    """
    settings = Settings()
    if not runs or len(runs) > settings.max_runs:
        raise ValueError(f"give 1 to {settings.max_runs} runs")
    if steps > settings.max_steps:
        raise ValueError(f"steps {steps} is above the limit {settings.max_steps}")
    try:
        built = build_problem(ProblemSpec(network=dict(network)))
        problem = built.problem
        assert isinstance(problem, NetworkProblem | DeepProblem)
        init = problem.init_params(seed)
        configs = []
        for i, r in enumerate(runs):
            spec = RunSpec(
                id=run_id(i),
                optimizer=r.optimizer,
                hyper=dict(r.hyper),
                schedule=dict(r.schedule) if r.schedule is not None else None,
                noise=r.noise,
            )
            configs.append(build_run(spec, built, start=init))
    except ValidationError as exc:
        raise from_validation(exc) from None
    race = Race(problem, configs, seed=seed, max_steps=steps)
    parts: dict[str, list[tuple[Array, Array, Array]]] = {c.id: [] for c in configs}
    for run, chunk in race.initial_chunks().items():
        parts[run].append((chunk.params, chunk.loss, chunk.gnorm))
    while not race.done:
        chunks, _ = race.advance(min(500, steps - race.step) or 1)
        for run, chunk in chunks.items():
            parts[run].append((chunk.params, chunk.loss, chunk.gnorm))
    weights: dict[str, Array] = {}
    metrics: dict[str, dict[str, Array]] = {}
    for run, pieces in parts.items():
        weights[run] = np.concatenate([p for p, _, _ in pieces])
        measured = problem.metrics(weights[run])
        metrics[run] = {
            "train_loss": np.concatenate([loss for _, loss, _ in pieces]),
            **{k: v for k, v in measured.items() if k != "train_loss"},
            "gnorm": np.concatenate([g for _, _, g in pieces]),
        }
    events = []
    for i, config in enumerate(configs):
        status = race.status[i]
        if status is RunStatus.RUNNING:
            status = RunStatus.FINISHED
        step = race.stopped_at[i] if status is not RunStatus.FINISHED else steps
        events.append(Event(config.id, str(status), step))
    return NetworkResult(dict(network), tuple(runs), weights, metrics, events)
