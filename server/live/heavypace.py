"""Heavy streams (a network's training): the one worker thread they run in, and how many steps
one advances at once, so its frames keep coming.

The clock asks for up to one and a half frames' worth of steps per tick: 100 steps at 2,000
steps a second. A digits CNN step with its metering costs 0.1-0.3 s on a busy 2-core machine, so
100 of them held the race's next frame back for half a minute and the page looked frozen. The
pace of the last advance (seconds per step, measured in the worker thread) caps the next one to
about ``BUDGET`` seconds of training; a race's first advance is one step. A ``step`` message is
never capped: its steps are all done, only timed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
BUDGET = 0.15  # seconds of training per advance, so frames come several times a second
# One worker thread for every heavy stream: trainings queue behind each other instead of
# several threads contending with the event loop for the GIL.
HEAVY_WORK = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradscape-heavy")


class HeavyPace:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.per_step: float | None = None  # seconds per step of the last advance

    def reset(self) -> None:
        """A new race: its steps may cost anything."""
        self.per_step = None

    def cap(self, n: int) -> int:
        """At most ``n`` steps, as many as fit in ``BUDGET`` at the last pace (1 before any)."""
        if n <= 0:
            return n
        if self.per_step is None:
            return 1
        return min(n, max(1, int(BUDGET / max(self.per_step, 1e-9))))

    async def run(self, advance: Callable[[], T], n: int) -> T:
        """``advance`` (``n`` steps) in the worker thread, recording its pace."""

        def timed() -> T:
            start = self._clock()
            out = advance()
            self.per_step = (self._clock() - start) / max(1, n)
            return out

        return await asyncio.get_running_loop().run_in_executor(HEAVY_WORK, timed)
