"""The websocket endpoint: check the origin and the session cap, then hand over to a Session."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from server.live.origin import LOOPBACK_NAMES, origin_allowed
from server.live.session import Session
from server.live.state import CloseCode
from server.settings import Settings

router = APIRouter()


@router.websocket("/ws")
async def live(ws: WebSocket) -> None:
    settings: Settings = ws.app.state.settings
    sessions: set[Session] = ws.app.state.sessions
    allowed = origin_allowed(
        ws.headers.get("origin"),
        ws.headers.get("host"),
        secure=ws.url.scheme == "wss",
        allowed=settings.allowed_origins,
        loopback_only=settings.host in LOOPBACK_NAMES,
    )
    if not allowed:
        await ws.close(code=CloseCode.POLICY_VIOLATION)  # before accept: an HTTP 403
        return
    if len(sessions) >= settings.max_sessions:
        await ws.accept()
        await ws.close(CloseCode.TRY_AGAIN_LATER, "server is full; try again in a minute")
        return
    await ws.accept()
    session = Session(ws, settings)
    sessions.add(session)
    try:
        await session.run()
    finally:
        sessions.discard(session)
