"""The reference for ``bench/room_bench.py``: a bare FastAPI websocket broadcast, no computation.

A clock sends one frame-shaped text of ``--frame-bytes`` bytes 30 times a second: first to the
reference client (``/ws/ref``, awaited, like a presenter's own frame), then offered to every
viewer (``/ws``). Each viewer has the least a broadcast that survives a stalled client needs: a
bounded queue, one sender loop woken by an ``asyncio.Event``, a timeout per send, and a task that
notices the client leaving. Frames carry a sequence number (``"seq"``) by which the benchmark
matches them across clients. uvicorn runs with ``server.__main__.UVICORN_WS_OPTIONS``.

Run: ``python -m bench.bare_broadcast_server --port 8766 --frame-bytes 900``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from fastapi import FastAPI, WebSocket

from server.__main__ import run, uvicorn_config

FRAMES_PER_SECOND = 30.0
QUEUE = 256
SEND_TIMEOUT = 10.0


def frame_text(seq: int, size: int) -> str:
    """A frame of exactly ``size`` bytes (at least the unpadded length) carrying ``seq``."""
    head, tail = f'{{"type":"frame","seq":{seq},"pad":"', '"}'
    return head + "x" * max(0, size - len(head) - len(tail)) + tail


class Client:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.pending: deque[str] = deque()
        self.wake = asyncio.Event()
        self.ended = False

    def offer(self, text: str) -> None:
        if len(self.pending) >= QUEUE:
            self.ended = True
            self.pending.clear()
        elif not self.ended:
            self.pending.append(text)
        self.wake.set()

    async def send_loop(self) -> None:
        while not self.ended:
            if self.pending:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self.ws.send_text(self.pending.popleft())
            else:
                self.wake.clear()
                await self.wake.wait()

    async def watch(self) -> None:
        while (await self.ws.receive())["type"] != "websocket.disconnect":
            pass


def create_bare_app(frame_bytes: int) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(clock())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)
    clients: set[Client] = set()
    refs: list[WebSocket] = []

    async def clock() -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / FRAMES_PER_SECOND
        next_tick = loop.time()
        seq = 0
        while True:
            next_tick += period
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            text = frame_text(seq, frame_bytes)
            seq += 1
            for ref in list(refs):
                with contextlib.suppress(Exception):
                    await ref.send_text(text)
            for client in clients:
                client.offer(text)

    @app.websocket("/ws/ref")
    async def reference(ws: WebSocket) -> None:
        await ws.accept()
        refs.append(ws)
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            refs.remove(ws)

    @app.websocket("/ws")
    async def viewer(ws: WebSocket) -> None:
        await ws.accept()
        client = Client(ws)
        clients.add(client)
        tasks = [asyncio.create_task(client.watch()), asyncio.create_task(client.send_loop())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            clients.discard(client)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frame-bytes", type=int, required=True)
    args = parser.parse_args()
    run(uvicorn_config(create_bare_app(args.frame_bytes), "127.0.0.1", args.port, "warning"))


if __name__ == "__main__":
    main()
