"""Soak: many sessions come and go; the server's memory and tasks must come back to where they were.

Cycles mode (default): ``--cycles`` websocket sessions against a server (started here as
``python -m server serve`` on a free port, or ``--url`` of a running one), ``--concurrency`` at a
time. Each connects, sends a ``start`` (a 4-run race at 600 steps/s), reads a few frames, then
leaves one of three ways in turn: a clean close; a dropped TCP connection (the socket aborted, no
close frame) right after the start; a dropped connection mid-frame (aborted while frames stream).
Before and after: the server's RSS (``/proc/PID/status``, when the server is ours) and its
asyncio task count (``/healthz``), after a warm-up of 200 cycles (imports, caches, pools).
Budget: at most +20 MB and no task left behind.

Minutes mode (``--minutes M``): ``--sessions`` (200) sessions stream for M minutes (each race
restarts when it ends); RSS is sampled every minute and printed with its trend.

Run: ``python -m bench.soak`` (10,000 cycles, a few minutes on 2 cores) or
``python -m bench.soak --minutes 30``. Load generator and server share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
START = orjson.dumps(
    {
        "type": "start",
        "problem": {"surface": "rosenbrock"},
        "runs": [
            {"id": r, "optimizer": o, "hyper": {"lr": lr}}
            for r, o, lr in [
                ("a", "adam", 0.01),
                ("b", "momentum", 0.001),
                ("c", "rmsprop", 0.001),
                ("d", "nesterov", 0.001),
            ]
        ],
        "max_steps": 2000,
        "steps_per_second": 600,
    }
).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def health(url: str) -> dict[str, int]:
    body: dict[str, int] = httpx.get(f"{url}/healthz", timeout=10).json()
    return body


def settle(url: str, timeout: float = 30.0) -> dict[str, int]:
    """Wait until no session is left on the server."""
    deadline = time.monotonic() + timeout
    body = health(url)
    while time.monotonic() < deadline and (body["sessions"] or body["session_tasks"]):
        time.sleep(0.2)
        body = health(url)
    return body


async def one_cycle(ws_url: str, origin: str, how: int) -> None:
    async with connect(
        ws_url, additional_headers={"Origin": origin}, compression=None, open_timeout=20
    ) as ws:
        await ws.recv()  # hello
        await ws.send(START)
        if how == 1:  # dropped right after the start
            ws.transport.abort()
            return
        frames = 0
        while frames < 3:
            message = await ws.recv()
            if isinstance(message, str) and message.startswith('{"type":"frame"'):
                frames += 1
        if how == 2:  # dropped mid-stream, frames still coming
            ws.transport.abort()
            return
        await ws.close()


async def cycles(ws_url: str, origin: str, n: int, concurrency: int) -> tuple[int, int]:
    done = failed = 0
    queue = iter(range(n))

    async def worker() -> None:
        nonlocal done, failed
        for i in queue:
            try:
                await one_cycle(ws_url, origin, i % 3)
                done += 1
            except Exception:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, failed


async def stream(ws: ClientConnection, stop: float) -> int:
    frames = 0
    while time.monotonic() < stop:
        msg = orjson.loads(await ws.recv())
        if msg["type"] == "frame":
            frames += 1
        elif msg["type"] == "status" and msg["state"] == "done":
            await ws.send(START)
    return frames


async def minutes(
    ws_url: str, origin: str, url: str, pid: int | None, sessions: int, total: float
) -> None:
    socks = [
        await connect(ws_url, additional_headers={"Origin": origin}, compression=None)
        for _ in range(sessions)
    ]
    for ws in socks:
        await ws.recv()
        await ws.send(START)
    t0 = time.monotonic()
    stop = t0 + total * 60
    tasks = [asyncio.create_task(stream(ws, stop)) for ws in socks]
    samples: list[float] = []
    while time.monotonic() < stop:
        await asyncio.sleep(min(60.0, max(0.0, stop - time.monotonic())))
        mb = rss_mb(pid)
        try:
            tasks_now: object = (await asyncio.to_thread(health, url))["tasks"]
        except httpx.HTTPError as exc:  # a loaded machine: one sample without the count
            tasks_now = f"(no answer: {type(exc).__name__})"
        elapsed = (time.monotonic() - t0) / 60
        samples.append(mb or 0.0)
        print(f"{elapsed:5.1f} min: RSS {mb or 0.0:.1f} MB, tasks {tasks_now}", flush=True)
    frames = sum(await asyncio.gather(*tasks))
    for ws in socks:
        await ws.close()
    print(f"frames received: {frames:,} ({frames / (total * 60) / sessions:.1f}/s per session)")
    if len(samples) >= 3:
        half = len(samples) // 2
        first, last = samples[:half], samples[half:]
        trend = sum(last) / len(last) - sum(first) / len(first)
        print(f"RSS trend (mean of the second half - first half): {trend:+.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server (default: start one here)")
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=0.0)
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "GRADSCAPE_MAX_SESSIONS": str(max(400, args.sessions + 50))}
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "error"],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                health(url)
                break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
    pid = proc.pid if proc is not None else None
    ws_url = url.replace("http", "ws", 1) + "/ws"
    try:
        if args.minutes:
            asyncio.run(minutes(ws_url, url, url, pid, args.sessions, args.minutes))
            return 0
        asyncio.run(cycles(ws_url, url, 200, args.concurrency))  # warm-up
        before = settle(url)
        rss0 = rss_mb(pid)
        t0 = time.monotonic()
        done, failed = asyncio.run(cycles(ws_url, url, args.cycles, args.concurrency))
        seconds = time.monotonic() - t0
        after = settle(url)
        rss1 = rss_mb(pid)
        print(f"cycles: {done:,} done, {failed:,} failed, in {seconds:.0f} s")
        print("  (a third each: clean close, dropped after start, dropped mid-stream)")
        print(f"tasks on the server: {before['tasks']} before, {after['tasks']} after")
        print(f"sessions left: {after['sessions']}, session tasks left: {after['session_tasks']}")
        if rss0 is not None and rss1 is not None:
            print(f"server RSS: {rss0:.1f} MB before, {rss1:.1f} MB after ({rss1 - rss0:+.1f} MB)")
            ok = rss1 - rss0 <= 20 and after["tasks"] <= before["tasks"] and failed == 0
            print("budget (+20 MB, no task left, no failure):", "met" if ok else "NOT met")
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
