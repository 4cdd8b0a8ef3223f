"""start_eagerly: a send that need not wait runs in the caller; one that waits gets a task."""

from __future__ import annotations

import asyncio

import pytest

from server.live.eager import start_eagerly

from .conftest import run_async


class Gate:
    """A coroutine that records its steps and, if asked, waits for an event first."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.open = asyncio.Event()

    async def send(self, wait: bool) -> None:
        self.log.append("begin")
        try:
            if wait:
                await self.open.wait()
            self.log.append("end")
        except asyncio.CancelledError:
            self.log.append("cancelled")
            raise


def test_a_coroutine_that_need_not_wait_runs_at_once() -> None:
    async def go() -> None:
        gate = Gate()
        assert start_eagerly(gate.send(wait=False), 1.0, "t") is None
        assert gate.log == ["begin", "end"]

    run_async(go)


def test_a_coroutine_that_waits_finishes_in_a_task() -> None:
    async def go() -> None:
        gate = Gate()
        task = start_eagerly(gate.send(wait=True), 1.0, "t")
        assert task is not None and gate.log == ["begin"]
        await asyncio.sleep(0.01)
        assert not task.done()
        gate.open.set()
        await task
        assert gate.log == ["begin", "end"]

    run_async(go)


def test_an_error_raised_at_once_reaches_the_caller() -> None:
    async def broken() -> None:
        raise ConnectionResetError("gone")

    async def go() -> None:
        with pytest.raises(ConnectionResetError):
            start_eagerly(broken(), 1.0, "t")

    run_async(go)


def test_a_wait_past_the_timeout_cancels_the_coroutine() -> None:
    async def go() -> None:
        gate = Gate()
        task = start_eagerly(gate.send(wait=True), 0.05, "t")
        assert task is not None
        with pytest.raises(TimeoutError):
            await task
        assert gate.log == ["begin", "cancelled"]

    run_async(go)


def test_cancelling_the_task_cancels_the_coroutine() -> None:
    async def go() -> None:
        gate = Gate()
        task = start_eagerly(gate.send(wait=True), 10.0, "t")
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate.log == ["begin", "cancelled"]

    run_async(go)
