"""The live page inside a notebook: a local server in a background thread, shown in an IFrame."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from html import escape
from typing import Any

import uvicorn

from gradscape.race import Result, _state
from server.export.state import ExportState, format_hash
from server.settings import Settings

CONTROLS = ("all", "play", "none")


class _Server:
    """One uvicorn server on 127.0.0.1 in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    def url(self, port: int | None = None) -> str:
        with self.lock:
            running = self.thread is not None and self.thread.is_alive()
            if not running or (port is not None and port != self.port):
                self._stop()
                self._start(port)
            return f"http://127.0.0.1:{self.port}"

    def _start(self, port: int | None) -> None:
        from server.__main__ import uvicorn_config
        from server.app import create_app

        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        settings = Settings(port=port)
        config = uvicorn_config(create_app(settings), "127.0.0.1", port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gradscape", daemon=True)
        self.port = port
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the gradscape server did not start on port {port}")
            time.sleep(0.02)

    def _stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.server = self.thread = None

    def stop(self) -> None:
        with self.lock:
            self._stop()


_SERVER = _Server()


def serve(port: int | None = None) -> str:
    """Start (or reuse) the local server and return its address, e.g. ``http://127.0.0.1:PORT``."""
    return _SERVER.url(port)


def stop() -> None:
    """Stop the server ``serve`` or ``embed`` started (a later ``embed`` starts a new one)."""
    _SERVER.stop()


@dataclass(frozen=True)
class Embed:
    """The live page of a race in an IFrame; Jupyter shows it, ``url`` is the link."""

    url: str
    width: str
    height: int

    def _repr_html_(self) -> str:
        return (
            f'<iframe src="{escape(self.url)}" width="{escape(self.width)}" '
            f'height="{self.height}" style="border:0" title="Gradscape" '
            'allow="fullscreen"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<gradscape live page: {self.url}>"


def embed(
    result: Result | None = None,
    *,
    controls: str = "all",
    width: str = "100%",
    height: int = 520,
    port: int | None = None,
    **race_args: Any,
) -> Embed:
    """Show the live page of a race in the notebook (it starts or reuses a local server).

    Pass a ``gradscape.race(...)`` result, or the same arguments ``race`` takes (``surface``,
    ``runs``, ``steps``, ``start``, ``seed``, ...). ``controls`` is what the embedded page
    shows: ``all``, ``play`` (play/pause only) or ``none``.
    """
    if controls not in CONTROLS:
        raise ValueError(f"controls must be one of {', '.join(CONTROLS)}, not {controls!r}")
    if result is not None and race_args:
        raise ValueError("give a race result or race arguments, not both")
    state: ExportState
    if result is not None:
        state = result.state
    else:
        args: dict[str, Any] = {"steps": 500, "seed": 0, **race_args}
        state = _state(
            args.get("surface"),
            args.get("expression"),
            args.get("params"),
            args.get("runs", ()),
            int(args["steps"]),
            args.get("start"),
            int(args["seed"]),
            args.get("domain"),
        )
    base = serve(port)
    return Embed(f"{base}/embed#{format_hash(state)}&controls={controls}", width, height)
