"""The load generator of ``bench/ws_bench.py``: race sessions in worker processes.

Each worker process runs ``clients + probes`` sessions on one asyncio loop (the ``websockets``
client). A session connects, starts its race (on ours), then counts the frames that arrive inside
the measurement window and the intervals between them; a probe also sends ``set`` every ~0.25 s
and times it to its ``ack``. The parent sends the window, the worker sends back its counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.procs import die_with_parent

FPS = 30.0
STEPS_PER_SECOND = 60
MAX_STEPS = 100_000
ACK_TIMEOUT = 2.0
PROBE_EVERY = 0.25
CONNECTS_AT_ONCE = 32
READY_TIMEOUT = 90.0

START = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [-1.5, 2.0]},
        {"id": "m", "optimizer": "momentum", "hyper": {"lr": 0.0005}, "start": [-1.5, 2.0]},
        {"id": "r", "optimizer": "rmsprop", "hyper": {"lr": 0.001}, "start": [-1.5, 2.0]},
        {"id": "n", "optimizer": "nesterov", "hyper": {"lr": 0.0005}, "start": [-1.5, 2.0]},
    ],
    "seed": 0,
    "max_steps": MAX_STEPS,
    "steps_per_second": STEPS_PER_SECOND,
}
START_TEXT = orjson.dumps(START).decode()
FRAME_PREFIX = b'{"type":"frame"'


@dataclass
class Window:
    t0: float = math.inf
    t1: float = math.inf
    opened: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class WorkerSpec:
    url: str
    origin: str
    ours: bool
    clients: int
    probes: int
    seed: int
    cpus: frozenset[int]


@dataclass
class WorkerResult:
    frames: list[int] = field(default_factory=list)  # per session, in the window
    gaps: array[float] = field(default_factory=lambda: array("d"))
    acks: array[float] = field(default_factory=lambda: array("d"))
    frame_bytes: list[int] = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    refusals: int = 0  # "error" messages from the server
    stops: int = 0  # "event" messages (a run ended)
    cpu: float = 0.0  # this process, over the window


class Client:
    """One session: connect, start the race (ours), then count frames and time acks."""

    def __init__(self, spec: WorkerSpec, window: Window, probe: bool, seed: int) -> None:
        self.spec = spec
        self.window = window
        self.probe = probe
        self.rng = random.Random(seed)
        self.ready = asyncio.Event()
        self.error: str | None = None
        self.frames = 0
        self.gaps = array("d")
        self.acks = array("d")
        self.frame_bytes = 0
        self.refusals = 0
        self.stops = 0
        self._last: float | None = None
        self._sent_at: float | None = None
        self._acked = asyncio.Event()
        self.ws: ClientConnection | None = None

    async def run(self, gate: asyncio.Semaphore) -> None:
        try:
            async with gate:
                self.ws = await connect(
                    self.spec.url,
                    origin=Origin(self.spec.origin),
                    compression=None,
                    proxy=None,
                    ping_interval=None,
                    open_timeout=30.0,
                    close_timeout=2.0,
                    max_size=2**22,
                )
                if self.spec.ours:
                    await self._start(self.ws)
        except Exception as exc:  # counted as a failed session; its frames count as lost
            self.error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self.ready.set()
        tasks = [asyncio.create_task(self._receive(self.ws))]
        if self.probe:
            tasks.append(asyncio.create_task(self._send_sets(self.ws)))
        try:
            await asyncio.gather(*tasks)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            for task in tasks:
                task.cancel()

    async def _start(self, ws: ClientConnection) -> None:
        await ws.send(START_TEXT)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            data = await asyncio.wait_for(ws.recv(decode=False), 30.0)
            assert isinstance(data, bytes)
            if data.startswith(b'{"type":"ack"') and b'"of":"start"' in data:
                return
            if data.startswith(b'{"type":"error"'):
                raise RuntimeError(data.decode())
        raise TimeoutError("no ack of start")

    async def _receive(self, ws: ClientConnection) -> None:
        window = self.window
        while True:
            data = await ws.recv(decode=False)
            now = time.monotonic()
            assert isinstance(data, bytes)
            if data.startswith(FRAME_PREFIX):
                if window.t0 <= now < window.t1:
                    self.frames += 1
                    self.frame_bytes = len(data)
                    if self._last is not None:
                        self.gaps.append(now - self._last)
                    self._last = now
            elif data.startswith(b'{"type":"ack"'):
                sent = self._sent_at
                if sent is not None and orjson.loads(data).get("of") == "set":
                    self.acks.append(now - sent)
                    self._sent_at = None
                    self._acked.set()
            elif data.startswith(b'{"type":"error"'):
                self.refusals += 1
            elif data.startswith(b'{"type":"event"'):
                self.stops += 1

    async def _send_sets(self, ws: ClientConnection) -> None:
        window = self.window
        await window.opened.wait()
        await asyncio.sleep(max(0.0, window.t0 - time.monotonic()) + self.rng.uniform(0, 0.25))
        lr = 0.01
        while time.monotonic() < window.t1 - ACK_TIMEOUT:
            lr = 0.012 if lr == 0.01 else 0.01
            text = orjson.dumps({"type": "set", "run": "a", "hyper": {"lr": lr}}).decode()
            self._acked.clear()
            self._sent_at = time.monotonic()
            await ws.send(text)
            try:
                await asyncio.wait_for(self._acked.wait(), ACK_TIMEOUT)
            except TimeoutError:
                self._sent_at = None
                self.acks.append(math.inf)
            await asyncio.sleep(PROBE_EVERY * self.rng.uniform(0.5, 1.5))


async def run_worker(conn: Connection, spec: WorkerSpec) -> None:
    window = Window()
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    clients = [
        Client(spec, window, probe=i < spec.probes, seed=spec.seed * 100_003 + i)
        for i in range(spec.clients + spec.probes)
    ]
    tasks = [asyncio.create_task(c.run(gate)) for c in clients]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.ready.wait() for c in clients)), READY_TIMEOUT
            )
        errors = [c.error or "not connected in time" for c in clients if c.error or c.ws is None]
        conn.send(("ready", errors[:3]))
        t0, t1 = await asyncio.to_thread(conn.recv)
        window.t0, window.t1 = t0, t1
        window.opened.set()
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        cpu0 = time.process_time()
        await asyncio.sleep(max(0.0, t1 - time.monotonic()))
        cpu = time.process_time() - cpu0
        await asyncio.sleep(0.05)
        result = WorkerResult(cpu=cpu)
        for c in clients:
            failed = c.error is not None or c.ws is None
            result.failed += failed
            if c.error:
                result.errors.append(c.error)
            result.frames.append(c.frames)
            result.gaps.extend(c.gaps)
            result.acks.extend(c.acks)
            result.refusals += c.refusals
            result.stops += c.stops
            if c.frame_bytes:
                result.frame_bytes.append(c.frame_bytes)
        result.errors = result.errors[:3]
        conn.send(result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closing = [c.ws.close() for c in clients if c.ws is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 3.0)


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if spec.cpus:
        os.sched_setaffinity(0, spec.cpus)
    with contextlib.suppress(EOFError, BrokenPipeError, KeyboardInterrupt):
        asyncio.run(run_worker(conn, spec))
