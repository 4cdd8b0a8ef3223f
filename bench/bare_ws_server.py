"""The reference for ``bench/ws_bench.py``: a bare FastAPI websocket server, no computation.

Each connection gets a receive loop and a sender with the same shape as a Gradscape session
(replies are queued and wake the sender; frames go out at 30 per second on a fixed clock), but a
frame is one pre-encoded text of ``--frame-bytes`` bytes and a ``set`` is acked at once. uvicorn
runs with the websocket options of ``server.__main__.uvicorn_config``: websockets-sansio,
permessage-deflate off, the same size limit and pings. What it costs is the floor that the
transport alone puts under any websocket server streaming these frames from one process.

Run: ``python -m bench.bare_ws_server --port 8765 --frame-bytes 1200``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import orjson
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from server.__main__ import run, uvicorn_config

FRAMES_PER_SECOND = 30.0


def frame_text(size: int) -> str:
    """A frame-shaped JSON text of exactly ``size`` bytes (at least the empty frame's length)."""
    head, tail = '{"type":"frame","runs":{},"pad":"', '"}'
    return head + "x" * max(0, size - len(head) - len(tail)) + tail


def create_bare_app(frame_bytes: int) -> FastAPI:
    app = FastAPI()
    frame = frame_text(frame_bytes)

    @app.websocket("/ws")
    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        outbox: list[str] = []
        wake = asyncio.Event()

        async def receive() -> None:
            while True:
                data = await ws.receive_text()
                msg = orjson.loads(data)
                if msg.get("type") == "set":
                    reply = {"type": "ack", "of": "set", "run": msg.get("run"), "step": 0}
                    outbox.append(orjson.dumps(reply).decode())
                    wake.set()

        async def send() -> None:
            loop = asyncio.get_running_loop()
            period = 1.0 / FRAMES_PER_SECOND
            next_tick = loop.time()
            while True:
                delay = next_tick - loop.time()
                if delay > 0 and not outbox:
                    handle = loop.call_later(delay, wake.set)
                    await wake.wait()
                    handle.cancel()
                wake.clear()
                while outbox:
                    await ws.send_text(outbox.pop(0))
                now = loop.time()
                if now >= next_tick:
                    next_tick = max(next_tick + period, now)
                    await ws.send_text(frame)

        tasks = [asyncio.create_task(receive()), asyncio.create_task(send())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
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
