"""Lecture rooms over a real uvicorn: viewers get the path so far, then the live stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .conftest import LiveServer, run_async

Msg = dict[str, Any]
START: Msg = {
    "type": "start",
    "problem": {"surface": "himmelblau"},
    "runs": [{"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [0.0, 0.0]}],
    "max_steps": 400,
    "steps_per_second": 400,
}


async def recv(ws: ClientConnection) -> Msg:
    msg: Msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    return msg


async def until(
    ws: ClientConnection, done: Callable[[Msg], bool], seen: list[Msg] | None = None
) -> Msg:
    for _ in range(10_000):
        msg = await recv(ws)
        if seen is not None:
            seen.append(msg)
        if done(msg):
            return msg
    raise AssertionError("message never came")


def path(messages: list[Msg]) -> list[float]:
    xs: list[float] = []
    for msg in messages:
        if msg["type"] == "frame" and "a" in msg["runs"]:
            part = msg["runs"]["a"]
            assert part["step"] == len(xs)
            xs.extend(part["x"])
    return xs


def test_viewers_see_the_path_so_far_then_live_and_the_room_closes(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    origin = {"Origin": server.url}

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=origin) as presenter:
            await until(presenter, lambda m: m["type"] == "hello")
            await presenter.send('{"type": "room", "action": "open"}')
            info = await until(presenter, lambda m: m["type"] == "room")
            assert info["viewers"] == 0 and info["url"].endswith(f"/?room={info['code']}")
            mine: list[Msg] = []
            await presenter.send(orjson.dumps(START).decode())
            await until(
                presenter, lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] > 100, mine
            )
            room_url = f"ws://127.0.0.1:{server.port}/ws/room/{info['code']}"
            async with connect(room_url, additional_headers=origin) as viewer:
                hello = await recv(viewer)
                assert hello["role"] == "viewer" and hello["code"] == info["code"]
                assert (await until(presenter, lambda m: m["type"] == "room", mine))["viewers"] == 1
                theirs: list[Msg] = []
                await until(
                    viewer, lambda m: m["type"] == "status" and m["state"] == "done", theirs
                )
                await until(
                    presenter, lambda m: m["type"] == "status" and m["state"] == "done", mine
                )
                assert len(path(theirs)) == 401
                assert path(theirs) == path(mine)
                assert [m["type"] for m in theirs].count("event") == 1
                await presenter.send('{"type": "room", "action": "close"}')
                assert (await until(viewer, lambda m: m["type"] == "room"))["closed"] is True
                with pytest.raises(ConnectionClosed):
                    await recv(viewer)

    run_async(go)
    assert server.wait_idle()["sessions"] == 0


def test_unknown_room_and_foreign_origin_are_refused(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        url = f"ws://127.0.0.1:{server.port}/ws/room/NOSUCH"
        async with connect(url, additional_headers={"Origin": server.url}) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws)
            assert info.value.rcvd is not None and "no room" in info.value.rcvd.reason
        with pytest.raises(Exception, match="403"):
            async with connect(url, additional_headers={"Origin": "http://evil.example"}):
                pass

    run_async(go)
