"""The question phase of ``bench/room_bench.py``: the presenter asks while the room streams.

At the start of the window the presenter asks a ``point`` question; each viewer answers once at a
random moment within ``--answer-within`` seconds of receiving it (``bench/room_load.py``). The
presenter records every ``answers`` tally it gets. Targets: the last tally counts every answer the
viewers sent, and while the answers arrive the presenter's tally updates at least 4 times a second
(the frame delay target is the other phases').
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

ASK = '{"type": "ask", "kind": "point", "prompt": "Where will Adam end?"}'
TARGET_RATE = 4.0  # tallies per second while answers arrive


@dataclass
class AnswerFigures:
    answered: int  # answers the viewers sent
    counted: int  # the count of the presenter's last tally
    rate: float  # tallies per second within the answering span
    gap: float  # the longest time between two tallies within it, s

    @property
    def ok(self) -> bool:
        return self.counted == self.answered and self.rate >= TARGET_RATE


def figures(
    tallies: list[tuple[float, int]], asked_at: float, within: float, answered: int
) -> AnswerFigures:
    """``tallies``: (receive time, count) of every tally the presenter got, in order."""
    times = [t for t, _ in tallies if asked_at < t <= asked_at + within]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return AnswerFigures(
        answered=answered,
        counted=tallies[-1][1] if tallies else 0,
        rate=len(times) / within,
        gap=max(gaps, default=float("inf")),
    )


def report(name: str, f: AnswerFigures, within: float) -> None:
    print(
        f"target {name}: answers within {within:g} s: {f.counted} of {f.answered} counted; "
        f"the presenter's tally {f.rate:.2f}/s (longest gap {f.gap * 1e3:.0f} ms) "
        f">= {TARGET_RATE:g}/s: {'PASS' if f.ok else 'FAIL'}"
    )
