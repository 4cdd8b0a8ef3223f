"""What the Redis broker's parts share: the keys, the message framing, the timings, the host.

See :mod:`server.live.broker_redis` for the design.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.jsonenc import dumps_text

ROOM_TTL = 30  # s without a refresh from the presenter's worker before a room expires
REFRESH = 5.0  # s between two refreshes of what a worker wrote
COUNT_TTL = 3 * REFRESH  # s after which a worker's viewer count no longer counts
GRACE = 10.0  # s a worker's viewers wait for a room that went missing to come back
POLL = 0.5  # s between two reads of the viewer count by the presenter's worker
ANSWERS_POLL = 0.1  # s between two reads of the answers while a question is open (tally: 0.2 s)
RETRY = 1.0  # s between two attempts to reach a lost Redis
COMPACT_AT = 2_000  # messages appended to the history in Redis before it is rewritten merged
MAX_QUEUE = 4_096  # messages waiting for Redis; beyond that, a full rewrite when it is back
FAULTS = (RedisError, OSError, TimeoutError)
log = logging.getLogger("gradscape.rooms")


class Host(Protocol):
    """The worker's broker, as its rooms see it."""

    redis: Redis
    worker: str

    async def forget_connections(self) -> None: ...

    def background(self, work: Coroutine[Any, Any, None]) -> None: ...

    def dropped(self, part: object) -> None:
        """A publication closed, or a mirror ended: forget it."""


def key(code: str, part: str = "") -> str:
    return f"gradscape:room:{code}{part}"


def item(seq: int, text: str) -> str:
    return f"{seq} {text}"


def parse(raw: bytes | str) -> tuple[int, str]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    seq, _, body = text.partition(" ")
    return int(seq), body


def shown(url: str) -> str:
    """The Redis address without its password, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"


def status(code: str, status: str, message: str) -> str:
    return dumps_text({"type": "room", "code": code, "status": status, "message": message})


async def count_viewers(redis: Redis, code: str) -> int:
    """The room's viewers on every worker that wrote its count recently."""
    counts = await redis.hgetall(key(code, ":viewers"))
    now = time.time()
    total = 0
    for value in counts.values():
        n, _, at = (value.decode() if isinstance(value, bytes) else value).partition(" ")
        if now - float(at or 0) < COUNT_TTL:
            total += int(n)
    return total
