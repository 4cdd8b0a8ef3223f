"""The race clock of one session: its state and its pace, changed only here.

The clock maps loop time to the step the race should have reached: ``origin_step`` at
``origin_time``, then ``steps_per_second``. Every command that pauses, resumes, steps, resets or
changes the speed goes through one method below, so the pacing rule lives in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from server.live.state import Clock


class RaceClock:
    def __init__(self, now: Callable[[], float], frames_per_second: float) -> None:
        self._now = now
        self._frames_per_second = frames_per_second
        self.state = Clock.IDLE
        self.steps_per_second = 60.0
        self._origin_time = 0.0
        self._origin_step = 0

    @property
    def running(self) -> bool:
        return self.state is Clock.RUNNING

    def start(self, steps_per_second: float, paused: bool) -> None:
        """A new race from step 0."""
        self.steps_per_second = steps_per_second
        self.state = Clock.PAUSED if paused else Clock.RUNNING
        self._restart(0)

    def pause(self) -> None:
        if self.state is Clock.RUNNING:
            self.state = Clock.PAUSED

    def resume(self, step: int) -> None:
        if self.state is Clock.PAUSED:
            self.state = Clock.RUNNING
            self._restart(step)

    def reset(self) -> None:
        """The same race again from step 0, paused."""
        self.state = Clock.PAUSED
        self._restart(0)

    def set_speed(self, steps_per_second: float, step: int) -> None:
        self.steps_per_second = steps_per_second
        self._restart(step)

    def finish(self) -> bool:
        """Every run has stopped; True the first time (the session then says so)."""
        if self.state is Clock.DONE:
            return False
        self.state = Clock.DONE
        return True

    def stop(self) -> None:
        """No race any more (it failed)."""
        self.state = Clock.IDLE

    def due(self, step: int, now: float) -> int:
        """Steps to advance at loop time ``now`` for a race at ``step``. A race that fell behind (a stalled
        client, a busy loop) is slowed rather than made to catch up."""
        if self.state is not Clock.RUNNING:
            return 0
        todo = self._origin_step + int((now - self._origin_time) * self.steps_per_second) - step
        cap = max(1, math.ceil(self.steps_per_second / self._frames_per_second * 1.5))
        if todo > cap:
            todo = cap
            self._origin_time = now
            self._origin_step = step + cap
        return max(0, todo)

    def _restart(self, step: int) -> None:
        self._origin_time = self._now()
        self._origin_step = step
