"""The websocket side of the internals overlay: ``{"type": "internals", "on": true}``.

While on, every frame the session sends is followed by ``{"type": "internals", "runs":
{id: {...}}}`` with each running run's optimizer internals at its newest point (see
:mod:`server.inside.internals` and docs/protocol.md). Off by default; private to the session
(a lecture room's viewers and its history never see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import StrictBool

from server.engine import Race
from server.inside.internals import Shadow, supported
from server.jsonenc import dumps_text
from server.schemas import Strict


class InternalsMsg(Strict):
    type: Literal["internals"]
    on: StrictBool


@dataclass(frozen=True)
class Internals:
    on: bool


class _Context(Protocol):
    @property
    def race(self) -> Race | None: ...


def parse(ctx: _Context, msg: dict[str, Any]) -> Internals:
    return Internals(InternalsMsg.model_validate(msg).on)


class InternalsTap:
    """One session's overlay: off, or on with a :class:`Shadow` of its current race."""

    def __init__(self) -> None:
        self.on = False
        self._shadow: Shadow | None = None

    def _shadow_of(self, race: Race | None) -> Shadow | None:
        if race is None or not supported(race):
            self._shadow = None
        elif self._shadow is None or self._shadow.race is not race:
            self._shadow = Shadow(race)
        return self._shadow

    def toggle(self, on: bool, race: Race | None) -> dict[str, Any]:
        """The reply to an ``internals`` message: the current internals when turned on."""
        self.on = on
        if not on:
            self._shadow = None
            return {"type": "internals", "on": False}
        reply: dict[str, Any] = {"type": "internals", "on": True, "runs": {}}
        shadow = self._shadow_of(race)
        if shadow is None:
            reply["note"] = "Internals are drawn for 2D surfaces, formulas and regressions only."
            return reply
        shadow.catch_up()
        reply["runs"] = shadow.describe()
        return reply

    def after_frame(self, race: Race | None) -> str | None:
        """The message to send right after a frame, or None (off, or nothing to show)."""
        if not self.on:
            return None
        shadow = self._shadow_of(race)
        if shadow is None:
            return None
        shadow.catch_up()
        runs = shadow.describe()
        return dumps_text({"type": "internals", "runs": runs}) if runs else None
