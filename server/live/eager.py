"""Start a coroutine now, in the caller, and give it a task only if it has to wait.

Sending a frame to a client whose socket accepts it never waits, yet a task per send costs more
than the send. :func:`start_eagerly` runs the coroutine up to its first suspension; if it
finishes there (the common case), nothing is scheduled at all. (Python 3.12 calls this an
eager task; this works on 3.11.)
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(
    coro: Coroutine[Any, Any, None], timeout: float, name: str
) -> asyncio.Task[None] | None:
    """Run ``coro`` until it ends or waits; if it waits, finish it in a task within ``timeout``.

    Returns None when it already ended; an exception it raised at once is raised here.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(coro, waiting_on, timeout), name=name)


async def _finish(coro: Coroutine[Any, Any, None], waiting_on: Any, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], waiting_on: Any) -> Generator[Any, Any, None]:
    """Hand the future ``coro`` waits on to the task running us, then relay everything.

    The future still carries the flag that tells a task to wait for it, so the task waits exactly
    as if ``coro`` had yielded it itself; results and exceptions (a cancellation) go back in.
    """
    try:
        while True:
            try:
                value = yield waiting_on
            except BaseException as exc:
                waiting_on = coro.throw(exc)
            else:
                waiting_on = coro.send(value)
    except StopIteration:
        return
