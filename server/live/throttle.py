"""Bursts of changes told at most every ``interval`` seconds: the first at once, the rest
coalesced into one call on the next slot (the presenter's viewer count, a question's tally)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


class Throttle:
    def __init__(self, interval: float, fire: Callable[[], None]) -> None:
        self.interval = interval
        self._fire = fire
        self._slot = -math.inf  # when the last call was due
        self._handle: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        """Something changed: call ``fire`` now, or once on the next slot."""
        if self._handle is not None:
            return
        loop = asyncio.get_running_loop()
        due, now = self._slot + self.interval, loop.time()
        if due <= now:
            self._call(now)
        else:  # on the slot, not after it: a late timer does not push the next call later
            self._handle = loop.call_at(due, self._call, due)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _call(self, slot: float) -> None:
        self._handle = None
        self._slot = slot
        self._fire()
