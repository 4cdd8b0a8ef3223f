"""One clock for every live session of an event loop.

Thirty times a second the ticker asks each session what its race needs, advances all those races
at once (:func:`server.engine.advance_together`: the runs of every session that use the same
optimizer on the same surface step together as numpy columns), then lets each session send its
frame. A timer and a wake-up per session cost more than the session's work itself; one task
walking a list of sessions costs a function call each. The ticker runs while any session is
registered.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from server.engine import Chunk, Race, Stop, advance_together

log = logging.getLogger("gradscape.ticker")


class Ticking(Protocol):
    def plan(self, now: float) -> tuple[Race, int] | None:
        """The race to advance, and by how many steps, for loop time ``now`` (None: nothing)."""

    def ticked(self, chunks: dict[str, Chunk], stops: list[Stop]) -> None:
        """Send what the planned advance produced."""

    def failed(self) -> None:
        """The planned advance raised (a bug of ours): stop this race."""


class Ticker:
    def __init__(self, frames_per_second: float) -> None:
        self.period = 1.0 / frames_per_second
        self.sessions: dict[Ticking, None] = {}  # ordered: sessions are served oldest first
        self._task: asyncio.Task[None] | None = None

    def add(self, session: Ticking) -> None:
        self.sessions[session] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="gradscape-ticker"
            )

    def discard(self, session: Ticking) -> None:
        self.sessions.pop(session, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while self.sessions:
            delay = next_tick - loop.time()
            await asyncio.sleep(delay if delay > 0 else 0)
            now = loop.time()
            next_tick = max(next_tick + self.period, now)
            self.tick(now)

    def tick(self, now: float) -> None:
        planned: list[tuple[Ticking, tuple[Race, int]]] = []
        for session in list(self.sessions):
            try:
                work = session.plan(now)
            except Exception:  # a bug of ours must not stop every other session's clock
                log.exception("a session's tick failed")
                session.failed()
                continue
            if work is not None:
                planned.append((session, work))
        try:
            results = advance_together([work for _, work in planned])
        except Exception:
            log.exception("advancing the races of a tick failed")
            for session, _ in planned:
                session.failed()
            return
        for (session, _), (chunks, stops) in zip(planned, results, strict=True):
            try:
                session.ticked(chunks, stops)
            except Exception:
                log.exception("a session's tick failed")
                session.failed()


_tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Ticker]] = (
    weakref.WeakKeyDictionary()
)


def ticker_for(frames_per_second: float) -> Ticker:
    """The running loop's ticker at this rate (tests run apps with other rates side by side)."""
    by_rate = _tickers.setdefault(asyncio.get_running_loop(), {})
    if frames_per_second not in by_rate:
        by_rate[frames_per_second] = Ticker(frames_per_second)
    return by_rate[frames_per_second]
