"""Rooms across real worker processes through a real Redis: sharing, restarts, a killed worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from .conftest import run_async
from .redis_cluster import RedisServer, Worker
from .test_rooms import START, Msg, finished, recv, until
from .test_rooms_history import points

RACE = {**START, "max_steps": 400, "steps_per_second": 400}


def origin(worker: Worker) -> dict[str, str]:
    return {"Origin": worker.url}


async def present(worker: Worker, mine: list[Msg], after: int = 20) -> tuple[ClientConnection, str]:
    """A presenter on ``worker`` whose race runs; the room opens after ``after`` steps."""
    presenter = await connect(worker.ws_url, additional_headers=origin(worker))
    await until(presenter, lambda m: m["type"] == "hello")
    await presenter.send(orjson.dumps(RACE).decode())
    await until(presenter, lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] >= after, mine)
    await presenter.send('{"type": "room", "action": "open"}')
    info = await until(presenter, lambda m: m["type"] == "room", mine)
    assert "code" in info, info
    return presenter, str(info["code"])


async def watch(worker: Worker, code: str) -> ClientConnection:
    viewer = await connect(worker.room_url(code), additional_headers=origin(worker))
    greeting = await recv(viewer)
    assert greeting["role"] == "viewer" and greeting["code"] == code, greeting
    return viewer


@pytest.mark.flaky(reruns=2)  # intermittent: docs/testing.md
def test_a_room_on_one_worker_is_watched_from_the_others_with_the_whole_path(
    workers: Callable[..., list[Worker]],
) -> None:
    a, b = workers(2)

    async def go() -> None:
        mine: list[Msg] = []
        presenter, code = await present(a, mine, after=100)
        viewers = [await watch(w, code) for w in (b, b, b, a)]
        seen: list[list[Msg]] = [[] for _ in viewers]
        counts: list[int] = []
        await asyncio.gather(*(until(v, finished, s) for v, s in zip(viewers, seen, strict=True)))
        while not counts or counts[-1] != 4:
            counts.append((await until(presenter, lambda m: m["type"] == "room", mine))["viewers"])
        await until(presenter, finished, mine)
        ours = points(mine)
        assert len(ours["a"]["x"]) == 401
        for theirs in seen:
            assert points(theirs) == ours  # from step 0, every point, through Redis
            assert theirs[0]["type"] == "race" and theirs[0]["of"] == "start"
        await presenter.send('{"type": "room", "action": "close"}')
        for viewer in viewers:
            goodbye = await until(viewer, lambda m: m["type"] == "room" and "closed" in m)
            assert goodbye["message"] == "The presenter ended the room."
        await presenter.close()
        async with connect(b.room_url(code), additional_headers=origin(b)) as late:
            assert (await recv(late))["type"] == "error"  # the code is gone everywhere

    run_async(go)


def test_redis_restarted_mid_lecture_viewers_reconnect_and_get_the_whole_path(
    workers: Callable[..., list[Worker]], redis_server: RedisServer
) -> None:
    a, b = workers(2)

    async def go() -> None:
        mine: list[Msg] = []
        presenter, code = await present(a, mine)
        viewer = await watch(b, code)
        seen: list[Msg] = []
        await until(viewer, lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] > 60, seen)
        redis_server.stop()
        lost = await until(viewer, lambda m: m["type"] == "room", seen)
        assert lost["status"] == "reconnecting" and "reconnecting" in lost["message"]
        told = await until(presenter, lambda m: m["type"] == "room", mine)
        assert told["status"] == "reconnecting"
        step_before = max(m["runs"]["a"]["step"] for m in mine if m["type"] == "frame")
        await asyncio.sleep(1.0)
        redis_server.start()
        back = await until(viewer, lambda m: m["type"] == "room", seen)
        assert back["status"] == "live"
        again: list[Msg] = []
        await until(viewer, finished, again)
        await until(presenter, finished, mine)
        steps = [m["runs"]["a"]["step"] for m in mine if m["type"] == "frame"]
        assert max(steps) > step_before  # the presenter's race went on meanwhile
        assert again[0]["type"] == "race" and again[0]["of"] == "start"
        assert points(again) == points(mine)  # the whole race again, then live to the end
        assert (await until(presenter, lambda m: m["type"] == "room" and "status" in m, mine))[
            "status"
        ] == "live"
        await presenter.close()

    run_async(go)


def test_a_worker_killed_leaves_the_rooms_of_the_others_running(
    workers: Callable[..., list[Worker]],
) -> None:
    a, b, c = workers(3)

    async def go() -> None:
        mine: list[Msg] = []
        presenter, code = await present(a, mine)
        on_b = await watch(b, code)
        on_c = await watch(c, code)
        await until(on_c, lambda m: m["type"] == "frame")
        c.kill()
        seen: list[Msg] = []  # everything on_b received since it joined
        await until(on_b, finished, seen)
        await until(presenter, finished, mine)
        assert points(seen) == points(mine)
        await presenter.close()

    run_async(go)


def test_redis_unreachable_a_clear_log_line_and_error_and_races_unaffected(
    workers: Callable[..., list[Worker]],
) -> None:
    from .conftest import free_port

    (w,) = workers(1, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert "Redis at redis://127.0.0.1" in w.output() and "unreachable" in w.output()

    async def go() -> None:
        async with connect(w.ws_url, additional_headers=origin(w)) as presenter:
            await until(presenter, lambda m: m["type"] == "hello")
            await presenter.send(orjson.dumps({**RACE, "max_steps": 50}).decode())
            await presenter.send('{"type": "room", "action": "open"}')
            error = await until(presenter, lambda m: m["type"] == "error")
            assert error["field"] == "room" and "cannot reach its Redis" in error["message"]
            await until(presenter, finished)  # the race itself runs to its end
        async with connect(w.room_url("ABCDEF"), additional_headers=origin(w)) as viewer:
            error = await recv(viewer)
            assert error["type"] == "error" and "Rooms are unavailable" in error["message"]

    run_async(go)


@pytest.mark.flaky(reruns=2)  # intermittent: docs/testing.md
def test_serve_with_two_workers_shares_one_port_and_its_rooms(
    workers: Callable[..., list[Worker]],
) -> None:
    (w,) = workers(1, "--workers", "2")
    pids = set()
    for _ in range(40):
        body: dict[str, Any] = httpx.get(w.url + "/healthz", headers={"Connection": "close"}).json()
        pids.add(body["worker"])
        assert body["rooms"] == "redis"
        if len(pids) == 2:
            break

    assert len(pids) == 2  # two processes answer on the one port

    async def go() -> None:
        mine: list[Msg] = []
        presenter, code = await present(w, mine)
        viewers = [await watch(w, code) for _ in range(8)]  # spread over both workers
        seen: list[list[Msg]] = [[] for _ in viewers]
        await asyncio.gather(*(until(v, finished, s) for v, s in zip(viewers, seen, strict=True)))
        await until(presenter, finished, mine)
        for theirs in seen:
            assert points(theirs) == points(mine)
        await presenter.close()

    run_async(go)
