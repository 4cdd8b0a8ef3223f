"""How a presenter's messages reach a room's viewers: one interface, two implementations.

The session publishes; viewers join. Neither knows where the other is: :class:`InProcessBroker`
(the default, one process) hands each message straight to the room's viewers, and
:class:`server.live.broker_redis.RedisBroker` (``GRADSCAPE_REDIS_URL``) carries it through a
Redis channel to every worker, each fanning it out to its own viewers.

A late joiner gets the current race from step 0: the presenter's :class:`PathHistory` is the
source of truth for it (the Redis broker keeps a copy in Redis for the other workers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol

from server.errors import FieldError
from server.jsonenc import dumps_text
from server.live.history import PathHistory
from server.live.rooms import CountNotifier, LocalRoom, Viewer, ended, new_code
from server.live.state import CloseCode

ENDED = "The presenter ended the room."
_viewer_ids = itertools.count(1)


class Presenter(Protocol):
    """What a broker needs from the presenting session."""

    history: PathHistory

    def reply(self, message: dict[str, Any]) -> None:
        """Send a message to the presenter (a viewer count, the room lost)."""

    def answer(self, viewer: str, value: object) -> None:
        """A viewer answered the room's question (checked against it by the presenter)."""

    @property
    def asking(self) -> bool:
        """A question is open: its answers are wanted soon."""


class Refused(Exception):
    """A viewer cannot join: the close code, its reason, and the message the page shows."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(reason)
        self.code, self.reason, self.message = code, reason, message


class Publication(Protocol):
    """The presenter's side of an open room."""

    code: str
    url: str

    def info(self) -> dict[str, Any]: ...

    def publish(self, text: str, new_race: bool) -> None:
        """Offer one encoded message to every viewer (already recorded in the history);
        ``new_race``: it begins a new race (the history restarted with it)."""

    def close(self) -> None:
        """End the room: every viewer is told, then closed."""


class Broker(Protocol):
    async def start(self) -> None:
        """Connect (the app's startup); never raises: a broker that cannot connect says so
        in the log and to whoever opens or joins a room."""

    async def stop(self) -> None: ...

    async def open(self, presenter: Presenter, base_url: str, code: str | None) -> Publication:
        """A new room (or, with ``code``, that code again if it is free). Raises FieldError."""

    async def join(self, code: str, viewer: Viewer, max_viewers: int) -> list[str]:
        """Add a viewer; returns the messages to send it first (its greeting, then the race
        so far). Raises Refused."""

    def leave(self, code: str, viewer: Viewer) -> None: ...


def room_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/?room={code}"


def no_room(code: str) -> Refused:
    shown = code[:16]
    return Refused(
        CloseCode.POLICY_VIOLATION,
        f"no room {shown!r}: check the code (the room may have ended)",
        f"There is no room {shown}. Check the code; the room may have ended.",
    )


def full_room(code: str, max_viewers: int) -> Refused:
    return Refused(
        CloseCode.TRY_AGAIN_LATER,
        "this room is full",
        f"Room {code} is full ({max_viewers} viewers).",
    )


def code_taken(code: str) -> FieldError:
    return FieldError("code", f"Room code {code} is in use by another room; open a new room.")


class _Room:
    """An in-process room: the presenter's history and this process's viewers."""

    def __init__(self, code: str, url: str, presenter: Presenter, forget: Callable[[], None]):
        self.code = code
        self.url = url
        self.presenter = presenter
        self.local = LocalRoom(code, self._count_changed)
        self.counts = CountNotifier(self._info, presenter.reply)
        self._forget = forget
        self.closed = False

    def info(self) -> dict[str, Any]:
        return self._info(len(self.local.viewers))

    def _info(self, viewers: int) -> dict[str, Any]:
        return {"type": "room", "code": self.code, "url": self.url, "viewers": viewers}

    def publish(self, text: str, new_race: bool) -> None:
        self.local.offer(text)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.counts.close()
        self._forget()
        self.local.end(ENDED)

    def _count_changed(self) -> None:
        self.counts.changed(len(self.local.viewers))


class InProcessBroker:
    """Rooms of one process: a message goes from the presenter to the viewers in one call."""

    def __init__(self) -> None:
        self.by_code: dict[str, _Room] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for room in list(self.by_code.values()):
            room.close()

    async def open(self, presenter: Presenter, base_url: str, code: str | None) -> Publication:
        if code is not None and code in self.by_code:
            raise code_taken(code)
        while code is None or code in self.by_code:
            code = new_code()
        chosen = code
        room = _Room(chosen, room_url(base_url, chosen), presenter, lambda: self._forget(chosen))
        self.by_code[chosen] = room
        return room

    async def join(self, code: str, viewer: Viewer, max_viewers: int) -> list[str]:
        room = self.by_code.get(code.upper())
        if room is None:
            raise no_room(code)
        if len(room.local.viewers) >= max_viewers:
            raise full_room(room.code, max_viewers)
        room.local.add(viewer)
        viewer.key = f"v{next(_viewer_ids)}"
        viewer.on_answer = room.presenter.answer
        greeting = {**room.info(), "role": "viewer"}
        return [dumps_text(greeting), *room.presenter.history.encoded()]

    def leave(self, code: str, viewer: Viewer) -> None:
        room = self.by_code.get(code.upper())
        if room is not None:
            room.local.discard(viewer)

    def _forget(self, code: str) -> None:
        self.by_code.pop(code, None)


__all__ = ["ENDED", "Broker", "InProcessBroker", "Presenter", "Publication", "Refused", "ended"]
