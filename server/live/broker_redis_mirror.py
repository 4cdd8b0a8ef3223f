"""One room as one worker sees it through Redis: its subscription and its local viewers.

See :mod:`server.live.broker_redis` for the design.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

import orjson
from redis.asyncio.client import PubSub

from server.live.broker_redis_common import (
    FAULTS,
    GRACE,
    REFRESH,
    RETRY,
    ROOM_TTL,
    Host,
    key,
    log,
    parse,
    status,
)
from server.live.rooms import LocalRoom, Viewer

RECENT = 512
"""Live messages a worker keeps for a viewer joining as they arrive (17 s of frames)."""


class Mirror:
    """One room as seen by this worker: its subscription and its local viewers."""

    def __init__(self, broker: Host, code: str) -> None:
        self.broker, self.code, self.redis = broker, code, broker.redis
        self.local = LocalRoom(code, self._count_changed)
        self.floor = 0  # messages up to this number are in what every viewer got
        self.skip: dict[Viewer, int] = {}  # late joiners: up to this number, in their history
        self.recent: deque[tuple[int, str]] = deque(maxlen=RECENT)  # the last ones offered
        self.pubsub: PubSub | None = None
        self.epoch: str | None = None
        self.missing_since: float | None = None
        self.live = True  # what the viewers were last told: live, or reconnecting
        self._task: asyncio.Task[None] | None = None
        self._count_due = False
        self.ended = False

    async def subscribe(self) -> None:
        """Subscribe, and wait until Redis confirms it (so no message after it is missed)."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(key(self.code, ":live"))
            async with asyncio.timeout(5.0):
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is not None and msg["type"] == "subscribe":
                        break
        except BaseException:
            with contextlib.suppress(*FAULTS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self.pubsub = pubsub
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name=f"gradscape-mirror-{self.code}"
            )

    async def history(self) -> tuple[int, list[str]]:
        """The room's history: the number of its last message, and the messages."""
        raw = await self.redis.lrange(key(self.code, ":history"), 0, -1)
        items = [parse(r) for r in raw]
        last = max((seq for seq, _ in items), default=0)
        return last, [text for _, text in items]

    def add(self, viewer: Viewer, last: int) -> list[str] | None:
        """Add a viewer whose history ends at message ``last``; returns the messages it lacks
        that this worker offered already, or None (not added) if they are no longer kept.

        The history is read on another connection than the subscription, so its answer can
        come after live messages newer than it were offered (to the viewers there were).
        """
        missed: list[str] = []
        if last > self.floor:
            self.skip[viewer] = last
        elif last < self.floor:
            if not self.recent or self.recent[0][0] > last + 1:
                return None
            missed = [text for seq, text in self.recent if seq > last]
        self.local.add(viewer)
        return missed

    def discard(self, viewer: Viewer) -> None:
        self.skip.pop(viewer, None)
        self.local.discard(viewer)
        if not self.local.viewers and not self.ended:
            self.ended = True
            self.broker.dropped(self)
            self.broker.background(self.close())

    def end(self, message: str) -> None:
        """The room is over for this worker's viewers."""
        self.broker.dropped(self)
        self.ended = True
        self.local.end(message)
        self.broker.background(self.close())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop_pubsub()
        with contextlib.suppress(*FAULTS):
            await self.redis.hdel(key(self.code, ":viewers"), self.broker.worker)

    async def _drop_pubsub(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*FAULTS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _offer(self, seq: int, text: str) -> None:
        if seq <= self.floor:
            return
        self.floor = seq
        self.recent.append((seq, text))
        if not self.skip:
            self.local.offer(text)
            return
        for viewer in self.local.viewers:
            if seq > self.skip.get(viewer, 0):
                viewer.offer(text)
        if seq >= max(self.skip.values()):
            self.skip.clear()

    async def _resend(self) -> None:
        """Everything from step 0 again, to every viewer (after Redis was lost)."""
        raw = await self.redis.get(key(self.code))
        if raw is None:
            return
        epoch = orjson.loads(raw)["epoch"]
        if epoch == self.epoch:  # the same writing of the room: nothing was missed
            if not self.live:
                self.live = True
                self.local.offer(status(self.code, "live", "Back."))
            return
        last, history = await self.history()
        self.epoch, self.floor, self.missing_since = epoch, last, None
        self.skip.clear()
        self.recent.clear()  # numbered by the writing before
        self.live = True
        self.local.offer(status(self.code, "live", "Back: the race so far follows."))
        for text in history:
            self.local.offer(text)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        raw = await self.redis.get(key(self.code))
        self.epoch = orjson.loads(raw)["epoch"] if raw is not None else None
        while not self.ended:
            try:
                pubsub = self.pubsub
                if pubsub is None:
                    await self.subscribe()
                    await self._resend()
                    continue
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is not None and msg["type"] == "message":
                    seq, text = parse(msg["data"])
                    if text.startswith("!closed "):
                        self.end(text.removeprefix("!closed "))
                        return
                    if text.startswith("!resync "):
                        await self._resend()
                    else:
                        self._offer(seq, text)
                now = loop.time()
                if self._count_due or now - checked >= REFRESH:
                    self._count_due = False
                    await self._write_count()
                if now - checked >= REFRESH:
                    checked = now
                    await self._check_room(now)
            except FAULTS as exc:
                await self._drop_pubsub()
                await self.broker.forget_connections()
                if self.live:
                    log.warning("room %s: lost Redis (%s); reconnecting", self.code, exc)
                    self.live = False
                    message = "Connection to the room lost; reconnecting..."
                    self.local.offer(status(self.code, "reconnecting", message))
                    self.missing_since = self.missing_since or loop.time()
                elif loop.time() - (self.missing_since or loop.time()) > ROOM_TTL + GRACE:
                    self.end("The room could not be reached again; it ended.")
                    return
                await asyncio.sleep(RETRY)

    async def _check_room(self, now: float) -> None:
        if await self.redis.exists(key(self.code)):
            if self.missing_since is not None:
                self.missing_since = None
                await self._resend()
            return
        if self.missing_since is None:
            self.missing_since = now
        elif now - self.missing_since > GRACE:
            self.end("The presenter's server stopped; the room ended.")

    def _count_changed(self) -> None:
        self._count_due = True

    async def _write_count(self) -> None:
        value = f"{len(self.local.viewers)} {time.time():.3f}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key(self.code, ":viewers"), self.broker.worker, value)
        pipe.expire(key(self.code, ":viewers"), ROOM_TTL)
        await pipe.execute()
