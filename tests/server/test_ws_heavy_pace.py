"""A network's training at a high speed keeps its frames coming: each advance is capped to about
a tenth of a second of training at the last pace (server/live/heavypace.py), not to the clock's
100 steps, which on a digits CNN held the next frame back for half a minute."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from server.live.heavypace import BUDGET, HeavyPace

from .conftest import session
from .test_ws_deep import Msg, send, start, until


def test_the_cap_follows_the_last_pace() -> None:
    now = [0.0]
    pace = HeavyPace(lambda: now[0])
    assert pace.cap(100) == 1  # nothing measured yet
    assert pace.cap(0) == 0

    def work() -> str:
        now[0] += 0.5  # 10 steps in half a second
        return "done"

    with ThreadPoolExecutor(1) as own:  # a loop of its own: the suite may be inside one
        assert own.submit(asyncio.run, pace.run(work, 10)).result() == "done"
    assert pace.per_step == 0.05
    assert pace.cap(100) == int(BUDGET / 0.05)
    assert pace.cap(2) == 2
    pace.per_step = 10.0  # a very slow step: still one at a time
    assert pace.cap(100) == 1
    pace.reset()
    assert pace.cap(100) == 1


def test_a_fast_digits_race_sends_small_frames_soon(client: TestClient) -> None:
    network = {"dataset": "digits", "model": "cnn", "batch_size": 64}  # all 1,797 digits
    runs = [{"id": "a", "optimizer": "adam"}, {"id": "b", "optimizer": "sgd"}]
    with session(client) as ws:
        send(ws, start(network, runs, 2000))  # at 2,000 steps a second
        seen: list[Msg] = []
        sizes: list[int] = []
        while len(sizes) < 4:
            frame = until(ws, lambda m: m["type"] == "frame", seen)
            sizes.append(len(frame["runs"]["a"]["train_loss"]))
    # step 0, then the first advance (one step), then what a tenth of a second holds: a full
    # digits step with its metering costs well over 2 ms, so never the clock's 100 steps
    assert sizes[0] == 1 and sizes[1] == 1
    assert max(sizes[2:]) <= BUDGET / 0.002, sizes
