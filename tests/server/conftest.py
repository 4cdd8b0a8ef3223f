"""Fixtures: a TestClient app and a real uvicorn server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from server.__main__ import uvicorn_config
from server.app import create_app
from server.settings import Settings

TEST_ORIGIN = "http://testserver"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(allowed_origins=[TEST_ORIGIN]))) as c:
        yield c


@contextmanager
def session(client: TestClient) -> Iterator[WebSocketTestSession]:
    """A websocket session through TestClient, past its hello. On leaving, close it and wait
    until the server has ended the session: TestClient cancels the app right after its own
    close, and a cancellation landing mid-cleanup surfaces as a spurious CancelledError."""
    with client.websocket_connect("/ws", headers={"origin": TEST_ORIGIN}) as ws:
        assert ws.receive_json()["type"] == "hello"
        yield ws
        ws.close()
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while sessions and time.monotonic() < deadline:
            time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = settings.model_copy(update={"port": self.port})
        self.server = uvicorn.Server(
            uvicorn_config(create_app(self.settings), "127.0.0.1", self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def health(self) -> dict[str, object]:
        body: dict[str, object] = httpx.get(self.url + "/healthz", timeout=5).json()
        return body

    def wait_idle(self, timeout: float = 10.0) -> dict[str, object]:
        """Wait until no session and no session task is left; return the last health."""
        deadline = time.monotonic() + timeout
        health = self.health()
        while time.monotonic() < deadline:
            health = self.health()
            if health["sessions"] == 0 and health["session_tasks"] == 0:
                break
            time.sleep(0.05)
        return health


@contextmanager
def running(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.thread.start()
    deadline = time.monotonic() + 15
    while not live.server.started:
        if time.monotonic() > deadline or not live.thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield live
    finally:
        live.server.should_exit = True
        live.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """Start servers with chosen settings; all stop at the end of the test."""
    stack: list[object] = []

    def start(**overrides: object) -> LiveServer:
        cm = running(Settings(**overrides))  # type: ignore[arg-type]
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]


def run_async(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``asyncio.run`` in a fresh thread: Playwright's sync API (the browser tests) keeps an
    event loop running in the main thread for the whole test session."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(make())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture
def redis_server() -> Iterator[Any]:
    """A real redis-server on a free loopback port (Debian's package; see scripts/setup-dev.sh)."""
    from .redis_cluster import REDIS, RedisServer

    if REDIS is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(redis_server: Any) -> Iterator[Callable[..., Any]]:
    """Start Gradscape worker processes on that Redis; all stop at the end of the test."""
    from .redis_cluster import Worker

    started: list[Worker] = []

    def start(count: int = 1, *extra: str, redis_url: str | None = None) -> list[Worker]:
        new = [Worker(redis_url or redis_server.url, *extra) for _ in range(count)]
        started.extend(new)
        for worker in new:
            worker.wait_ready()
        return new

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
