"""Lecture rooms, the part every broker shares: viewers and the fan-out to them on one worker.

A presenter's public messages reach a room as text encoded once (through a broker,
:mod:`server.live.broker`); the worker's :class:`LocalRoom` offers that same string to each of
its viewers. Each viewer has an :class:`~server.live.outbox.Outbox`: a viewer that keeps up gets
each message sent at once, in the offering call, and only a send that has to wait for the client
gets a task; behind it, messages wait in a bounded queue. One small task per viewer notices the
viewer leaving. Offering never awaits: a viewer whose queue is full, or whose send times out, is
closed on its own, and neither the presenter nor the other viewers wait for it.

The presenter is told the number of viewers at most every ``NOTIFY_INTERVAL`` seconds (the first
change at once, later ones coalesced), always ending on the true count (:class:`CountNotifier`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from typing import Any

import orjson
from starlette.websockets import WebSocket

from server.jsonenc import dumps_text
from server.live.outbox import Outbox
from server.live.questions import MAX_ANSWER_BYTES
from server.live.ratelimit import TokenBucket
from server.live.throttle import Throttle

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a lecture hall
CODE_LENGTH = 6
VIEWER_QUEUE = 256  # messages: about 8 s of frames at 30 per second
ANSWER_RATE, ANSWER_BURST = 2.0, 5  # a viewer's answers per second, and burst
VIEWER_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
"""A page's own name for its viewer, sent with its answers: a reconnected page replaces its
answer instead of adding one (a random token; the first one a connection sends stays its own)."""
NOTIFY_INTERVAL = 0.25  # s between two viewer counts sent to the presenter


class Viewer:
    """One read-only connection: its outbox, bounded, and whether and why it ended."""

    __slots__ = (
        "answered",
        "bucket",
        "ended",
        "gone",
        "key",
        "lagging",
        "limit",
        "on_answer",
        "out",
        "wake",
        "ws",
    )

    def __init__(self, ws: WebSocket, send_timeout: float, limit: int = VIEWER_QUEUE) -> None:
        self.ws = ws
        self.limit = limit
        self.wake = asyncio.Event()
        self.out = Outbox(ws.send_text, send_timeout, "gradscape-viewer-send", self.wake.set)
        self.ended = False  # no more messages will be offered; send what is queued, then stop
        self.lagging = False  # ended because it could not keep up
        self.gone = False  # the viewer disconnected
        self.on_answer: Callable[[str, object], None] | None = None  # set by the broker on joining
        self.key = ""  # whose answer this is: the connection's, set by the broker on joining ...
        self.answered = False  # ... or, named in its first answer, the viewer's across reconnects
        self.bucket = TokenBucket(ANSWER_RATE, ANSWER_BURST)

    def start(self, first: list[str]) -> None:
        """Send these before anything offered later (the greeting and the room's history); the
        queue bound then counts only what comes after them."""
        self.limit += len(first)
        for text in first:
            self.out.put(text)

    def offer(self, text: str) -> None:
        """Queue one message; a full queue ends the viewer as too slow (nothing is buffered)."""
        if self.ended:
            return
        if len(self.out.queue) >= self.limit:
            self.lagging = True
            self.out.queue.clear()
            self.end()
            return
        self.out.put(text)

    def end(self) -> None:
        self.ended = True
        self.wake.set()

    async def serve(self) -> None:
        """Wait while the outbox sends, until the room ends (and all is sent), or the viewer
        leaves or lags (a full queue, or a send that timed out)."""
        watcher = asyncio.create_task(self._watch_input())
        try:
            while not (self.gone or self.lagging or (self.ended and self.out.idle)):
                if self.out.failure is not None:
                    self.lagging = isinstance(self.out.failure, TimeoutError)
                    self.gone = not self.lagging
                    return
                self.wake.clear()
                await self.wake.wait()
        finally:
            tasks = [watcher] if self.out.sending is None else [watcher, self.out.sending]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch_input(self) -> None:
        """Viewers watch: their messages are read (to notice a disconnect); an ``answer`` to
        the room's question goes to the presenter, anything else is ignored."""
        try:
            while (message := await self.ws.receive())["type"] != "websocket.disconnect":
                self._answer(message.get("text"))
        except Exception:  # the connection broke without a disconnect message
            pass
        self.gone = True
        self.end()

    def _answer(self, text: str | None) -> None:
        if not text or len(text) > MAX_ANSWER_BYTES or self.on_answer is None:
            return
        if not self.bucket.take():
            return
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if not (isinstance(msg, dict) and msg.get("type") == "answer" and "value" in msg):
            return
        token = msg.get("viewer")
        if not self.answered and isinstance(token, str) and VIEWER_TOKEN.fullmatch(token):
            self.key = f"t-{token}"
        self.answered = True
        self.on_answer(self.key, msg["value"])


class LocalRoom:
    """One room's viewers on this worker."""

    def __init__(self, code: str, on_count: Callable[[], None] = lambda: None) -> None:
        self.code = code
        self.viewers: set[Viewer] = set()
        self.on_count = on_count

    def offer(self, text: str) -> None:
        for viewer in self.viewers:
            viewer.offer(text)

    def add(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        self.on_count()

    def discard(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.discard(viewer)
            self.on_count()

    def end(self, message: str) -> None:
        """Tell every viewer the room ended; each sends what it has queued, then closes."""
        goodbye = ended(self.code, message)
        for viewer in self.viewers:
            viewer.offer(goodbye)
            viewer.end()


def ended(code: str, message: str) -> str:
    return dumps_text({"type": "room", "code": code, "closed": True, "message": message})


class CountNotifier:
    """Tells the presenter the viewer count: the first change at once, then at most every
    ``NOTIFY_INTERVAL`` seconds, always ending on the true count."""

    def __init__(self, info: Callable[[int], dict[str, Any]], notify: Callable[[Any], None]):
        self._info = info
        self._notify = notify
        self.count = 0
        self._told = 0  # the count the presenter was last told (the open reply says 0)
        self._throttle = Throttle(NOTIFY_INTERVAL, self._tell)
        self.closed = False

    def changed(self, count: int) -> None:
        self.count = count
        if not self.closed:
            self._throttle.poke()

    def close(self) -> None:
        self.closed = True
        self._throttle.cancel()

    def _tell(self) -> None:
        if self.count != self._told:
            self._told = self.count
            self._notify(self._info(self.count))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
