"""Lecture rooms: a presenter's session broadcast to read-only viewers.

The presenter publishes every message its viewers need (the race's description, frames, events,
status, acks) as text encoded once; the room offers that same string to every viewer. A room keeps
the messages since the current race began (its ``race`` message of a ``start`` or ``reset``; up to
``HISTORY_BYTES``), so a viewer who joins late first receives the path so far, then the live stream.

Each viewer has an :class:`~server.live.outbox.Outbox`: a viewer that keeps up gets each message
sent at once, in the publishing call, and only a send that has to wait for the client gets a task;
behind it, messages wait in a bounded queue. One small task per viewer notices the viewer
leaving. Publishing never awaits: a viewer whose queue is full, or whose send times out, is closed
on its own, and neither the presenter nor the other viewers wait for it.

The presenter is told the number of viewers at most every ``NOTIFY_INTERVAL`` seconds (the first
change at once, later ones coalesced), always ending on the true count.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from starlette.websockets import WebSocket

from server.jsonenc import dumps_text
from server.live.outbox import Outbox

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a lecture hall
CODE_LENGTH = 6
HISTORY_BYTES = 16 * 1024 * 1024
VIEWER_QUEUE = 256  # messages: about 8 s of frames at 30 per second
NOTIFY_INTERVAL = 0.25  # s between two viewer counts sent to the presenter


class Viewer:
    """One read-only connection: its outbox, bounded, and whether and why it ended."""

    __slots__ = ("ended", "gone", "lagging", "limit", "out", "wake", "ws")

    def __init__(self, ws: WebSocket, send_timeout: float, limit: int = VIEWER_QUEUE) -> None:
        self.ws = ws
        self.limit = limit
        self.wake = asyncio.Event()
        self.out = Outbox(ws.send_text, send_timeout, "gradscape-viewer-send", self.wake.set)
        self.ended = False  # no more messages will be offered; send what is queued, then stop
        self.lagging = False  # ended because it could not keep up
        self.gone = False  # the viewer disconnected

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
        """Viewers only watch: their messages are read (to notice a disconnect) and ignored."""
        try:
            while (await self.ws.receive())["type"] != "websocket.disconnect":
                pass
        except Exception:  # the connection broke without a disconnect message
            pass
        self.gone = True
        self.end()


class Room:
    """One presenter's broadcast: its viewers, the history of the current race, the count."""

    def __init__(self, code: str, url: str, notify: Callable[[dict[str, object]], None]) -> None:
        self.code = code
        self.url = url
        self.notify = notify
        self.viewers: set[Viewer] = set()
        self.history: list[str] = []
        self.history_bytes = 0
        self.closed = False
        self._told = 0  # the count the presenter was last told (the open reply says 0)
        self._told_at = 0.0
        self._notify_handle: asyncio.TimerHandle | None = None

    def info(self) -> dict[str, object]:
        return {"type": "room", "code": self.code, "url": self.url, "viewers": len(self.viewers)}

    def publish(self, text: str, new_race: bool = False) -> None:
        """Offer one encoded message to every viewer; ``new_race`` starts the history anew."""
        if new_race:
            self.history, self.history_bytes = [], 0
        if self.history_bytes + len(text) <= HISTORY_BYTES:
            self.history.append(text)
            self.history_bytes += len(text)
        for viewer in self.viewers:
            viewer.offer(text)

    def join(self, viewer: Viewer) -> list[str]:
        """Add a viewer; returns the history to send it before the live messages."""
        self.viewers.add(viewer)
        self._count_changed()
        return list(self.history)

    def leave(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.discard(viewer)
            self._count_changed()

    def close(self) -> None:
        """Tell every viewer the room ended; each sends what it has queued, then closes."""
        if self.closed:
            return
        self.closed = True
        if self._notify_handle is not None:
            self._notify_handle.cancel()
            self._notify_handle = None
        goodbye = dumps_text(
            {
                "type": "room",
                "code": self.code,
                "closed": True,
                "message": "The presenter ended the room.",
            }
        )
        for viewer in self.viewers:
            viewer.offer(goodbye)
            viewer.end()

    def _count_changed(self) -> None:
        if self.closed or self._notify_handle is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._told_at + NOTIFY_INTERVAL - loop.time()
        if wait <= 0:
            self._tell_count()
        else:
            self._notify_handle = loop.call_later(wait, self._tell_count)

    def _tell_count(self) -> None:
        self._notify_handle = None
        if self.closed:
            return
        self._told_at = asyncio.get_running_loop().time()
        if len(self.viewers) != self._told:
            self._told = len(self.viewers)
            self.notify(self.info())


class Rooms:
    """The open rooms of one app, by code."""

    def __init__(self) -> None:
        self.by_code: dict[str, Room] = {}

    def open(self, base_url: str, notify: Callable[[dict[str, object]], None]) -> Room:
        code = new_code()
        while code in self.by_code:
            code = new_code()
        room = Room(code, f"{base_url.rstrip('/')}/?room={code}", notify)
        self.by_code[code] = room
        return room

    def close(self, room: Room) -> None:
        room.close()
        self.by_code.pop(room.code, None)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
