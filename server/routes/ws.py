"""The websocket endpoint: check the origin and the session cap, then hand over to a Session."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from server import heap
from server.jsonenc import dumps_text
from server.live.broker import Broker, Refused
from server.live.origin import LOOPBACK_NAMES, origin_allowed
from server.live.rooms import Viewer
from server.live.session import Session
from server.live.state import CloseCode
from server.settings import Settings

router = APIRouter()


def _allowed(ws: WebSocket, settings: Settings) -> bool:
    return origin_allowed(
        ws.headers.get("origin"),
        ws.headers.get("host"),
        secure=ws.url.scheme == "wss",
        allowed=settings.allowed_origins,
        loopback_only=settings.host in LOOPBACK_NAMES,
    )


@router.websocket("/ws")
async def live(ws: WebSocket) -> None:
    settings: Settings = ws.app.state.settings
    sessions: set[Session] = ws.app.state.sessions
    if not _allowed(ws, settings):
        await ws.close(code=CloseCode.POLICY_VIOLATION)  # before accept: an HTTP 403
        return
    if len(sessions) >= settings.max_sessions:
        await ws.accept()
        await ws.close(CloseCode.TRY_AGAIN_LATER, "server is full; try again in a minute")
        return
    await ws.accept()
    session = Session(ws, settings, ws.app.state.broker)
    sessions.add(session)
    try:
        await session.run()
    finally:
        sessions.discard(session)
        heap.session_closed(len(sessions))


@router.websocket("/ws/room/{code}")
async def room_viewer(ws: WebSocket, code: str) -> None:
    """A read-only view of a presenter's race: the path so far, then live frames and events.

    Refusals (no such room, a full room) come as an ``error`` message a page can show, then a
    close whose reason says the same."""
    settings: Settings = ws.app.state.settings
    broker: Broker = ws.app.state.broker
    if not _allowed(ws, settings):
        await ws.close(code=CloseCode.POLICY_VIOLATION)
        return
    await ws.accept()
    viewer = Viewer(ws, settings.send_timeout)
    try:
        first = await broker.join(code, viewer, settings.max_viewers)
    except Refused as refused:
        await _refuse(ws, refused.code, refused.reason, refused.message)
        return
    viewer.start(first)
    try:
        await viewer.serve()
    finally:
        broker.leave(code, viewer)
    if viewer.gone or ws.client_state is not WebSocketState.CONNECTED:
        return
    if viewer.lagging:
        await _close(ws, CloseCode.POLICY_VIOLATION, "too slow to follow the room")
    else:
        await _close(ws, CloseCode.GOING_AWAY, "the presenter ended the room")


async def _refuse(ws: WebSocket, code: int, reason: str, message: str) -> None:
    try:
        async with asyncio.timeout(1.0):
            await ws.send_text(dumps_text({"type": "error", "message": message, "field": "room"}))
    except Exception:  # the viewer is gone already
        return
    await _close(ws, code, reason)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    try:
        async with asyncio.timeout(1.0):
            await ws.close(code, reason)
    except Exception:  # the viewer is gone or stalled; uvicorn drops the transport
        return
