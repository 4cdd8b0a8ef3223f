"""Questions in a room: the presenter asks, viewers answer, the presenter sees the tally.

One question at a time per room. Each viewer's latest answer counts (answering again replaces
it); answers that do not fit the question's kind are dropped. The presenter is sent
``{"type": "answers", "count": n, "summary": {...}}`` at most every ``TALLY_INTERVAL`` seconds,
always ending on the true tally: for ``run`` the count per run id, for ``diverge``
``{"true": a, "false": b}``, for ``point`` and ``lr`` the values (``{"values": [...]}``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from server.live.throttle import Throttle

Kind = Literal["point", "run", "diverge", "lr"]
KINDS: tuple[Kind, ...] = ("point", "run", "diverge", "lr")
TALLY_INTERVAL = 0.2  # s: 5 a second, so that a class sees at least 4 (bench/room_bench.py)
MAX_PROMPT = 500
MAX_RUN_ID = 32
MAX_ANSWER_BYTES = 256


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def checked(kind: Kind, value: object) -> Any:
    """The answer as counted, or None if it does not answer a question of this kind."""
    if kind == "point":
        if isinstance(value, list) and len(value) == 2 and all(_finite(v) for v in value):
            return [float(value[0]), float(value[1])]
        return None
    if kind == "run":
        return value if isinstance(value, str) and 0 < len(value) <= MAX_RUN_ID else None
    if kind == "diverge":
        return value if isinstance(value, bool) else None
    if _finite(value) and float(value) > 0:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    return None


class Question:
    def __init__(self, number: int, kind: Kind, prompt: str) -> None:
        self.number, self.kind, self.prompt = number, kind, prompt
        self.answers: dict[str, Any] = {}  # viewer -> its latest answer
        self.open = True

    def message(self) -> dict[str, Any]:
        return {"type": "ask", "id": self.number, "kind": self.kind, "prompt": self.prompt}

    def answer(self, viewer: str, value: object) -> bool:
        value = checked(self.kind, value)
        if not self.open or value is None:
            return False
        self.answers[viewer] = value
        return True

    def summary(self) -> dict[str, Any]:
        values = list(self.answers.values())
        if self.kind == "run":
            counts: dict[str, int] = {}
            for v in values:
                counts[v] = counts.get(v, 0) + 1
            return counts
        if self.kind == "diverge":
            yes = sum(1 for v in values if v)
            return {"true": yes, "false": len(values) - yes}
        return {"values": values}

    def tally(self) -> dict[str, Any]:
        return {
            "type": "answers",
            "id": self.number,
            "count": len(self.answers),
            "summary": self.summary(),
        }


class Tally:
    """Sends the presenter the current question's tally, coalesced."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self._send = send
        self._throttle = Throttle(TALLY_INTERVAL, self._tell)
        self.question: Question | None = None

    def changed(self) -> None:
        self._throttle.poke()

    def close(self) -> None:
        self._throttle.cancel()

    def _tell(self) -> None:
        if self.question is not None:
            self._send(self.question.tally())
