"""REST routes of "see inside": optimizer and layer source, PyTorch code, parity, backprop."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Request, Response
from pydantic import Field

from server.analysis.worker import POOL
from server.errors import FieldError
from server.inside.backprop import BackpropError
from server.inside.backprop import backprop as compute_backprop
from server.inside.network_parity import NetworkParityRequest
from server.inside.network_parity import job as network_parity_job
from server.inside.parity import parity as compute_parity
from server.inside.rules import SYMBOLS, TEX
from server.inside.source import LAYERS, layer_source, optimizer_source
from server.inside.torchcode import torch_code
from server.jsonenc import ORJSONResponse
from server.optim.base import InvalidHyperparameter
from server.problems.factory import build_network
from server.problems.nn.problem import NetworkProblem
from server.runs import check_hyper, check_optimizer, check_schedule
from server.schemas import HyperValue, Number, Point, Strict, TrajectoryRequest, WholeNumber
from server.settings import Settings

MAX_PARITY_STEPS = 5_000
MAX_WEIGHT = 1e6
router = APIRouter(prefix="/api", default_response_class=ORJSONResponse, tags=["inside"])


class TorchCodeRequest(Strict):
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=16)
    schedule: dict[str, Any] | None = None
    start: Point = (0.0, 0.0)
    steps: WholeNumber = Field(default=500, ge=0, le=1_000_000)
    problem: str = Field(default="the surface", max_length=200)


def _optimizer(name: str) -> dict[str, Any]:
    try:
        return optimizer_source(name)
    except InvalidHyperparameter as exc:
        raise FieldError("optimizer", exc.message) from None


@router.get("/optimizers/{name}/source")
def optimizer_code(name: str) -> ORJSONResponse:
    """The optimizer's own numpy ``update`` (and ``init``, state, helpers), read with
    ``inspect.getsource``, and its update rule in TeX."""
    out = _optimizer(name)
    out["tex"] = TEX.get(name, [])
    out["symbols"] = SYMBOLS
    return ORJSONResponse(out)


@router.post("/optimizers/{name}/torch")
def optimizer_torch(name: str, body: TorchCodeRequest) -> ORJSONResponse:
    """The same run written with ``torch.optim`` and autograd, the given values filled in."""
    _optimizer(name)
    hyper = check_hyper(name, body.hyper)
    schedule = check_schedule(body.schedule)
    code = torch_code(name, hyper, schedule, body.start, body.steps, body.problem)
    return ORJSONResponse({"name": name, "code": code, "hyper": hyper})


@router.get("/layers")
def layers() -> ORJSONResponse:
    """Every network layer's forward and backward, with the torch.nn module it equals."""
    return ORJSONResponse([layer_source(name) for name in LAYERS])


@router.get("/layers/{name}/source")
def layer_code(
    name: Annotated[str, Path(json_schema_extra={"enum": list(LAYERS)})],
) -> ORJSONResponse:
    if name not in LAYERS:
        raise FieldError("name", f"Unknown layer {name!r}; choose one of: {', '.join(LAYERS)}")
    return ORJSONResponse(layer_source(name))


@router.post("/parity")
def parity(body: TrajectoryRequest, request: Request) -> ORJSONResponse:
    """Our trajectory (as ``POST /api/trajectory``) beside torch.optim's (optax, keras: when
    installed), with the largest coordinate difference."""
    settings: Settings = request.app.state.settings
    limit = min(settings.max_trajectory_steps, MAX_PARITY_STEPS)
    return ORJSONResponse(compute_parity(body, limit))


@router.post("/parity/network")
async def network_parity(body: NetworkParityRequest) -> Response:
    """One run of a network race beside torch.optim, optax and Keras, each fed our backprop
    gradient at its own weights: per step the largest weight difference (in the analysis's
    worker process, away from the live sessions)."""
    token = POOL.token()
    try:
        answer = await POOL.run(token, network_parity_job, body.model_dump_json())
    finally:
        POOL.release(token)
    return Response(answer, media_type="application/json")


DEFAULT_NETWORK: dict[str, Any] = {"dataset": "moons", "n": 40, "hidden": [3], "activation": "tanh"}


class BackpropRequest(Strict):
    network: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_NETWORK))
    seed: WholeNumber = Field(default=0, ge=0, le=2**32 - 1)
    params: list[Annotated[Number, Field(ge=-MAX_WEIGHT, le=MAX_WEIGHT)]] | None = Field(
        default=None,
        max_length=200,
        description="The network's weights (as many as it has), or null for its initial ones.",
        json_schema_extra={"x-gradscape-rules": ["len(params) is the network's weight count"]},
    )
    sample: WholeNumber = Field(
        default=0,
        ge=0,
        json_schema_extra={"x-gradscape-rules": ["sample < the training part's size"]},
    )
    optimizer: str = Field(default="sgd", max_length=32)
    hyper: dict[str, HyperValue] = Field(default_factory=lambda: {"lr": 0.5}, max_length=16)


@router.post("/backprop")
def backprop(body: BackpropRequest) -> ORJSONResponse:
    """One example through a small network: every unit's forward value and gradient, every
    weight's chain-rule factors, and the weights after one update."""
    built = build_network(body.network)
    problem = built.problem
    if not isinstance(problem, NetworkProblem):
        raise FieldError("network.model", "The backprop view draws MLPs (model mlp)")
    check_optimizer(body.optimizer, built)
    hyper = check_hyper(body.optimizer, body.hyper)
    if body.params is None:
        params = problem.init_params(body.seed)
    else:
        params = np.array(body.params, dtype=np.float64)
        if params.shape != (problem.dim,):
            raise FieldError("params", f"params must hold {problem.dim} numbers, got {len(params)}")
        if not np.all(np.abs(params) <= MAX_WEIGHT):
            raise FieldError("params", f"params must lie within ±{MAX_WEIGHT:g}")
    try:
        return ORJSONResponse(compute_backprop(problem, params, body.sample, body.optimizer, hyper))
    except BackpropError as exc:
        raise FieldError(exc.field, exc.message) from None
