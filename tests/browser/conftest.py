"""Browser tests: Debian's Chromium driven by Playwright against a real server on 127.0.0.1.

The server is `python -m server serve` in a subprocess on a free port (one for the session; tests
that kill the server start their own). Every page records its console errors and its requests;
a test fails if the page logged an error it did not expect or asked for anything off 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`gradscape serve` in a subprocess; stop() and start() keep the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "server", "serve", "--port", str(self.port)]
        cmd += ["--log-level", "warning"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server(free_port())
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    return server.url


@dataclass
class Watch:
    """What a page did that a person would not want: console errors and requests off the host."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and not any(a in msg.text for a in self.allowed):
            self.errors.append(msg.text)

    def on_request(self, request: Request) -> None:
        self.on_url(request.url)

    def on_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname not in LOCAL_HOSTS:
            self.foreign.append(url)

    def allow(self, text: str) -> None:
        """Expect console errors containing `text` (a test that breaks the connection on purpose)."""
        self.allowed.append(text)


@pytest.fixture
def watch(context: BrowserContext) -> Iterator[Watch]:
    w = Watch()
    context.on("console", w.on_console)
    context.on("request", w.on_request)
    context.on("weberror", lambda e: w.errors.append(f"uncaught: {e.error}"))
    yield w
    assert not w.foreign, f"requests left 127.0.0.1: {w.foreign}"
    assert not w.errors, f"console errors: {w.errors}"


@pytest.fixture
def gs(page: Page, watch: Watch) -> Page:
    """A page with console errors and off-host requests (websockets too) watched."""
    page.set_default_timeout(15_000)
    page.on("websocket", lambda ws: watch.on_url(ws.url))
    return page
