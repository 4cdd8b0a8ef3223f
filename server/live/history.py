"""Everything a room's viewer needs to see the current race from step 0, kept compactly.

A session records each public message it sends (the race's description, acks, status, events,
frames) from the ``start`` or ``reset`` that began the race, whether or not a room is open: a
room opened after 500 steps still shows its viewers the whole path. Frames are not kept as text
(about 80 bytes a point) but as numbers: consecutive frames merge into one segment whose columns
grow in place (32 bytes a point on a surface), and :meth:`PathHistory.encoded` writes each
segment as one frame whose points are exactly those of the frames it merged, in order. Closed
segments are encoded once and cached.

The history is bounded (``limit`` bytes): a race that outgrows it stops being recorded and is
marked ``truncated``; a room opened later shows it from that point on.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from server.jsonenc import dumps_text

SEGMENT_STEPS = 2048  # a segment closes once a run has this many points (bounds re-encoding)
MERGE_EVERY = 64  # frames wait this long to be merged, together


class _Column:
    """One growing float64 column (or block of columns) of a run's points."""

    __slots__ = ("data", "size")

    def __init__(self, first: np.ndarray) -> None:
        self.data = np.empty((max(16, 2 * len(first)), *first.shape[1:]), dtype=np.float64)
        self.data[: len(first)] = first
        self.size = len(first)

    def extend(self, values: np.ndarray) -> bool:
        if values.shape[1:] != self.data.shape[1:]:
            return False
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty((2 * end, *self.data.shape[1:]), dtype=np.float64)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end
        return True

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def values(self) -> np.ndarray:
        return self.data[: self.size]


class _Segment:
    """Consecutive frames merged: per run, the first step and one column per key."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[int, dict[str, _Column]]] = {}
        self.points = 0  # the most points any run holds here
        self.nbytes = 0
        self.closed = False  # takes no more frames (a message followed, or it is long enough)
        self._next: dict[str, tuple[int, tuple[str, ...]]] = {}  # run -> next step, its keys

    def take(self, frames: Sequence[Mapping[str, Mapping[str, Any]]]) -> bool:
        """Merge ``frames`` (consecutive, in order) if each continues this segment (its runs'
        steps follow on, with the same keys); False, and nothing taken, if one does not."""
        by_run: dict[str, list[Mapping[str, Any]]] = {}
        for runs in frames:
            for run, part in runs.items():
                by_run.setdefault(run, []).append(part)
        joins = []
        for run, parts in by_run.items():
            keys = tuple(parts[0])
            if len(keys) < 2 or any(tuple(p) != keys for p in parts):
                return False
            data = keys[1] if keys[0] == "step" else keys[0]
            steps = [p.get("step") for p in parts]
            if not all(type(step) is int for step in steps):
                return False
            ends = list(map(operator.add, steps, (len(p[data]) for p in parts)))
            if steps[1:] != ends[:-1] or self._next.get(run, (steps[0], keys)) != (steps[0], keys):
                return False
            joins.append((run, parts, keys, ends[-1]))
        for run, parts, keys, end in joins:
            self._next[run] = (end, keys)
            merged = {k: _joined([p[k] for p in parts]) for k in keys if k != "step"}
            mine = self.runs.get(run)
            if mine is None:
                mine = self.runs[run] = (
                    parts[0]["step"],
                    {k: _Column(a) for k, a in merged.items()},
                )
            else:
                for k, a in merged.items():
                    mine[1][k].extend(a)
            self.points = max(self.points, end - mine[0])
        self.nbytes = sum(c.nbytes for _, cols in self.runs.values() for c in cols.values())
        return True

    def encode(self) -> str:
        runs = {
            run: {"step": first, **{key: col.values() for key, col in cols.items()}}
            for run, (first, cols) in self.runs.items()
        }
        return dumps_text({"type": "frame", "runs": runs})


def _joined(values: list[Any]) -> np.ndarray:
    """One float64 array of consecutive frames' values of one key (arrays, tuples or rows)."""
    if isinstance(values[0], np.ndarray):
        return np.concatenate(values).astype(np.float64, copy=False)
    return np.array(list(chain.from_iterable(values)), dtype=np.float64)


class PathHistory:
    """The public messages of the current race, frames merged (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: list[str | _Segment] = []
        self._cache: dict[int, str] = {}  # index of a closed segment -> its encoding
        self._bytes = 0
        self._truncated = False
        self._waiting: list[tuple[Mapping[str, Mapping[str, Any]], str]] = []  # frames, unmerged

    def clear(self) -> None:
        """A new race begins (its ``race`` message of a start or a reset comes next)."""
        self._items, self._cache, self._bytes, self._waiting = [], {}, 0, []
        self._truncated = False

    def add_text(self, text: str) -> None:
        self._settle()
        if self._truncated or self._full(len(text)):
            return
        self._close()
        self._items.append(text)
        self._bytes += len(text)

    def add_frame(self, runs: Mapping[str, Mapping[str, Any]], text: str) -> None:
        """Record a frame (its ``runs`` as sent, and the text it was sent as)."""
        if not self._truncated:
            self._waiting.append((runs, text))
            if len(self._waiting) >= MERGE_EVERY:
                self._settle()

    @property
    def truncated(self) -> bool:
        self._settle()
        return self._truncated

    @property
    def nbytes(self) -> int:
        self._settle()
        return self._bytes

    def encoded(self) -> list[str]:
        """The history as the messages a late viewer receives, in order."""
        self._settle()
        out: list[str] = []
        for i, item in enumerate(self._items):
            if isinstance(item, str):
                out.append(item)
            elif i in self._cache:
                out.append(self._cache[i])
            else:
                text = item.encode()
                if item.closed:
                    self._cache[i] = text
                out.append(text)
        return out

    def _settle(self) -> None:
        """Merge the waiting frames: all at once when they continue the open segment or start
        one together (the usual case), else one by one."""
        waiting, self._waiting = self._waiting, []
        if not waiting or self._truncated:
            return
        if not self._merge([runs for runs, _ in waiting]):
            for runs, text in waiting:
                if not self._merge([runs]):
                    self.add_text(text)  # not a frame of points: kept as it was sent

    def _merge(self, frames: list[Mapping[str, Mapping[str, Any]]]) -> bool:
        last = self._items[-1] if self._items else None
        if isinstance(last, _Segment) and not last.closed:
            before = last.nbytes
            if last.take(frames):
                self._bytes += last.nbytes - before
                last.closed = last.points >= SEGMENT_STEPS
                self._full(0)
                return True
        segment = _Segment()
        if not segment.take(frames):
            return False
        if not self._full(segment.nbytes):
            self._close()
            self._items.append(segment)
            self._bytes += segment.nbytes
        return True

    def _close(self) -> None:
        """The last segment takes no more frames (a message follows it)."""
        if self._items and isinstance(self._items[-1], _Segment):
            self._items[-1].closed = True

    def _full(self, more: int) -> bool:
        if self._bytes + more <= self.limit:
            return False
        self._truncated = True
        self._items, self._cache, self._bytes, self._waiting = [], {}, 0, []
        return True
