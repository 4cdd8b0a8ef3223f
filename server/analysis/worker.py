"""The analysis's worker process: basin maps, sweeps and tunings computed away from the event
loop that paces the live sessions.

A worker *thread* of the server shares the GIL with the event loop, and takes it back between
its numpy calls, hundreds of times a step. Preempted while holding it (as a niced thread on a
busy 2-core machine often is), it stalls the loop and every session's frames with it: during a
map the p99 frame interval was 189-270 ms, against 78-195 ms without one (load 3.5-6; 275-313
ms with the thread not niced, load 9-10). In this process: 43-46 ms, against 40-41 (load 5.5). One
child process, spawned at first use and niced by ``BACKGROUND_NICENESS``, does the work instead:
it shares no lock with the loop, and the scheduler runs the loop first.

Jobs run one at a time, in order of submission, and answer JSON bytes (encoded in the child).
Each job has a token; :meth:`AnalysisPool.cancel` raises the token's flag in shared memory,
which the job reads every 32 steps (:meth:`server.analysis.batch.Batch.run`) and then ends
with :class:`~server.analysis.batch.Cancelled`. ``outcomes`` counts how jobs ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from server.analysis.basin import basin, basin_rows, plan
from server.analysis.batch import Cancel, Cancelled
from server.analysis.requests import BasinRequest, SweepRequest, TuneRequest
from server.analysis.sweep import sweep
from server.analysis.tune import tune
from server.jsonenc import dumps
from server.priority import BACKGROUND_NICENESS

SLOTS = 64
"""Cancel flags kept at once: token t's flag is slot t % SLOTS, raised when it holds t."""

_flags: Any = None  # in the child: the shared flags


def _start(flags: Any, niceness: int) -> None:
    global _flags
    _flags = flags
    with contextlib.suppress(OSError, AttributeError):
        os.nice(niceness)


def _cancel_of(token: int) -> Cancel:
    flags = _flags
    return lambda: bool(flags[token % SLOTS] == token)


def whole(kind: str, body: str, token: int) -> bytes:
    """In the child: the JSON of a whole basin map, sweep or tuning (``body``: the request's)."""
    cancel = _cancel_of(token)
    if kind == "basin":
        return dumps(basin(BasinRequest.model_validate_json(body), cancel))
    if kind == "sweep":
        return dumps(sweep(SweepRequest.model_validate_json(body), cancel))
    if kind == "tune":
        return dumps(tune(TuneRequest.model_validate_json(body), cancel))
    raise ValueError(f"unknown analysis {kind!r}")


def rows(body: str, i0: int, i1: int, token: int) -> bytes:
    """In the child: one NDJSON line of the streamed map, its grid rows ``i0`` to ``i1``."""
    checked = plan(BasinRequest.model_validate_json(body))
    return dumps(basin_rows(checked, i0, i1, _cancel_of(token))) + b"\n"


class AnalysisPool:
    """The one worker process (started at the first job, again after it died)."""

    def __init__(self, niceness: int = BACKGROUND_NICENESS) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._flags = self._context.RawArray("q", SLOTS)
        self._niceness = niceness
        self._executor: ProcessPoolExecutor | None = None
        self._tokens = itertools.count(1)
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()

    def token(self) -> int:
        with self._lock:
            token = next(self._tokens)
            self._flags[token % SLOTS] = 0
            self._running.add(token)
            return token

    def cancel(self, token: int) -> None:
        """Ask the jobs of ``token`` to stop (those queued stop at their first check)."""
        with self._lock:
            self._flags[token % SLOTS] = token
            self._running.discard(token)

    def release(self, token: int) -> None:
        """``token`` has no job left to run."""
        with self._lock:
            self._running.discard(token)

    def cancel_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for token in running:
            self.cancel(token)

    def _submit(self, fn: Callable[..., bytes], *args: object) -> Future[bytes]:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=self._context,
                    initializer=_start,
                    initargs=(self._flags, self._niceness),
                )
            executor = self._executor
        try:
            return executor.submit(fn, *args)
        except BrokenProcessPool:  # the process died (killed, out of memory): a new one
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            return self._submit(fn, *args)

    async def run(self, token: int, fn: Callable[..., bytes], *args: object) -> bytes:
        """``fn(*args, token)`` in the worker process; raises what it raised (``Cancelled``
        after :meth:`cancel`). If the caller is cancelled, the job is told to stop."""
        future = self._submit(fn, *args, token)
        future.add_done_callback(self._count)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.cancel(token)
            raise

    def _count(self, future: Future[bytes]) -> None:
        if future.cancelled():
            self.outcomes["cancelled"] += 1
            return
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            with self._lock:
                self._executor = None
        kind = (
            "done" if error is None else "cancelled" if isinstance(error, Cancelled) else "failed"
        )
        self.outcomes[kind] += 1

    def idle(self, timeout: float) -> None:
        """Wait until every job submitted so far has ended (for tests and shutdown)."""
        self._submit(_noop, 0).result(timeout=timeout)


def _noop(token: int) -> bytes:
    return b""


POOL = AnalysisPool()


def ended_since(before: Counter[str], timeout: float = 600.0) -> Counter[str]:
    """For tests: how the jobs ended since ``POOL.outcomes`` was ``before``, once at least one
    more has ended and the worker is idle (at most ``timeout`` seconds of waiting)."""
    deadline = time.monotonic() + timeout
    while POOL.outcomes == before and time.monotonic() < deadline:
        time.sleep(0.01)
    POOL.idle(timeout=max(1.0, deadline - time.monotonic()))
    return POOL.outcomes - before
