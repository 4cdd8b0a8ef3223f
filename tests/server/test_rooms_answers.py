"""A class answering at once: 200 viewers (every answer counted, one per viewer), a viewer that
floods, and a presenter who leaves with a question open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.live.rooms import ANSWER_BURST, ANSWER_RATE

from .conftest import LiveServer, run_async
from .test_rooms import START, Msg, open_room, recv, room_url, until
from .test_rooms_questions import answers

CLASS = 200


async def asked_room(
    server: LiveServer, kind: str, viewers: int
) -> tuple[ClientConnection, list[ClientConnection]]:
    """A presenter with a room, a paused race, `viewers` viewers and an open question."""
    origin = {"Origin": server.url}
    presenter = await connect(server.ws_url, additional_headers=origin)
    info = await open_room(presenter)
    await presenter.send(orjson.dumps({**START, "paused": True}).decode())
    url = room_url(server, info["code"])
    joined = await asyncio.gather(
        *(connect(url, additional_headers=origin) for _ in range(viewers))
    )
    await presenter.send(orjson.dumps({"type": "ask", "kind": kind, "prompt": "?"}).decode())
    for viewer in joined:
        await until(viewer, lambda m: m["type"] == "ask")
    return presenter, joined


def test_two_hundred_viewers_answer_and_every_answer_counts_once(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        presenter, viewers = await asked_room(server, "point", CLASS)
        final = [[float(i), float(-i)] for i in range(CLASS)]

        async def answer(i: int, viewer: ClientConnection) -> None:
            if i % 3 == 0:  # a third change their mind once
                await viewer.send('{"type": "answer", "value": [99, 99]}')
            await viewer.send(orjson.dumps({"type": "answer", "value": final[i]}).decode())

        await asyncio.gather(*(answer(i, v) for i, v in enumerate(viewers)))
        tally = await until(
            presenter,
            lambda m: m["type"] == "answers" and sorted(m["summary"]["values"]) == sorted(final),
        )
        assert tally["count"] == CLASS
        await asyncio.gather(*(v.close() for v in viewers))
        await presenter.close()

    run_async(go)


def test_a_flooding_viewer_counts_once_and_its_flood_is_refused(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        presenter, (flooder, other) = await asked_room(server, "lr", 2)
        began = time.monotonic()
        for lr in range(1, 201):
            await flooder.send(orjson.dumps({"type": "answer", "value": lr}).decode())
        await flooder.send('{"type": "answer", "value": 1, "pad": "' + "x" * 300 + '"}')
        await other.send('{"type": "answer", "value": 0.5}')
        tally = await until(presenter, lambda m: m["type"] == "answers" and m["count"] == 2)
        elapsed = time.monotonic() - began
        counted = [v for v in tally["summary"]["values"] if v != 0.5]
        # the burst, then at most the rate: the rest of the 200 answers were dropped unread
        assert len(counted) == 1 and counted[0] <= ANSWER_BURST + ANSWER_RATE * elapsed + 1
        # the flooder is still in the room, and the room still steps for everyone
        await presenter.send('{"type": "step", "n": 3}')
        for ws in (flooder, other, presenter):
            await until(ws, lambda m: m["type"] == "frame")
        await asyncio.gather(flooder.close(), other.close(), presenter.close())

    run_async(go)


def test_the_presenter_leaving_mid_question_ends_the_room_and_the_server_goes_on(
    live_server: Callable[..., LiveServer],
) -> None:
    server = live_server()

    async def go() -> None:
        presenter, viewers = await asked_room(server, "run", 5)
        await viewers[0].send('{"type": "answer", "value": "a"}')
        await answers(presenter, 1)
        await presenter.close()
        for viewer in viewers:
            goodbye = await until(viewer, lambda m: m["type"] == "room" and "closed" in m)
            assert goodbye["message"] == "The presenter ended the room."
            with pytest.raises(ConnectionClosed):
                for _ in range(100):
                    await viewer.send('{"type": "answer", "value": "b"}')
                    await recv(viewer)
        # a new presenter's room starts its questions afresh
        again, (viewer,) = await asked_room(server, "diverge", 1)
        asked: Msg = await until(again, lambda m: m["type"] == "ask")
        assert asked["id"] == 1
        await viewer.send('{"type": "answer", "value": true}')
        assert (await answers(again, 1))["summary"] == {"true": 1, "false": 0}
        await asyncio.gather(viewer.close(), again.close())

    run_async(go)
    assert server.wait_idle()["sessions"] == 0
