"""One clock for every live session of an event loop.

Thirty times a second the ticker asks each session to advance its race and send the frame. A
timer and a wake-up per session cost more than the session's work itself; one task walking a
list of sessions costs a function call each. The ticker runs while any session is registered.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

log = logging.getLogger("gradscape.ticker")


class Ticking(Protocol):
    def tick(self, now: float) -> None:
        """Advance and send what is due at loop time ``now``; must not raise."""


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
            for session in list(self.sessions):
                try:
                    session.tick(now)
                except Exception:  # a bug of ours must not stop every other session's clock
                    log.exception("a session's tick failed")


_tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, Ticker]] = (
    weakref.WeakKeyDictionary()
)


def ticker_for(frames_per_second: float) -> Ticker:
    """The running loop's ticker at this rate (tests run apps with other rates side by side)."""
    by_rate = _tickers.setdefault(asyncio.get_running_loop(), {})
    if frames_per_second not in by_rate:
        by_rate[frames_per_second] = Ticker(frames_per_second)
    return by_rate[frames_per_second]
