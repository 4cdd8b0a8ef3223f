"""A network race of a hash (``mode=network``, an MLP): built as the websocket's ``start``
builds it, run offline with the live engine and timeline, and written as CSV.

The CSV of a network race is ``run,optimizer,step,loss``: one row per step of each run, from
step 0 (the initial weights, shared by every run), ``loss`` being the training objective after
that many updates (the mean loss over the training set plus the L2 penalty, the ``train_loss``
of the page's frames), floats written as Python's repr. A run that diverges stops at its last
finite loss. The exported numpy and torch scripts of a network race print this CSV.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from server.engine import Race
from server.errors import FieldError
from server.export.compute import _Collector, build_race
from server.export.net_state import network_problem
from server.export.race_spec import ScriptRun
from server.export.state import ExportState, format_hash
from server.optim.base import Array
from server.optim.registry import get_optimizer
from server.problems.factory import Built, build_network
from server.problems.nn.problem import NetworkProblem
from server.timeline import Timeline

CSV_HEADER = "run,optimizer,step,loss"
BLOCK = 500
MAX_WORK = 4e9
"""Largest network race computed for an export, in weight x point products (steps x runs x
weights x (training points + batch)): about five times the page's default race, a few seconds
here. Beyond it a GET could keep a worker busy for hours; the scripts have no such limit."""


@dataclass(frozen=True)
class NetworkRace:
    state: ExportState
    built: Built
    problem: NetworkProblem
    init: Array  # (P,) the weights every run starts from
    runs: list[ScriptRun]
    race: Race
    timeline: Timeline

    @property
    def hash(self) -> str:
        return format_hash(self.state)

    @property
    def title(self) -> str:
        p = self.problem
        sizes = "-".join(map(str, p.mlp.sizes))
        batch = (
            "full batch"
            if p.batch_size >= p.dataset.x_train.shape[0]
            else f"batches of {p.batch_size}"
        )
        return f"{p.config.dataset} {sizes} MLP, {p.mlp.activation}, {p.loss.name} loss, {batch}"


def network_race(state: ExportState, *, max_steps: int, max_runs: int = 8) -> NetworkRace:
    """The race of a ``mode=network`` state (FieldError naming the field if it is invalid or is
    not an MLP)."""
    if state.steps > max_steps:
        raise FieldError("steps", f"steps {state.steps} is above the export limit {max_steps}")
    if state.net.model != "mlp":
        raise FieldError(
            "net",
            f"{state.net.model} networks ({state.net.dataset}) cannot be exported as code yet; "
            "the MLP data sets can",
        )
    try:
        built = build_network(network_problem(state.net))
    except FieldError as exc:
        raise FieldError(exc.field.replace("network", "net", 1), exc.message) from None
    problem = built.problem
    assert isinstance(problem, NetworkProblem)
    init = problem.init_params(state.seed)
    race, _, timeline = build_race(state, built, max_runs=max_runs, init=init)
    runs = [
        ScriptRun(
            index=i,
            id=c.id,
            optimizer=c.optimizer,
            title=get_optimizer(c.optimizer).spec.title,
            start=(),
            hyper=dict(c.hyper),
            schedule=c.schedule,
            noise=c.noise,
            changes=[ch for ch in timeline.pending if ch.run == c.id],
        )
        for i, c in enumerate(race.configs)
    ]
    return NetworkRace(state, built, problem, init, runs, race, timeline)


def network_losses(
    state: ExportState, *, max_steps: int, max_runs: int = 8
) -> list[tuple[str, str, Array]]:
    """Each run's id, optimizer and losses (step 0 first), as the live race computes them."""
    net = network_race(state, max_steps=max_steps, max_runs=max_runs)
    p = net.problem
    work = state.steps * len(net.runs) * p.dim * (p.dataset.x_train.shape[0] + p.batch_size)
    if work > MAX_WORK:
        raise FieldError(
            "steps",
            f"this network race is too large to compute for an export (about {work:.2g} "
            f"weight-point products, at most {MAX_WORK:.2g}): fewer steps, runs, points or "
            "units; its numpy and torch scripts have no such limit",
        )
    race, timeline = net.race, net.timeline
    stream = _Collector(race)
    parts: dict[str, list[Array]] = {c.id: [] for c in race.configs}
    for run, chunk in race.initial_chunks().items():
        parts[run].append(chunk.loss)
    while not race.done and race.step < state.steps:
        timeline.advance(stream, stream.set, min(BLOCK, state.steps - race.step))
        for run, chunk in stream.take().items():
            parts[run].append(chunk.loss)
    out = []
    for config in race.configs:
        chunks = parts[config.id]
        loss = np.concatenate(chunks) if chunks else np.zeros(0)
        finite = np.isfinite(loss)
        kept = loss if finite.all() else loss[: int(np.argmin(finite))]
        out.append((config.id, config.optimizer, kept))
    return out


def network_csv(state: ExportState, *, max_steps: int, max_runs: int = 8) -> bytes:
    """The CSV described in the module's docstring."""
    out = io.StringIO()
    out.write(CSV_HEADER + "\n")
    for run, optimizer, values in network_losses(state, max_steps=max_steps, max_runs=max_runs):
        for k, v in enumerate(values.tolist()):
            out.write(f"{run},{optimizer},{k},{v!r}\n")
    return out.getvalue().encode()
