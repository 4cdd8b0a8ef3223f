"""REST routes of the analysis: basin maps, learning-rate sweeps, tuning.

The work runs in one worker thread, never on the event loop, at a lower priority
(:mod:`server.priority`), so live sessions keep their pace;
results are cached by request (the same state gives the same bits). ``POST /api/basin/stream``
sends the map as NDJSON, a head then blocks of grid rows. Every one of them stops computing when
its client goes away (the page's Cancel aborts the request): the work checks a flag every 32
steps and gives the worker thread back.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from server.analysis.basin import basin, basin_blocks, plan
from server.analysis.batch import Cancel, Cancelled
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
GONE = 499  # the status of an answer no one is waiting for (the client closed the request)
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


async def _gone(request: Request) -> None:
    """Returns when the client has closed the request (its body is read: what comes next on
    ``receive`` is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a Cancelled no one awaits any more


async def _unless_gone(request: Request, compute: Callable[[Cancel], bytes]) -> bytes | None:
    """``compute(cancel)`` in the worker thread; None, with ``cancel()`` turned true so that the
    work stops, if the client goes away first."""
    stop = threading.Event()
    work = asyncio.ensure_future(_in_worker(lambda: compute(stop.is_set)))
    gone = asyncio.ensure_future(_gone(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not work.done():
            stop.set()
            work.add_done_callback(_retrieve)
    return work.result() if work.done() else None


async def _cached(
    kind: str,
    body: BaseModel,
    request: Request,
    compute: Callable[[Cancel], dict[str, Any]],
) -> Response:
    """The JSON of ``compute(cancel)``, computed in the worker thread once per distinct
    request, and stopped when the client goes away."""
    key = f"{kind}:{body.model_dump_json()}"
    content = CACHE.get(key)
    if content is None:
        content = await _unless_gone(request, lambda cancel: dumps(compute(cancel)))
        if content is None:
            return Response(status_code=GONE)
        CACHE.put(key, content)
    return Response(content, media_type="application/json")


@router.post("/basin")
async def basin_map(body: BasinRequest, request: Request) -> Response:
    """Where a run from each cell of a grid ends: the listed minimum's index, -1 none, -2 diverged."""
    plan(body)  # a bad request is answered at once, not after the queue
    return await _cached("basin", body, request, lambda cancel: basin(body, cancel))


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
async def lr_sweep(body: SweepRequest, request: Request) -> Response:
    """Final loss, divergence and steps to tolerance of one run per learning rate."""
    return await _cached("sweep", body, request, lambda cancel: sweep(body, cancel))


@router.post("/tune")
async def tune_all(body: TuneRequest, request: Request) -> Response:
    """Each optimizer tuned with the same budget; the tuned values and the leaderboard."""
    return await _cached("tune", body, request, lambda cancel: tune(body, cancel))
