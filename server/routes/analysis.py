"""REST routes of the analysis: basin maps, learning-rate sweeps, tuning.

The work runs in the analysis's worker process (:mod:`server.analysis.worker`), never in the
server's own process, so live sessions keep their pace; results are cached by request (the same
state gives the same bits). ``POST /api/basin/stream`` sends the map as NDJSON, a head then
blocks of grid rows, one job each. Every one of them stops computing when its client goes away
(the page's Cancel aborts the request): the job reads its cancel flag every 32 steps.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from server.analysis.basin import basin_head, plan, row_blocks
from server.analysis.batch import Cancelled
from server.analysis.requests import BasinRequest, SweepRequest, TuneRequest
from server.analysis.worker import POOL, rows, whole
from server.apischema.analysis import BASIN_STREAM
from server.jsonenc import ORJSONResponse, dumps

CACHE_SIZE = 32
GONE = 499  # the status of an answer no one is waiting for (the client closed the request)
router = APIRouter(prefix="/api", default_response_class=ORJSONResponse)
Kind = Literal["basin", "sweep", "tune"]


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


async def _gone(request: Request) -> None:
    """Returns when the client has closed the request (its body is read: what comes next on
    ``receive`` is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_gone(request: Request, kind: Kind, body: str) -> bytes | None:
    """The JSON of the analysis, from the worker process; None, with the job told to stop, if
    the client goes away first."""
    token = POOL.token()
    work = asyncio.ensure_future(POOL.run(token, whole, kind, body))
    gone = asyncio.ensure_future(_gone(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if work.done():
            POOL.release(token)
        else:
            work.cancel()  # and the job's flag is raised
    return work.result() if work.done() else None


async def _cached(kind: Kind, body: BaseModel, request: Request) -> Response:
    """The JSON of the analysis ``kind`` of ``body``, computed once per distinct request and
    stopped when the client goes away."""
    text = body.model_dump_json()
    key = f"{kind}:{text}"
    content = CACHE.get(key)
    if content is None:
        content = await _unless_gone(request, kind, text)
        if content is None:
            return Response(status_code=GONE)
        CACHE.put(key, content)
    return Response(content, media_type="application/json")


@router.post("/basin")
async def basin_map(body: BasinRequest, request: Request) -> Response:
    """Where a run from each cell of a grid ends: the listed minimum's index, -1 none, -2 diverged."""
    plan(body)  # a bad request is answered at once, not after the queue
    return await _cached("basin", body, request)


@router.post("/basin/stream", response_class=StreamingResponse, responses={200: BASIN_STREAM})
async def basin_stream(body: BasinRequest) -> StreamingResponse:
    """The same map as NDJSON lines: the head (x, y, minima, rows), then blocks of rows."""
    checked = plan(body)
    text = body.model_dump_json()

    async def lines() -> AsyncIterator[bytes]:
        token = POOL.token()
        try:
            yield dumps(basin_head(checked)) + b"\n"
            for i0, i1 in row_blocks(checked):
                yield await POOL.run(token, rows, text, i0, i1)
        except Cancelled:
            return
        finally:  # the client went away (the generator is closed) or the map is done
            POOL.cancel(token)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/sweep")
async def lr_sweep(body: SweepRequest, request: Request) -> Response:
    """Final loss, divergence and steps to tolerance of one run per learning rate."""
    return await _cached("sweep", body, request)


@router.post("/tune")
async def tune_all(body: TuneRequest, request: Request) -> Response:
    """Each optimizer tuned with the same budget; the tuned values and the leaderboard."""
    return await _cached("tune", body, request)
