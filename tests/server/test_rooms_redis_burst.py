"""A lecture hall opening the room link at once: more joins than a worker's Redis pool holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from websockets.asyncio.client import ClientConnection, connect

from server.live.broker_redis import MAX_CONNECTIONS

from .conftest import run_async
from .redis_cluster import Worker
from .test_rooms import until

JOINS = MAX_CONNECTIONS + 60  # all at once, on one worker


def test_a_burst_of_joins_beyond_the_redis_pool_waits_for_connections_instead_of_failing(
    workers: Callable[..., list[Worker]],
) -> None:
    (worker,) = workers(1)
    headers = {"Origin": worker.url}

    async def join(code: str) -> tuple[dict[str, object], ClientConnection]:
        viewer = await connect(worker.room_url(code), additional_headers=headers, open_timeout=30)
        first: dict[str, object] = orjson.loads(await asyncio.wait_for(viewer.recv(), 30))
        return first, viewer

    async def go() -> None:
        async with connect(worker.ws_url, additional_headers=headers) as presenter:
            await until(presenter, lambda m: m["type"] == "hello")
            await presenter.send('{"type": "room", "action": "open"}')
            code = str((await until(presenter, lambda m: m["type"] == "room"))["code"])
            joined = await asyncio.gather(*(join(code) for _ in range(JOINS)))
            refused = [first for first, _ in joined if first.get("type") != "room"]
            assert not refused, f"{len(refused)} of {JOINS} refused, e.g. {refused[0]}"
            assert all(first["role"] == "viewer" for first, _ in joined)
            counts = [0]
            while counts[-1] != JOINS:  # the presenter is told of every one of them
                counts.append(
                    int((await until(presenter, lambda m: m["type"] == "room"))["viewers"])
                )
            await asyncio.gather(*(viewer.close() for _, viewer in joined))

    run_async(go)
