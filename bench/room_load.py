"""The viewers of ``bench/room_bench.py``: websocket clients in worker processes.

Each viewer records, for every frame it gets, the frame's key (the step of its first run on ours,
its ``seq`` on the bare broadcast) and ``time.monotonic()`` at arrival (CLOCK_MONOTONIC, one
clock for every process of the machine). After the window the parent sends the reference times
of the window's frames; each worker process answers with what share of them each of its viewers
got and how late. With ``answer_within`` > 0, each viewer answers the presenter's question once,
at a random moment within that many seconds of receiving it (a tap near one of two points).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.procs import die_with_parent

CONNECTS_AT_ONCE = 32
READY_TIMEOUT = 120.0
LATE_GRACE = 2.0  # s after the window in which a window's frame still counts as delivered
FRAME = '{"type":"frame"'
ASK = '{"type":"ask","id"'


def frame_key(text: str) -> int:
    """The step of a frame's first run (ours) or its ``seq`` (bare): the first integer field."""
    i = text.find('"step":')
    if i < 0:
        i = text.find('"seq":') - 1
    j = i + 7
    k = j
    while text[k].isdigit():
        k += 1
    return int(text[j:k])


@dataclass
class Track:
    keys: array[int] = field(default_factory=lambda: array("q"))
    times: array[float] = field(default_factory=lambda: array("d"))
    closed: bool = False
    answered: bool = False
    why: str = ""  # how it ended: the server's error message, or the close code and reason


def first_ask(text: str | bytes, answering: asyncio.Task[None] | None) -> bool:
    return answering is None and isinstance(text, str) and text.startswith(ASK)


async def answer(ws: ClientConnection, track: Track, within: float) -> None:
    await asyncio.sleep(random.uniform(0.0, within))
    x, y = random.choice(((1.0, 1.0), (-1.0, 1.5)))
    value = [round(x + random.gauss(0, 0.2), 3), round(y + random.gauss(0, 0.2), 3)]
    await ws.send(f'{{"type":"answer","value":[{value[0]},{value[1]}]}}')
    track.answered = True


async def watch(
    url: str, origin: str, track: Track, gate: asyncio.Semaphore, answer_within: float
) -> None:
    answering: asyncio.Task[None] | None = None
    async with gate:
        ws = await connect(
            url, origin=Origin(origin), compression=None, proxy=None, ping_interval=None,
            open_timeout=60.0, close_timeout=2.0, max_size=2**22,
        )  # fmt: skip
    track.times.append(-1.0)  # connected marker (removed below)
    try:
        async for text in ws:
            if isinstance(text, str) and text.startswith(FRAME):
                track.keys.append(frame_key(text))
                track.times.append(time.monotonic())
            elif isinstance(text, str) and text.startswith('{"type":"error"'):
                track.why = text[:160]
            elif first_ask(text, answering) and answer_within > 0:
                answering = asyncio.create_task(answer(ws, track, answer_within))
        track.why = track.why or f"closed {ws.close_code} {ws.close_reason}"
    except Exception as exc:
        track.why = track.why or f"{type(exc).__name__}: {exc}"[:160]
    finally:
        track.closed = True
        if answering is not None:
            answering.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


def summarize(tracks: list[Track], ref: dict[int, float]) -> tuple[list[float], array[float]]:
    """Per viewer the delivered fraction of the reference frames; all delays pooled."""
    fractions: list[float] = []
    delays = array("d")
    for t in tracks:
        got = 0
        for key, when in zip(t.keys, t.times[1:], strict=True):
            base = ref.get(key)
            if base is not None:
                got += 1
                delays.append(when - base)
        fractions.append(got / max(1, len(ref)))
    return fractions, delays


def worker(url: str, origin: str, n: int, answer_within: float, pipe: Connection) -> None:
    die_with_parent()

    async def run() -> None:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        tracks = [Track() for _ in range(n)]
        tasks = [asyncio.create_task(watch(url, origin, t, gate, answer_within)) for t in tracks]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while sum(len(t.times) > 0 for t in tracks) < n and loop.time() < deadline:
            if any(task.done() and task.exception() for task in tasks):
                break
            await asyncio.sleep(0.1)
        failed = sum(1 for task in tasks if task.done() and task.exception())
        pipe.send(("ready", n - failed))
        ref: dict[int, float] = await loop.run_in_executor(None, pipe.recv)
        await asyncio.sleep(LATE_GRACE)
        cpu = time.process_time()
        fractions, delays = summarize([t for t in tracks if len(t.times) > 0], ref)
        ended = Counter(t.why for t in tracks if t.closed)  # the server closed them, or failed
        answered = sum(t.answered for t in tracks)
        pipe.send(("done", fractions, delays, cpu, ended, answered))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
