"""What a session says first, and the checks every client message passes before it is parsed:
the rate limit (a flood is closed), the size limit, and JSON without NaN or Infinity."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketState

from server.errors import FieldError, from_validation
from server.live import commands
from server.live.ratelimit import TokenBucket
from server.live.state import CloseCode
from server.settings import Settings


class SessionClosed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def hello(settings: Settings) -> dict[str, Any]:
    return {
        "type": "hello",
        "version": 1,
        "limits": {
            "max_runs": settings.max_runs,
            "max_steps": settings.max_steps,
            "max_steps_per_second": settings.max_steps_per_second,
            "max_message_bytes": settings.max_message_bytes,
            "frames_per_second": settings.frames_per_second,
            "max_step_n": commands.MAX_STEP_N,
            "message_rate": settings.message_rate,
            "message_burst": settings.message_burst,
        },
    }


class Gate:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._bucket = TokenBucket(settings.message_rate, settings.message_burst)
        self._refused = 0  # refusals not yet paid back by accepted messages

    def admit(self, data: bytes) -> tuple[bool, Any]:
        """``(True, message)``, or ``(False, the error to reply)``; the error is None for a
        refusal answered already (only the first of a run of rate refusals is). Raises
        SessionClosed on a flood."""
        settings = self._settings
        if not self._bucket.take():
            self._refused += 1
            if self._refused > settings.flood_close_after:
                raise SessionClosed(CloseCode.POLICY_VIOLATION, "too many messages")
            if self._refused == 1:
                limit = settings.message_rate
                return False, f"Too many messages: slow down (the limit is {limit:g} per second)."
            return False, None
        self._refused = max(0, self._refused - 1)
        if len(data) > settings.max_message_bytes:
            return False, (
                f"Message too large ({len(data)} bytes; the limit is {settings.max_message_bytes})."
            )
        try:
            return True, orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return False, (
                f"Not valid JSON ({exc}). NaN, Infinity and numbers beyond 1e308 are not allowed."
            )


async def close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    """Close unless a side is gone already; a peer that is gone or stalled is left to uvicorn."""
    if WebSocketState.DISCONNECTED in (ws.application_state, ws.client_state):
        return
    try:
        async with asyncio.timeout(1.0):
            await ws.close(code, reason)
    except Exception:
        return


def refusal(exc: FieldError | ValidationError, msg: object) -> dict[str, Any]:
    """The ``error`` reply to a refused message, naming its field (and the run of a ``set``)."""
    err = exc if isinstance(exc, FieldError) else from_validation(exc)
    reply: dict[str, Any] = {"type": "error", **err.to_json()}
    if isinstance(msg, dict) and msg.get("type") == "set" and isinstance(msg.get("run"), str):
        reply["run"] = msg["run"]  # which run's change was refused
    return reply
