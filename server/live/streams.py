"""What a session streams: a race plus the way its points become frames.

A stream buffers what its race produced since the last frame; the session decides when to send.
``heavy`` streams (networks) are advanced in a worker thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from server.analysis.watch import StabilityWatch
from server.engine import Chunk, Race, Stop
from server.optim.schedules import Schedule


class Stream(Protocol):
    race: Race
    heavy: bool

    def restart(self) -> None:
        """Buffer the step-0 points (after a start or a reset)."""

    def advance(self, n: int) -> list[Stop]: ...

    def take_frame(self) -> dict[str, Any] | None:
        """The ``runs`` of a frame with everything new since the last call, or None."""

    def take_messages(self) -> list[dict[str, Any]]:
        """Other messages ready to send (e.g. a network's decision boundary)."""

    def set(
        self,
        run: str,
        hyper: Mapping[str, float] | None,
        schedule: Schedule | None,
        noise: float | None,
    ) -> int: ...

    def reset(self) -> None: ...


class SurfaceStream:
    """Runs on a 2D surface: frames carry x, y, loss and gradient norm per point; ``watch``
    adds ``unstable`` events to them."""

    heavy = False

    def __init__(self, race: Race) -> None:
        self.race = race
        self._pending: dict[str, list[Chunk]] = {}
        self.watch = StabilityWatch(race)

    def restart(self) -> None:
        self._pending = {run: [chunk] for run, chunk in self.race.initial_chunks().items()}
        self.watch.reset()
        self.watch.observe({run: chunks[0] for run, chunks in self._pending.items()})

    def advance(self, n: int) -> list[Stop]:
        chunks, stops = self.race.advance(n)
        self.accept(chunks)
        return stops

    def accept(self, chunks: Mapping[str, Chunk]) -> None:
        """Buffer points the race produced (alone, or advanced with others by the ticker)."""
        for run, chunk in chunks.items():
            self._pending.setdefault(run, []).append(chunk)
        self.watch.observe(chunks)

    def take_frame(self) -> dict[str, Any] | None:
        if not self._pending:
            return None
        runs = {run: surface_points(chunks) for run, chunks in self._pending.items()}
        self._pending = {}
        return runs

    def take_messages(self) -> list[dict[str, Any]]:
        return self.watch.events()

    def set(
        self,
        run: str,
        hyper: Mapping[str, float] | None,
        schedule: Schedule | None,
        noise: float | None,
    ) -> int:
        step = self.race.set(run, hyper=hyper, schedule=schedule, noise=noise)
        self.watch.changed(run)
        return step

    def reset(self) -> None:
        self.race.reset()
        self._pending = {}
        self.watch.reset()


def surface_points(chunks: list[Chunk]) -> dict[str, Any]:
    """One run's part of a frame: sequences of Python floats (orjson writes a list of a few
    floats in half the time of a numpy array)."""
    if len(chunks) == 1:
        x, y, loss, gnorm = chunks[0].columns()
    else:
        params = np.concatenate([c.params for c in chunks])
        x, y, loss, gnorm = (
            params[:, 0],
            params[:, 1],
            np.concatenate([c.loss for c in chunks]),
            np.concatenate([c.gnorm for c in chunks]),
        )
    if isinstance(x, np.ndarray):  # views of a block's arrays
        x, y, loss, gnorm = (np.asarray(a).tolist() for a in (x, y, loss, gnorm))
    return {"step": chunks[0].step, "x": x, "y": y, "loss": loss, "gnorm": gnorm}
