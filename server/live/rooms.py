"""Lecture rooms: a presenter's session broadcast to read-only viewers.

The presenter publishes every frame, event, status and ack it is sent; a room keeps them since the
last ``start`` (up to ``HISTORY_BYTES``) so a viewer who joins late first receives the path so far.
Each viewer has a bounded queue: one that cannot keep up is closed, never buffered without end.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.jsonenc import dumps_text

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a lecture hall
HISTORY_BYTES = 16 * 1024 * 1024
VIEWER_QUEUE = 512


class Viewer:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=VIEWER_QUEUE)
        self.lagging = False

    def offer(self, text: str | None) -> None:
        """Queue a message (None ends the viewer); a full queue marks it lagging and ends it."""
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.lagging = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def serve(self, history: list[str], send_timeout: float) -> None:
        """Send the history, then live messages, until the room closes or the viewer leaves."""
        receiver = asyncio.create_task(self._drain_input())
        try:
            for text in history:
                await asyncio.wait_for(self.ws.send_text(text), send_timeout)
            while True:
                getter = asyncio.create_task(self.queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver in done:
                    getter.cancel()
                    return
                live = getter.result()
                if live is None:
                    return
                await asyncio.wait_for(self.ws.send_text(live), send_timeout)
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)

    async def _drain_input(self) -> None:
        """Viewers only watch: their messages are read (to notice a disconnect) and ignored."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))


class Room:
    def __init__(self, code: str, url: str, notify: Callable[[dict[str, object]], None]) -> None:
        self.code = code
        self.url = url
        self.notify = notify
        self.viewers: set[Viewer] = set()
        self.history: list[str] = []
        self.history_bytes = 0
        self.closed = False

    def info(self) -> dict[str, object]:
        return {"type": "room", "code": self.code, "url": self.url, "viewers": len(self.viewers)}

    def publish(self, text: str, new_race: bool = False) -> None:
        if new_race:
            self.history, self.history_bytes = [], 0
        if self.history_bytes + len(text) <= HISTORY_BYTES:
            self.history.append(text)
            self.history_bytes += len(text)
        for viewer in list(self.viewers):
            viewer.offer(text)

    def join(self, viewer: Viewer) -> list[str]:
        self.viewers.add(viewer)
        self.notify(self.info())
        return list(self.history)

    def leave(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.discard(viewer)
            if not self.closed:
                self.notify(self.info())

    def close(self) -> None:
        self.closed = True
        goodbye = dumps_text({"type": "room", "code": self.code, "closed": True})
        for viewer in list(self.viewers):
            viewer.offer(goodbye)
            viewer.offer(None)


class Rooms:
    """The open rooms of one app, by code."""

    def __init__(self) -> None:
        self.by_code: dict[str, Room] = {}

    def open(self, base_url: str, notify: Callable[[dict[str, object]], None]) -> Room:
        code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        while code in self.by_code:
            code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        room = Room(code, f"{base_url.rstrip('/')}/?room={code}", notify)
        self.by_code[code] = room
        return room

    def close(self, room: Room) -> None:
        room.close()
        self.by_code.pop(room.code, None)
