"""The messages to one websocket client, in order, sent without a task per message.

Each message is sent at once, in the caller (:func:`server.live.eager.start_eagerly`), unless a
send before it still waits for the client; then it waits in the queue, and goes out when that send
completes. A send that waits longer than the timeout, or a client that is gone, fails the outbox:
nothing more is sent, and the owner hears of it through ``changed``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from server.live.eager import start_eagerly


class Outbox:
    def __init__(
        self,
        send: Callable[[str], Coroutine[Any, Any, None]],
        timeout: float,
        name: str,
        changed: Callable[[], None],
    ) -> None:
        self._send, self._timeout, self._name, self._changed = send, timeout, name, changed
        self.queue: deque[str] = deque()  # behind the send in progress
        self.sending: asyncio.Task[None] | None = None  # a send waiting for the client
        self.failure: BaseException | None = None  # TimeoutError: the client stopped reading

    @property
    def idle(self) -> bool:
        """Everything put here has been sent (or the outbox failed)."""
        return self.sending is None and (not self.queue or self.failure is not None)

    def put(self, text: str) -> None:
        self.queue.append(text)
        self._pump()

    def _pump(self) -> None:
        while self.sending is None and self.queue and self.failure is None:
            try:
                task = start_eagerly(self._send(self.queue.popleft()), self._timeout, self._name)
            except Exception as exc:  # the client is gone
                self._fail(exc)
                return
            if task is not None:
                self.sending = task
                task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._fail(exc)
        else:
            self._pump()
            self._changed()

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self._changed()
