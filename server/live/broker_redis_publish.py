"""The presenter's side of a room through Redis: messages out in order, the count back, recovery.

See :mod:`server.live.broker_redis` for the design.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from server.jsonenc import dumps_text
from server.live.broker import ENDED, Presenter
from server.live.broker_redis_common import (
    ANSWERS_POLL,
    COMPACT_AT,
    FAULTS,
    MAX_QUEUE,
    POLL,
    REFRESH,
    RETRY,
    ROOM_TTL,
    Host,
    count_viewers,
    item,
    key,
    log,
)
from server.live.rooms import CountNotifier


class RedisPublication:
    """The presenter's side: messages to Redis in order, the count back, recovery."""

    def __init__(self, broker: Host, code: str, url: str, presenter: Presenter) -> None:
        self.broker, self.code, self.url, self.presenter = broker, code, url, presenter
        self.redis = broker.redis
        self.epoch = uuid.uuid4().hex[:12]
        self.seq = 0
        self.queue: list[tuple[int, str, bool]] = []
        self.wake = asyncio.Event()
        self.counts = CountNotifier(self._info, presenter.reply)
        self.in_redis = 0  # history items in Redis
        self.lost = False  # Redis failed: everything is written anew once it answers
        self.closed = False
        self._task: asyncio.Task[None] | None = None

    def record(self) -> str:
        return dumps_text({"url": self.url, "epoch": self.epoch, "worker": self.broker.worker})

    def info(self) -> dict[str, Any]:
        return self._info(self.counts.count)

    def _info(self, viewers: int) -> dict[str, Any]:
        return {"type": "room", "code": self.code, "url": self.url, "viewers": viewers}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"gradscape-room-{self.code}"
        )

    def publish(self, text: str, new_race: bool) -> None:
        if self.closed:
            return
        self.seq += 1
        if self.lost or len(self.queue) >= MAX_QUEUE:
            self.queue.clear()  # the history has them; written anew when Redis is back
            self.lost = True
        else:
            self.queue.append((self.seq, text, new_race))
        self.wake.set()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.counts.close()
        self.broker.dropped(self)
        if self._task is not None:
            self._task.cancel()
        self.broker.background(self._end())

    async def _end(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            if not self.lost:
                await self._flush()
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(key(self.code), key(self.code, ":history"), key(self.code, ":viewers"))
            pipe.publish(key(self.code, ":live"), item(self.seq + 1, "!closed " + ENDED))
            await pipe.execute()
        except FAULTS:  # Redis is gone: the room expires there by itself
            return

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        polled = answered = refreshed = loop.time()
        while True:
            try:
                if self.lost:
                    await self.write_all(resync=True)
                    self.lost = False
                    log.info("room %s: Redis is back; room and history written anew", self.code)
                    self.presenter.reply({**self.info(), "status": "live"})
                answers_every = ANSWERS_POLL if self.presenter.asking else POLL
                try:
                    async with asyncio.timeout(answers_every):
                        await self.wake.wait()
                except TimeoutError:
                    pass
                self.wake.clear()
                await self._flush()
                now = loop.time()
                if now - polled >= POLL:
                    polled = now
                    self.counts.changed(await count_viewers(self.redis, self.code))
                if now - answered >= answers_every:
                    answered = now
                    await self._answers()
                if now - refreshed >= REFRESH:
                    refreshed = now
                    await self._refresh()
            except FAULTS as exc:
                await self.broker.forget_connections()
                if not self.lost:
                    log.warning("room %s: Redis failed (%s); retrying", self.code, exc)
                    self.lost = True
                    self.queue.clear()
                    message = "The server lost its Redis; viewers wait, the race goes on."
                    self.presenter.reply(
                        {**self.info(), "status": "reconnecting", "message": message}
                    )
                await asyncio.sleep(RETRY)

    async def _answers(self) -> None:
        """Hand the viewers' answers that arrived since the last call to the presenter."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.lrange(key(self.code, ":answers"), 0, -1)
        pipe.delete(key(self.code, ":answers"))
        raw, _ = await pipe.execute()
        for item_ in raw:
            try:
                answer = orjson.loads(item_)
                self.presenter.answer(str(answer["viewer"]), answer["value"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue

    async def _flush(self) -> None:
        batch, self.queue = self.queue, []
        if not batch:
            return
        history = key(self.code, ":history")
        pipe = self.redis.pipeline(transaction=True)
        history_items = (
            self.presenter.history.encoded() if not self.presenter.history.truncated else None
        )
        rewrite = history_items is not None and (
            any(new for _, _, new in batch) or self.in_redis + len(batch) > COMPACT_AT
        )
        if rewrite and history_items is not None:
            pipe.delete(history)
            if history_items:
                pipe.rpush(history, *[item(self.seq, t) for t in history_items])
            self.in_redis = len(history_items)
        else:
            pipe.rpush(history, *[item(seq, text) for seq, text, _ in batch])
            pipe.ltrim(history, -COMPACT_AT * 4, -1)
            self.in_redis += len(batch)
        for seq, text, _ in batch:
            pipe.publish(key(self.code, ":live"), item(seq, text))
        pipe.expire(history, ROOM_TTL)
        await pipe.execute()

    async def write_all(self, resync: bool) -> None:
        """The room and its whole history, written anew (at opening; after Redis was lost)."""
        if resync:
            self.epoch = uuid.uuid4().hex[:12]
        self.queue.clear()  # all of it is in the history
        items = self.presenter.history.encoded()
        history = key(self.code, ":history")
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key(self.code), self.record(), ex=ROOM_TTL)
        pipe.delete(history)
        if items:
            pipe.rpush(history, *[item(self.seq, t) for t in items])
            pipe.expire(history, ROOM_TTL)
        if resync:
            pipe.publish(key(self.code, ":live"), item(self.seq, "!resync " + self.epoch))
        await pipe.execute()
        self.in_redis = len(items)

    async def _refresh(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(key(self.code), self.record(), ex=ROOM_TTL)
        pipe.expire(key(self.code, ":history"), ROOM_TTL)
        pipe.expire(key(self.code, ":viewers"), ROOM_TTL)
        await pipe.execute()
