"""REST routes of "see inside": optimizer and layer source, PyTorch code, parity, backprop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictInt

from server.errors import FieldError
from server.inside.parity import parity as compute_parity
from server.inside.rules import SYMBOLS, TEX
from server.inside.source import LAYERS, layer_source, optimizer_source
from server.inside.torchcode import torch_code
from server.jsonenc import ORJSONResponse
from server.optim.base import InvalidHyperparameter
from server.runs import check_hyper, check_schedule
from server.schemas import HyperValue, Point, Strict, TrajectoryRequest
from server.settings import Settings

MAX_PARITY_STEPS = 5_000
router = APIRouter(prefix="/api", default_response_class=ORJSONResponse, tags=["inside"])


class TorchCodeRequest(Strict):
    hyper: dict[str, HyperValue] = Field(default_factory=dict, max_length=16)
    schedule: dict[str, Any] | None = None
    start: Point = (0.0, 0.0)
    steps: StrictInt = Field(default=500, ge=0, le=1_000_000)
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
def layer_code(name: str) -> ORJSONResponse:
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
