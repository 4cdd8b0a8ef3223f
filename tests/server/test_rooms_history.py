"""A room opened mid-race shows its viewers the whole race: from step 0, then every frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from .conftest import LiveServer, run_async
from .test_rooms import START, Msg, finished, recv, room_url, until

KEYS = ("x", "y", "loss", "gnorm")


def points(messages: list[Msg]) -> dict[str, dict[str, list[Any]]]:
    """Every run's points, key by key, checking that each frame continues the last."""
    out: dict[str, dict[str, list[Any]]] = {}
    for msg in messages:
        if msg["type"] != "frame":
            continue
        for run, part in msg["runs"].items():
            mine = out.setdefault(run, {k: [] for k in KEYS})
            assert part["step"] == len(mine["x"]), (run, part["step"], len(mine["x"]))
            for k in KEYS:
                mine[k].extend(part[k])
    return out


@pytest.mark.parametrize("after", [0, 1, 500])
def test_a_viewer_sees_the_race_from_step_0_whenever_the_room_opened(
    live_server: Callable[..., LiveServer], after: int
) -> None:
    server = live_server()
    origin = {"Origin": server.url}
    start = {**START, "max_steps": 700, "steps_per_second": 1500, "paused": after < 2}

    async def go() -> None:
        async with connect(server.ws_url, additional_headers=origin) as presenter:
            await until(presenter, lambda m: m["type"] == "hello")
            mine: list[Msg] = []
            await presenter.send(orjson.dumps(start).decode())
            await until(presenter, lambda m: m["type"] == "status", mine)
            await presenter.send('{"type": "set", "run": "b", "hyper": {"lr": 0.002}}')
            await until(presenter, lambda m: m["type"] == "ack" and m["of"] == "set", mine)
            if after == 1:
                await presenter.send('{"type": "step", "n": 1}')
                await until(presenter, lambda m: m["type"] == "status" and m["step"] == 1, mine)
            elif after > 1:
                await until(
                    presenter,
                    lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] >= after,
                    mine,
                )
            await presenter.send('{"type": "room", "action": "open"}')
            info = await until(presenter, lambda m: m["type"] == "room", mine)
            async with connect(room_url(server, info["code"]), additional_headers=origin) as v:
                greeting = await recv(v)
                assert greeting["role"] == "viewer"
                race = await recv(v)
                assert race["type"] == "race" and race["of"] == "start" and race["step"] == 0
                assert race["runs"][1]["hyper"] == {"lr": 0.001}
                theirs: list[Msg] = [race]
                if after < 2:
                    await presenter.send('{"type": "resume"}')
                await until(v, finished, theirs)
                await until(presenter, finished, mine)
        ours, seen = points(mine), points(theirs)
        assert len(ours["a"]["x"]) == 701
        assert seen == ours  # every point of every run, bit for bit, from step 0
        sets = [m for m in theirs if m["type"] == "race" and m["of"] == "set"]
        assert len(sets) == 1 and sets[0]["runs"][1]["hyper"] == {"lr": 0.002}
        acks = [m for m in theirs if m["type"] == "ack" and m["of"] == "set"]
        assert acks == [m for m in mine if m["type"] == "ack" and m["of"] == "set"]
        events = [m for m in mine if m["type"] == "event"]
        assert events and [m for m in theirs if m["type"] == "event"] == events
        if after > 1:  # the path so far came merged into few frames, not one per tick
            frames_before_live = sum(m["type"] == "frame" for m in theirs[:4])
            assert frames_before_live >= 1

    run_async(go)
