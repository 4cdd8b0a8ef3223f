"""Questions in a room: the presenter asks, viewers answer on the room socket, tallies come back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from websockets.asyncio.client import ClientConnection, connect

from .conftest import LiveServer, run_async
from .redis_cluster import Worker
from .test_rooms import START, Msg, until


async def answers(presenter: ClientConnection, count: int) -> Msg:
    return await until(presenter, lambda m: m["type"] == "answers" and m["count"] == count)


def summarizes(summary: dict[str, int]) -> Callable[[Msg], bool]:
    return lambda m: m["type"] == "answers" and m["summary"] == summary


async def join(room_url: str, code: str) -> ClientConnection:
    origin = room_url.replace("ws://", "http://").removesuffix("/ws/room")
    return await connect(f"{room_url}/{code}", additional_headers={"Origin": origin})


async def ask_and_answer(presenter_url: str, viewer_urls: list[str], origin: str) -> None:
    head = {"Origin": origin}
    async with connect(presenter_url, additional_headers=head) as presenter:
        await presenter.send('{"type": "ask", "kind": "run", "prompt": "Which wins?"}')
        error = await until(presenter, lambda m: m["type"] == "error")
        assert "Open a room first" in error["message"]
        await presenter.send('{"type": "room", "action": "open"}')
        info = await until(presenter, lambda m: m["type"] == "room")
        await presenter.send(orjson.dumps({**START, "paused": True}).decode())
        viewers = [await join(url, info["code"]) for url in viewer_urls]
        await presenter.send('{"type": "ask", "kind": "run", "prompt": "Which wins?"}')
        asked = await until(presenter, lambda m: m["type"] == "ask")
        assert asked == {"type": "ask", "id": 1, "kind": "run", "prompt": "Which wins?"}
        for viewer in viewers:
            assert await until(viewer, lambda m: m["type"] == "ask") == asked
        await viewers[0].send('{"type": "answer", "value": "a"}')
        await viewers[1].send('{"type": "answer", "value": "b"}')
        await viewers[2].send('{"type": "answer", "value": "b"}')
        await viewers[2].send('{"type": "answer", "value": 3}')  # not a run id: ignored
        tally = await answers(presenter, 3)
        assert tally["summary"] == {"a": 1, "b": 2}
        await viewers[2].send('{"type": "answer", "value": "a"}')  # changing one's mind
        tally = await until(
            presenter, lambda m: m["type"] == "answers" and m["summary"].get("a") == 2
        )
        assert tally["count"] == 3 and tally["summary"] == {"a": 2, "b": 1}
        await presenter.send('{"type": "ask", "action": "reveal"}')
        for viewer in viewers:
            reveal = await until(
                viewer, lambda m: m["type"] == "ask" and m.get("action") == "reveal"
            )
            assert reveal["summary"] == {"a": 2, "b": 1} and reveal["count"] == 3
        await presenter.send('{"type": "ask", "action": "close"}')
        await until(viewers[0], lambda m: m.get("action") == "close")
        await viewers[0].send('{"type": "answer", "value": "b"}')  # too late: not counted
        await presenter.send('{"type": "ask", "kind": "point", "prompt": "Where does it end?"}')
        asked = await until(viewers[1], lambda m: m["type"] == "ask" and "kind" in m)
        assert asked["id"] == 2 and asked["kind"] == "point"
        await viewers[1].send('{"type": "answer", "value": [3.0, 2.0]}')
        await viewers[0].send('{"type": "answer", "value": [1e999, 2]}')  # not valid JSON
        await viewers[0].send('{"type": "answer", "value": [1, 2, 3]}')  # not a point
        assert (await answers(presenter, 1))["summary"] == {"values": [[3.0, 2.0]]}
        await presenter.send('{"type": "ask", "kind": "diverge", "prompt": "Will b diverge?"}')
        await until(viewers[0], lambda m: m["type"] == "ask" and m.get("kind") == "diverge")
        await viewers[0].send('{"type": "answer", "value": true}')
        await viewers[1].send('{"type": "answer", "value": false}')
        await until(viewers[1], lambda m: m.get("kind") == "diverge")  # viewer 1 saw it too
        done = await answers(presenter, 2)
        assert done["summary"] == {"true": 1, "false": 1}
        # a page that names itself keeps one answer across reconnects: the new answer replaces it
        token = "page-0123456789abcdef"
        for value, summary in ((True, {"true": 2, "false": 1}), (False, {"true": 1, "false": 2})):
            late = await join(viewer_urls[0], info["code"])
            await until(late, lambda m: m["type"] == "ask" and m.get("kind") == "diverge")
            await late.send(
                orjson.dumps({"type": "answer", "value": value, "viewer": token}).decode()
            )
            tally = await until(presenter, summarizes(summary))
            assert tally["count"] == 3
            await late.close()
        for viewer in viewers:
            await viewer.close()
        await asyncio.sleep(0)


def test_questions_in_one_process(live_server: Callable[..., LiveServer]) -> None:
    server = live_server()
    room = f"ws://127.0.0.1:{server.port}/ws/room"
    run_async(lambda: ask_and_answer(server.ws_url, [room] * 3, server.url))


def test_questions_across_workers(workers: Callable[..., list[Worker]]) -> None:
    a, b = workers(2)
    rooms = [f"ws://127.0.0.1:{w.port}/ws/room" for w in (b, b, a)]
    run_async(lambda: ask_and_answer(a.ws_url, rooms, a.url))
