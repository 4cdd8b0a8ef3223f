"""Rooms across workers: the presenter's worker publishes through Redis, every worker fans out.

The presenter's worker publishes each encoded message once, to the room's channel, and appends
it to the room's history list in the same transaction; each message carries a sequence number
(``"<seq> <text>"``). A worker with viewers of the room subscribes to the channel (one
connection per room and worker), reads the history after its subscription is confirmed, and
offers live messages beyond the history's last number to its viewers through a
:class:`~server.live.rooms.LocalRoom`, exactly as one process does: encoded once, a bounded queue
per viewer, a stalled viewer dropped.

In Redis (all keys expire with the room): ``gradscape:room:CODE`` (the room: its link and the
epoch of its last full write), ``...:history`` (the current race; rewritten merged from the
presenter's :class:`~server.live.history.PathHistory` every ``COMPACT_AT`` messages, so bounded by
it), ``...:viewers`` (each worker's viewer count, with the time it was written).

Faults. Redis unreachable: sessions go on; opening or joining a room gets a clear refusal.
Redis lost mid-lecture: the presenter's worker keeps its history, retries every ``RETRY``
seconds, then writes the room and its history anew and publishes ``!resync``; viewers are told
``reconnecting``, then ``live`` followed by the race from step 0. A worker that dies stops
refreshing what it wrote: its rooms expire after ``ROOM_TTL`` (their viewers are told the room
ended ``GRACE`` seconds later) and its viewer counts after ``COUNT_TTL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from typing import Any

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from server.errors import FieldError
from server.jsonenc import dumps_text
from server.live.broker import (
    Presenter,
    Publication,
    Refused,
    code_taken,
    full_room,
    no_room,
    room_url,
)
from server.live.broker_redis_common import FAULTS, ROOM_TTL, count_viewers, key, log, shown
from server.live.broker_redis_mirror import Mirror
from server.live.broker_redis_publish import RedisPublication
from server.live.rooms import Viewer, new_code
from server.live.state import CloseCode

BUSY = "The room is too busy to join right now; try again in a moment."
MAX_CONNECTIONS = 100  # per worker
POOL_WAIT = 5.0  # s an operation may wait for a free connection
JOIN_TIMEOUT = 10.0  # s a join may take in all (a burst of joins queues for the pool)


class RedisBroker:
    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = shown(url)
        self.worker = uuid.uuid4().hex[:12]
        # A burst of joins (a lecture hall opening the link at once) needs more connections
        # than the pool holds: they wait for one instead of failing as "unreachable".
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT,
            socket_connect_timeout=2.0,
            socket_timeout=5.0,
            retry=Retry(NoBackoff(), 0),
        )
        self.redis: Redis = Redis.from_pool(pool)
        self.mirrors: dict[str, Mirror] = {}
        self.publications: set[RedisPublication] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the Broker interface ---------------------------------------------------------------

    async def start(self) -> None:
        problem = await self.unreachable()
        if problem is None:
            log.info("lecture rooms go through Redis at %s (worker %s)", self.shown, self.worker)
        else:
            log.error(
                "Redis at %s is unreachable (%s): lecture rooms are unavailable until it "
                "answers; races without a room are not affected",
                self.shown,
                problem,
            )

    async def stop(self) -> None:
        for publication in list(self.publications):
            publication.close()
        for mirror in list(self.mirrors.values()):
            mirror.end("The server is shutting down; the room ended.")
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for task in tasks:
            task.cancel()
        await self.redis.aclose()

    async def open(self, presenter: Presenter, base_url: str, code: str | None) -> Publication:
        problem = await self.unreachable()
        if problem is not None:
            raise FieldError(
                "room",
                f"Rooms are unavailable: this server cannot reach its Redis at {self.shown} "
                f"({problem}). Races without a room work; try again in a moment.",
            )
        wanted = code
        while True:
            chosen = wanted or new_code()
            url = room_url(base_url, chosen)
            publication = RedisPublication(self, chosen, url, presenter)
            if await self.redis.set(key(chosen), publication.record(), nx=True, ex=ROOM_TTL):
                break
            if wanted is not None:
                raise code_taken(wanted)
        await publication.write_all(resync=False)
        publication.start()
        self.publications.add(publication)
        return publication

    async def join(self, code: str, viewer: Viewer, max_viewers: int) -> list[str]:
        """No ping first: under a burst of joins a ping waits for the pool like every other
        command, and refused joiners that Redis would have served."""
        code = code.upper()
        try:
            async with asyncio.timeout(JOIN_TIMEOUT):
                return await self._join(code, viewer, max_viewers)
        except FAULTS as exc:
            raise Refused(
                CloseCode.TRY_AGAIN_LATER,
                "rooms are unavailable",
                "Rooms are unavailable right now (the server cannot reach its Redis); "
                "try again in a moment.",
            ) from exc

    async def _join(self, code: str, viewer: Viewer, max_viewers: int) -> list[str]:
        raw = await self.redis.get(key(code))
        if raw is None:
            raise no_room(code)
        room = orjson.loads(raw)
        viewers = await count_viewers(self.redis, code)
        if viewers >= max_viewers:
            raise full_room(code, max_viewers)
        mirror = self.mirrors.get(code)
        if mirror is None:
            mirror = self.mirrors[code] = Mirror(self, code)
            try:
                await mirror.subscribe()
            except BaseException:
                self.mirrors.pop(code, None)
                await mirror.close()
                raise
        missed: list[str] | None = None
        for _ in range(3):  # a history older than the messages this worker keeps: read again
            last, history = await mirror.history()
            missed = mirror.add(viewer, last)
            if missed is not None:
                break
        if missed is None:
            raise Refused(CloseCode.TRY_AGAIN_LATER, "room too busy", BUSY)
        viewer.key = f"{self.worker}-{id(viewer):x}"
        viewer.on_answer = lambda who, value: self.background(self._answer(code, who, value))
        greeting = {"type": "room", "code": code, "url": room["url"], "viewers": viewers + 1}
        return [dumps_text({**greeting, "role": "viewer"}), *history, *missed]

    def leave(self, code: str, viewer: Viewer) -> None:
        mirror = self.mirrors.get(code.upper())
        if mirror is not None:
            mirror.discard(viewer)

    # -- helpers ----------------------------------------------------------------------------

    async def unreachable(self) -> str | None:
        """None if Redis answers, else what went wrong."""
        try:
            async with asyncio.timeout(2.0):
                await self.redis.ping()
        except FAULTS as exc:
            return str(exc) or type(exc).__name__
        return None

    async def _answer(self, code: str, viewer: str, value: object) -> None:
        """A viewer's answer, to the presenter's worker (it reads them with the counts)."""
        with contextlib.suppress(*FAULTS):
            pipe = self.redis.pipeline(transaction=False)
            pipe.rpush(key(code, ":answers"), dumps_text({"viewer": viewer, "value": value}))
            pipe.ltrim(key(code, ":answers"), -10_000, -1)
            pipe.expire(key(code, ":answers"), ROOM_TTL)
            await pipe.execute()

    def dropped(self, part: object) -> None:
        if isinstance(part, RedisPublication):
            self.publications.discard(part)
        elif isinstance(part, Mirror) and self.mirrors.get(part.code) is part:
            del self.mirrors[part.code]

    async def forget_connections(self) -> None:
        """Drop pooled connections after a fault: after a Redis restart every one is stale."""
        with contextlib.suppress(*FAULTS):
            await self.redis.connection_pool.disconnect()

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="gradscape-rooms-redis")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
