"""A worker's mirror of a room hands a joining viewer exactly the messages after its history.

The history is read on one Redis connection and the live messages come on another, so the
history's answer can arrive after newer live messages were already offered to the worker's
other viewers (seen in CI as a viewer's frames jumping from step 131 to 145).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, cast

from server.live.broker_redis_common import Host
from server.live.broker_redis_mirror import RECENT, Mirror
from server.live.rooms import Viewer


class Broker:
    redis: Any = None
    worker = "w1"

    async def forget_connections(self) -> None:
        raise AssertionError("no Redis here")

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        work.close()

    def dropped(self, part: object) -> None:
        pass


class Seen:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def offer(self, text: str) -> None:
        self.texts.append(text)


def mirror_after(live: range) -> Mirror:
    mirror = Mirror(cast(Host, Broker()), "ABCD")
    for seq in live:
        mirror._offer(seq, f"m{seq}")
    return mirror


def join(mirror: Mirror, last: int) -> tuple[list[str] | None, Seen]:
    viewer = Seen()
    return mirror.add(cast(Viewer, viewer), last), viewer


def test_a_history_older_than_the_live_messages_gets_the_missing_ones() -> None:
    mirror = mirror_after(range(1, 11))
    missed, viewer = join(mirror, last=7)  # its history ends at message 7; 8-10 were offered
    assert missed == ["m8", "m9", "m10"]
    mirror._offer(11, "m11")
    assert viewer.texts == ["m11"]


def test_a_history_newer_than_the_live_messages_skips_what_it_holds() -> None:
    mirror = mirror_after(range(1, 6))
    missed, viewer = join(mirror, last=8)  # messages 6-8 are in its history, not yet live here
    assert missed == []
    for seq in range(6, 10):
        mirror._offer(seq, f"m{seq}")
    assert viewer.texts == ["m9"]


def test_the_same_point_needs_nothing() -> None:
    mirror = mirror_after(range(1, 6))
    missed, viewer = join(mirror, last=5)
    assert missed == []
    mirror._offer(6, "m6")
    assert viewer.texts == ["m6"]


def test_a_history_older_than_what_is_kept_is_read_again() -> None:
    mirror = mirror_after(range(1, RECENT + 11))
    missed, viewer = join(mirror, last=5)  # 6-10 are no longer kept: not added
    assert missed is None
    mirror._offer(RECENT + 11, "new")
    assert viewer.texts == []
    kept = [f"m{seq}" for seq in range(12, RECENT + 11)] + ["new"]
    assert join(mirror, last=11)[0] == kept  # read again: 12 on are kept
