"""Named states and close codes of a live session."""

from __future__ import annotations

import enum


class Clock(enum.StrEnum):
    """The race clock of a session, as reported in ``status`` messages."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    TRY_AGAIN_LATER = 1013
