"""``POST /api/parity/network``: one run of a network race stepped by us and by torch.optim,
optax and Keras, each fed our backprop gradient at its own weights.

Ours is the race's run exactly: the engine, from the weights the race starts from
(``init_params(seed)``), run to ``steps``. Each library steps the flat weight vector from the
same start; before each update it is given the gradient our hand-written backprop computes at
the library's current weights on that update's mini-batch (plus the same noise draws, those of
run 0), through ``server.libraries.parity`` (the surfaces' plans, runners and notes). So a
difference isolates the optimizer. Weight paths are not sent (a network has up to thousands of
weights): per step, the largest weight difference from ours and the library's objective.

It runs in the analysis's worker process (``job``), never on the event loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from server.engine import Race
from server.jsonenc import dumps
from server.libraries.parity import LIBRARIES, Run, library_result
from server.optim.base import Array
from server.problems.factory import Built, build_network
from server.problems.nn.deep import DeepProblem
from server.problems.nn.problem import NetworkProblem
from server.runs import build_run
from server.schemas import HyperValue, Number, RunSpec, Strict, WholeNumber
from server.trajectory import status_of

MAX_STEPS = 500
"""A digits CNN costs about 4 ms a step a path here: 500 steps of ours, three libraries and
their notes' runs take 10-15 s of the worker process."""
GRADIENT = "our backprop (numpy, by hand) on the same mini-batch at the library's own weights"
Result = dict[str, Any]


class NetworkParityRequest(Strict):
    network: dict[str, Any] = Field(
        default_factory=dict,
        description="The `network` of a websocket start's `problem` (MLP, CNN or RNN; "
        "docs/protocol.md, Networks); `torch` is ignored.",
        json_schema_extra={"x-gradscape-network": "race"},
    )
    optimizer: str = Field(default="sgd", max_length=32)
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=16)
    schedule: dict[str, Any] | None = None
    steps: WholeNumber = Field(default=100, ge=0, le=MAX_STEPS)
    noise: Number = Field(default=0.0, ge=0.0, le=1e3)
    seed: WholeNumber = Field(default=0, ge=0, le=2**32 - 1)


def _ours(built: Built, body: NetworkParityRequest) -> tuple[Race, Array]:
    """The engine's run: ``(k + 1, D + 1)`` rows of ``[*weights, loss]``."""
    problem = built.problem
    assert isinstance(problem, NetworkProblem | DeepProblem)
    spec = RunSpec(
        id="run",
        optimizer=body.optimizer,
        hyper=body.hyper,
        schedule=body.schedule,
        noise=body.noise,
    )
    config = build_run(spec, built, start=problem.init_params(body.seed))
    race = Race(problem, [config], seed=body.seed, max_steps=max(body.steps, 1), until="max_steps")
    first = race.initial_chunks().get("run")
    if first is None:
        return race, np.zeros((0, problem.dim + 1))
    chunks = [first]
    rest = race.advance(body.steps)[0].get("run") if body.steps else None
    if rest is not None:
        chunks.append(rest)
    params = np.concatenate([c.params for c in chunks])
    loss = np.concatenate([c.loss for c in chunks])
    return race, np.column_stack([params, loss])


def weight_diffs(ours: Array, theirs: Array) -> Array:
    """Per step both have, the largest ``|w - w'|`` over the weights (rows ``[*w, loss]``)."""
    n = min(len(ours), len(theirs))
    return np.abs(ours[:n, :-1] - theirs[:n, :-1]).max(axis=1) if n else np.zeros(0)


def _library(entry: Result, ours: Array) -> Result:
    if "unavailable" in entry:
        return entry
    points: Array = entry["points"]
    return {
        "diff": weight_diffs(ours, points),
        "max_diff": entry["max_diff"],
        "loss": np.ascontiguousarray(points[:, -1]),
        "notes": entry["notes"],
    }


def network_parity(body: NetworkParityRequest) -> Result:
    """``{"ours": {"loss", "status", "steps", "weights"}, "libraries": {name: {"diff",
    "max_diff", "loss", "notes"} | {"unavailable"}}}``; FieldError on a bad request."""
    built = build_network(dict(body.network))
    problem = built.problem
    assert isinstance(problem, NetworkProblem | DeepProblem)
    race, ours = _ours(built, body)
    config = race.configs[0]
    run = Run(
        problem=problem,
        optimizer=config.optimizer,
        hyper=config.hyper,
        schedule=config.schedule,
        start=config.start,
        steps=max(len(ours) - 1, 0),
        noise=config.noise,
        seed=body.seed,
        gradient=GRADIENT,
    )
    return {
        "ours": {
            "loss": np.ascontiguousarray(ours[:, -1]),
            "status": status_of(race.status[0]),
            "steps": max(len(ours) - 1, 0),
            "weights": problem.dim,
        },
        "libraries": {name: _library(library_result(name, run, ours), ours) for name in LIBRARIES},
    }


def job(body: str, token: int) -> bytes:
    """In the worker process: the JSON answer of one request (``body``: its JSON)."""
    return dumps(network_parity(NetworkParityRequest.model_validate_json(body)))
