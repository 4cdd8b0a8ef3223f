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

from collections.abc import Mapping
from itertools import chain
from typing import Any

import numpy as np

from server.jsonenc import dumps_text

SEGMENT_STEPS = 2048  # a segment closes after this many points of one run (bounds re-encoding)
MERGE_EVERY = 64  # frames


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
    """Consecutive frames merged: per run, the first step and one column per key.

    Frames wait as they came (a list append) and are merged into the columns every
    ``MERGE_EVERY`` frames, so recording costs a streaming session almost nothing per frame."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[int, dict[str, _Column]]] = {}
        self.points = 0  # the most points any run holds here
        self.closed = False  # takes no more frames (a message followed, or it is long enough)
        self._pending: list[Mapping[str, Mapping[str, Any]]] = []
        self._next: dict[str, tuple[int, tuple[str, ...]]] = {}  # run -> next step, its keys
        self._first: dict[str, int] = {}  # run -> its first step here
        self._pending_bytes = 0
        self._merged_bytes = 0

    def add(self, runs: Mapping[str, Mapping[str, Any]]) -> bool:
        """Take one frame's ``runs``; False (nothing taken) if it does not continue this
        segment (a gap in steps, other keys)."""
        nexts, firsts = self._next, self._first
        moved = []
        for run, part in runs.items():
            step = part.get("step")
            keys = tuple(part)
            if type(step) is not int or len(keys) < 2:
                return False
            expected = nexts.get(run)
            if expected is not None and (expected[0] != step or expected[1] != keys):
                return False
            moved.append((run, step, len(part[keys[1] if keys[0] == "step" else keys[0]]), keys))
        points, added = self.points, 0
        for run, step, n, keys in moved:
            nexts[run] = (step + n, keys)
            points = max(points, step + n - firsts.setdefault(run, step))
            added += n * (len(keys) - 1)
        self.points = points
        self._pending_bytes += 8 * added
        self._pending.append(runs)
        if len(self._pending) >= MERGE_EVERY:
            self._merge()
        return True

    def _merge(self) -> None:
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending:
            return
        by_run: dict[str, list[Mapping[str, Any]]] = {}
        for frame in pending:
            for run, part in frame.items():
                by_run.setdefault(run, []).append(part)
        for run, parts in by_run.items():
            merged = {k: _joined([p[k] for p in parts]) for k in parts[0] if k != "step"}
            mine = self.runs.get(run)
            if mine is None:
                self.runs[run] = (parts[0]["step"], {k: _Column(a) for k, a in merged.items()})
            else:
                for k, a in merged.items():
                    mine[1][k].extend(a)
        self._merged_bytes = sum(c.nbytes for _, cols in self.runs.values() for c in cols.values())

    @property
    def nbytes(self) -> int:
        return self._merged_bytes + self._pending_bytes

    def encode(self) -> str:
        self._merge()
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
        self.truncated = False
        self.version = 0  # changes with every recorded message

    def clear(self) -> None:
        """A new race begins (its ``race`` message of a start or a reset comes next)."""
        self._items, self._cache, self._bytes = [], {}, 0
        self.truncated = False
        self.version += 1

    def add_text(self, text: str) -> None:
        if self.truncated or self._full(len(text)):
            return
        self._close()
        self._items.append(text)
        self._bytes += len(text)
        self.version += 1

    def add_frame(self, runs: Mapping[str, Mapping[str, Any]], text: str) -> None:
        """Record a frame (its ``runs`` as sent, and the text it was sent as)."""
        if self.truncated:
            return
        last = self._items[-1] if self._items else None
        if isinstance(last, _Segment) and not last.closed:
            before = last.nbytes
            if last.add(runs):
                self._bytes += last.nbytes - before
                self.version += 1
                last.closed = last.points >= SEGMENT_STEPS
                self._full(0)
                return
        segment = _Segment()
        if not segment.add(runs):
            self.add_text(text)
            return
        if self._full(segment.nbytes):
            return
        self._close()
        self._items.append(segment)
        self._bytes += segment.nbytes
        self.version += 1

    @property
    def nbytes(self) -> int:
        return self._bytes

    def encoded(self) -> list[str]:
        """The history as the messages a late viewer receives, in order."""
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

    def _close(self) -> None:
        """The last segment takes no more frames (a message follows it)."""
        if self._items and isinstance(self._items[-1], _Segment):
            self._items[-1].closed = True

    def _full(self, more: int) -> bool:
        if self._bytes + more <= self.limit:
            return False
        self.truncated = True
        self._items, self._cache, self._bytes = [], {}, 0
        self.version += 1
        return True
