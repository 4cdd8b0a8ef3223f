"""Lecture rooms: a presenter's session broadcast to read-only viewers.

The presenter publishes every message its viewers need (the race's description, frames, events,
status, acks) as text encoded once; the room offers that same string to every viewer. A room keeps
the messages since the current race began (its ``race`` message of a ``start`` or ``reset``; up to
``HISTORY_BYTES``), so a viewer who joins late first receives the path so far, then the live stream.

A viewer that is keeping up gets each message sent at once, in the publishing call: the send
starts eagerly (:mod:`server.live.eager`) and only one that has to wait for the client gets a task.
Otherwise messages wait in the viewer's bounded queue for its sender coroutine (the endpoint's
own), each send under a timeout; one small task per viewer notices the viewer leaving. Publishing
never awaits: a viewer whose queue is full, or whose send times out, is closed on its own, and
neither the presenter nor the other viewers wait for it.

The presenter is told the number of viewers at most every ``NOTIFY_INTERVAL`` seconds (the first
change at once, later ones coalesced), always ending on the true count.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket

from server.jsonenc import dumps_text
from server.live.eager import start_eagerly

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a lecture hall
CODE_LENGTH = 6
HISTORY_BYTES = 16 * 1024 * 1024
VIEWER_QUEUE = 256  # messages: about 8 s of frames at 30 per second
NOTIFY_INTERVAL = 0.25  # s between two viewer counts sent to the presenter


class Viewer:
    """One read-only connection: a bounded queue of texts and the loop that sends them."""

    __slots__ = (
        "ended",
        "gone",
        "idle",
        "lagging",
        "limit",
        "pending",
        "send_timeout",
        "sending",
        "wake",
        "ws",
    )

    def __init__(self, ws: WebSocket, send_timeout: float, limit: int = VIEWER_QUEUE) -> None:
        self.ws = ws
        self.send_timeout = send_timeout
        self.limit = limit
        self.idle = False  # the sender waits for messages: one may be sent at once
        self.sending: asyncio.Task[None] | None = None  # a send waiting for the viewer
        self.pending: deque[str] = deque()
        self.wake = asyncio.Event()
        self.ended = False  # no more messages will be offered; send what is queued, then stop
        self.lagging = False  # ended because it could not keep up
        self.gone = False  # the viewer disconnected

    def offer(self, text: str) -> None:
        """Queue one message; a full queue ends the viewer as too slow (nothing is buffered)."""
        if self.ended:
            return
        if self.idle and self.sending is None:
            self._send_now(text)
            return
        if len(self.pending) >= self.limit:
            self.lagging = True
            self.pending.clear()
            self.end()
            return
        self.pending.append(text)
        self.wake.set()

    def end(self) -> None:
        self.ended = True
        self.wake.set()

    def _send_now(self, text: str) -> None:
        try:
            task = start_eagerly(
                self.ws.send_text(text), self.send_timeout, "gradscape-viewer-send"
            )
        except Exception:  # the viewer is gone
            self.gone = True
            self.end()
            return
        if task is not None:
            self.sending = task
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending = None
        if not task.cancelled() and task.exception() is not None:
            self.lagging = True  # the send timed out (or the viewer vanished meanwhile)
            self.end()
        self.wake.set()

    async def serve(self, history: list[str]) -> None:
        """Send the history, then live messages, until the room ends, or the viewer leaves or
        lags. Raises TimeoutError when one send takes longer than ``send_timeout``."""
        watcher = asyncio.create_task(self._watch_input())
        try:
            for text in history:
                if self.gone or self.lagging:
                    return
                async with asyncio.timeout(self.send_timeout):
                    await self.ws.send_text(text)
            while not self.gone and not self.lagging:
                if self.sending is not None or not (self.pending or self.ended):
                    self.idle = self.sending is None
                    self.wake.clear()
                    await self.wake.wait()
                    self.idle = False
                elif self.pending:
                    text = self.pending.popleft()
                    async with asyncio.timeout(self.send_timeout):
                        await self.ws.send_text(text)
                else:
                    return
        except TimeoutError:
            self.lagging = True
            raise
        finally:
            self.idle = False
            tasks = [watcher] if self.sending is None else [watcher, self.sending]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch_input(self) -> None:
        """Viewers only watch: their messages are read (to notice a disconnect) and ignored."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                self.gone = True
                self.end()
                return


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
