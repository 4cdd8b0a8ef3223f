"""REST routes of the analysis: basin maps, learning-rate sweeps, tuning.

The work runs in one worker thread, never on the event loop, at a lower priority
(:mod:`server.priority`), so live sessions keep their pace;
results are cached by request (the same state gives the same bits). ``POST /api/basin/stream``
sends the map as NDJSON, a head then blocks of grid rows, and stops computing when the client
goes away.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from server.analysis.basin import basin, basin_blocks, plan
from server.analysis.batch import Cancelled
from server.analysis.requests import BasinRequest, SweepRequest, TuneRequest
from server.analysis.sweep import sweep
from server.analysis.tune import tune
from server.apischema.analysis import BASIN_STREAM
from server.jsonenc import ORJSONResponse, dumps
from server.priority import lower_this_thread

WORK = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="gradscape-analysis", initializer=lower_this_thread
)
CACHE_SIZE = 32
router = APIRouter(prefix="/api", default_response_class=ORJSONResponse)
T = TypeVar("T")


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = _Cache(CACHE_SIZE)


async def _in_worker(fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(WORK, fn)


async def _cached(kind: str, body: BaseModel, compute: Callable[[], dict[str, Any]]) -> Response:
    """The JSON of ``compute()``, computed in the worker thread once per distinct request."""
    key = f"{kind}:{body.model_dump_json()}"
    content = CACHE.get(key)
    if content is None:
        content = await _in_worker(lambda: dumps(compute()))
        CACHE.put(key, content)
    return Response(content, media_type="application/json")


@router.post("/basin")
async def basin_map(body: BasinRequest) -> Response:
    """Where a run from each cell of a grid ends: the listed minimum's index, -1 none, -2 diverged."""
    plan(body)  # a bad request is answered at once, not after the queue
    return await _cached("basin", body, lambda: basin(body))


@router.post("/basin/stream", response_class=StreamingResponse, responses={200: BASIN_STREAM})
async def basin_stream(body: BasinRequest) -> StreamingResponse:
    """The same map as NDJSON lines: the head (x, y, minima, rows), then blocks of rows."""
    checked = plan(body)
    stop = threading.Event()

    async def lines() -> AsyncIterator[bytes]:
        blocks = basin_blocks(checked, cancel=stop.is_set)
        try:
            while True:
                block = await _in_worker(lambda: next(blocks, None))
                if block is None:
                    return
                yield dumps(block) + b"\n"
        except Cancelled:
            return
        finally:
            stop.set()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/sweep")
async def lr_sweep(body: SweepRequest) -> Response:
    """Final loss, divergence and steps to tolerance of one run per learning rate."""
    return await _cached("sweep", body, lambda: sweep(body))


@router.post("/tune")
async def tune_all(body: TuneRequest) -> Response:
    """Each optimizer tuned with the same budget; the tuned values and the leaderboard."""
    return await _cached("tune", body, lambda: tune(body))
