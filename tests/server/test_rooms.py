"""Lecture rooms over a real uvicorn: the race's description, the path so far, then live."""

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
    "runs": [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [0.0, 0.0]},
        {"id": "b", "optimizer": "momentum", "hyper": {"lr": 0.001}, "noise": 0.5},
    ],
    "seed": 7,
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


def finished(m: Msg) -> bool:
    return bool(m["type"] == "status" and m["state"] == "done")


def path(messages: list[Msg], run: str = "a") -> list[float]:
    xs: list[float] = []
    for msg in messages:
        if msg["type"] == "frame" and run in msg["runs"]:
            part = msg["runs"][run]
            assert part["step"] == len(xs)
            xs.extend(part["x"])
    return xs


async def open_room(presenter: ClientConnection) -> Msg:
    await until(presenter, lambda m: m["type"] == "hello")
    await presenter.send('{"type": "room", "action": "open"}')
    return await until(presenter, lambda m: m["type"] == "room")


def room_url(server: LiveServer, code: str) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/room/{code}"


def test_a_late_viewer_gets_the_race_then_the_path_so_far_then_live(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    origin = {"Origin": server.url}

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=origin) as presenter:
            info = await open_room(presenter)
            assert info["viewers"] == 0 and info["url"].endswith(f"/?room={info['code']}")
            mine: list[Msg] = []
            await presenter.send(orjson.dumps(START).decode())
            race = await until(presenter, lambda m: m["type"] == "race", mine)
            await until(
                presenter, lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] > 100, mine
            )
            async with connect(room_url(server, info["code"]), additional_headers=origin) as viewer:
                hello = await recv(viewer)
                assert hello["role"] == "viewer" and hello["code"] == info["code"]
                first = await recv(viewer)
                assert first == race  # the description comes first, as the presenter got it
                assert first["of"] == "start" and first["seed"] == 7
                assert first["problem"] == {"surface": "himmelblau", "params": {}}
                assert [r["id"] for r in first["runs"]] == ["a", "b"]
                assert first["runs"][0]["hyper"] == {"lr": 0.01}
                assert first["runs"][1]["noise"] == 0.5 and first["runs"][1]["start"] is None
                assert first["max_steps"] == 400 and first["steps_per_second"] == 400
                assert (await until(presenter, lambda m: m["type"] == "room", mine))["viewers"] == 1
                theirs: list[Msg] = [first]
                await until(viewer, finished, theirs)
                await until(presenter, finished, mine)
                assert len(path(theirs)) == 401
                assert path(theirs) == path(mine)
                assert path(theirs, "b") == path(mine, "b")
                assert [m["type"] for m in theirs].count("event") == 2
                await presenter.send('{"type": "room", "action": "close"}')
                closed = await until(viewer, lambda m: m["type"] == "room")
                assert closed["closed"] is True and "ended" in closed["message"]
                with pytest.raises(ConnectionClosed) as ended:
                    await recv(viewer)
                assert ended.value.rcvd is not None and ended.value.rcvd.code == 1001

    run_async(go)
    assert server.wait_idle()["sessions"] == 0


def test_a_set_reaches_viewers_and_late_joiners_get_the_current_settings(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    origin = {"Origin": server.url}

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=origin) as presenter:
            info = await open_room(presenter)
            await presenter.send(orjson.dumps({**START, "paused": True}).decode())
            await until(presenter, lambda m: m["type"] == "status")
            url = room_url(server, info["code"])
            async with connect(url, additional_headers=origin) as early:
                await until(early, lambda m: m["type"] == "status")  # history replayed
                await presenter.send('{"type": "step", "n": 5}')
                await presenter.send('{"type": "set", "run": "b", "hyper": {"lr": 0.02}}')
                update = await until(early, lambda m: m["type"] == "race")
                assert update["of"] == "set" and update["run"] == "b"
                assert update["runs"][1]["hyper"] == {"lr": 0.02}
                assert update["runs"][0]["hyper"] == {"lr": 0.01}  # the other run unchanged
                ack = await recv(early)
                assert ack == {"type": "ack", "of": "set", "run": "b", "step": 6}
                await presenter.send('{"type": "speed", "steps_per_second": 90}')
                update = await until(early, lambda m: m["type"] == "race")
                assert update["of"] == "speed" and update["steps_per_second"] == 90
                assert update["runs"][1]["hyper"] == {"lr": 0.02}
                ack = await recv(early)
                assert ack == {"type": "ack", "of": "speed", "steps_per_second": 90}
            async with connect(url, additional_headers=origin) as late:
                seen: list[Msg] = []
                await until(late, lambda m: m.get("of") == "speed" and m["type"] == "ack", seen)
                races = [m for m in seen if m["type"] == "race"]
                assert [r["of"] for r in races] == ["start", "set", "speed"]
                assert races[-1]["runs"][1]["hyper"] == {"lr": 0.02}
                assert len(path(seen)) == 6  # steps 0..5 before the set
            await presenter.send('{"type": "reset"}')
            await until(presenter, lambda m: m["type"] == "ack" and m["of"] == "reset")
            async with connect(url, additional_headers=origin) as after_reset:
                seen = []
                await until(after_reset, lambda m: m["type"] == "status", seen)
                kinds = [m["type"] for m in seen]
                assert kinds[:3] == ["room", "race", "ack"]  # the history starts at the reset
                assert seen[1]["of"] == "reset" and seen[1]["runs"][1]["hyper"] == {"lr": 0.02}
                assert len(path(seen)) == 1

    run_async(go)


def test_the_presenter_sees_the_count_coalesced_and_leaving_ends_the_room(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()
    origin = {"Origin": server.url}
    joins = 40

    async def go() -> None:
        presenter = await connect(server.ws_url, additional_headers=origin)
        info = await open_room(presenter)
        url = room_url(server, info["code"])
        viewers = await asyncio.gather(
            *(connect(url, additional_headers=origin) for _ in range(joins))
        )
        counts: list[int] = []
        while not counts or counts[-1] != joins:
            msg = await until(presenter, lambda m: m["type"] == "room")
            counts.append(msg["viewers"])
        assert len(counts) < joins  # coalesced, and the last count is the true one
        await viewers[0].close()
        assert (await until(presenter, lambda m: m["type"] == "room"))["viewers"] == joins - 1
        await presenter.close()  # the presenter leaves: the room ends for everyone
        for viewer in viewers[1:]:
            goodbye = await until(viewer, lambda m: m["type"] == "room" and "closed" in m)
            assert goodbye["message"] == "The presenter ended the room."
            with pytest.raises(ConnectionClosed):
                await recv(viewer)
        async with connect(url, additional_headers=origin) as again:
            assert (await recv(again))["type"] == "error"  # the code is gone with the room

    run_async(go)
    assert server.wait_idle()["sessions"] == 0


def test_unknown_room_and_foreign_origin_are_refused(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        url = f"ws://127.0.0.1:{server.port}/ws/room/NOSUCH"
        async with connect(url, additional_headers={"Origin": server.url}) as ws:
            error = await recv(ws)
            assert error["type"] == "error" and error["field"] == "room"
            assert "no room NOSUCH" in error["message"]
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws)
            assert info.value.rcvd is not None and "no room" in info.value.rcvd.reason
            assert info.value.rcvd.code == 1008
        with pytest.raises(Exception, match="403"):
            async with connect(url, additional_headers={"Origin": "http://evil.example"}):
                pass

    run_async(go)


def test_a_full_room_refuses_with_a_message(live_server: Callable[..., LiveServer]) -> None:
    server = live_server(max_viewers=1)
    origin = {"Origin": server.url}

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=origin) as presenter:
            info = await open_room(presenter)
            url = room_url(server, info["code"])
            async with connect(url, additional_headers=origin) as first:
                assert (await recv(first))["role"] == "viewer"
                async with connect(url, additional_headers=origin) as second:
                    error = await recv(second)
                    assert error["type"] == "error" and "full" in error["message"]
                    with pytest.raises(ConnectionClosed) as closed:
                        await recv(second)
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

    run_async(go)
