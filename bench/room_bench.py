"""A lecture room under load: one presenter, 1,000 viewers, one stalled viewer; vs a bare broadcast.

Phases, each against its own server process on 127.0.0.1, one after the other in the same run:

- ``ours``: ``python -m server serve``. A presenter (in this process) opens a room and streams
  the 4-run race of ``bench/ws_bench.py`` (rosenbrock; adam, momentum, rmsprop, nesterov) at
  60 steps/s, i.e. 30 frames/s of ~2 points per run; ``--viewers`` viewers watch the room.
- ``ours+stall``: the same, plus one viewer that never reads (4 KiB receive buffer, its client
  never calls recv): the server should drop it without the other figures moving.
- ``bare+stall``: ``bench/bare_broadcast_server.py``, frames of our median frame size at 30/s
  to the same number of viewers plus the stalled one, through the same uvicorn options.

How delay is measured, without trusting anything written inside the frames: every client records
``time.monotonic()`` (CLOCK_MONOTONIC, one clock for all processes of the machine) when a frame
arrives. A frame is identified by its content: on ours the step number of its first run (each
frame starts at a new step), on the bare server its ``seq``. The reference time of a frame is
when a client in this process got it: the presenter itself (whose frame is sent right after it is
offered to the room) or, on the bare server, ``/ws/ref`` (sent before the viewers are offered it).
A viewer's delay for a frame = its receive time - the reference's; this is what the room's fan-out
adds. Frames count when the reference got them inside the window; delivered = the fraction of
those a viewer got (late ones too, up to 2 s after the window).

The load generator (``--procs`` processes, asyncio + the ``websockets`` client) shares the cores
with the server: its scheduling delays are part of every delay measured; its CPU is printed.

Run from the repository root: ``python -m bench.room_bench [--viewers 1000] [--seconds 8]``
(about 1-2 minutes; a watchdog ends the run; servers and workers are killed on exit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import socket
import statistics
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.ws_bench import (
    START,
    ServerProcess,
    code_version,
    cpu_seconds,
    die_with_parent,
    free_port,
    launch,
    raise_fd_limit,
    stop,
)

FPS = 30.0
CONNECTS_AT_ONCE = 32
READY_TIMEOUT = 120.0
LATE_GRACE = 2.0  # s after the window in which a window's frame still counts as delivered
TARGET_DELIVERED = 0.99
TARGET_P99 = 0.100  # s
FRAME = '{"type":"frame"'


def frame_key(text: str) -> int:
    """The step of a frame's first run (ours) or its ``seq`` (bare): the first integer field."""
    i = text.find('"step":')
    if i < 0:
        i = text.find('"seq":') - 1
    j = i + 7
    k = j
    while text[k].isdigit():
        k += 1
    return int(text[j:k])


# -- load generator (worker processes) ---------------------------------------------------------


@dataclass
class Track:
    keys: array[int] = field(default_factory=lambda: array("q"))
    times: array[float] = field(default_factory=lambda: array("d"))
    closed: bool = False


async def watch(url: str, origin: str, track: Track, gate: asyncio.Semaphore) -> None:
    async with gate:
        ws = await connect(
            url, origin=Origin(origin), compression=None, proxy=None, ping_interval=None,
            open_timeout=60.0, close_timeout=2.0, max_size=2**22,
        )  # fmt: skip
    track.times.append(-1.0)  # connected marker (removed below)
    try:
        async for text in ws:
            if isinstance(text, str) and text.startswith(FRAME):
                track.keys.append(frame_key(text))
                track.times.append(time.monotonic())
    except Exception:
        pass
    finally:
        track.closed = True
        with contextlib.suppress(Exception):
            await ws.close()


def summarize(tracks: list[Track], ref: dict[int, float]) -> tuple[list[float], array[float]]:
    """Per viewer the delivered fraction of the reference frames; all delays pooled."""
    fractions: list[float] = []
    delays = array("d")
    for t in tracks:
        got = 0
        for key, when in zip(t.keys, t.times[1:], strict=True):
            base = ref.get(key)
            if base is not None:
                got += 1
                delays.append(when - base)
        fractions.append(got / max(1, len(ref)))
    return fractions, delays


def worker(url: str, origin: str, n: int, pipe: Connection) -> None:
    die_with_parent()

    async def run() -> None:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        tracks = [Track() for _ in range(n)]
        tasks = [asyncio.create_task(watch(url, origin, t, gate)) for t in tracks]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while sum(len(t.times) > 0 for t in tracks) < n and loop.time() < deadline:
            if any(task.done() and task.exception() for task in tasks):
                break
            await asyncio.sleep(0.1)
        failed = sum(1 for task in tasks if task.done() and task.exception())
        pipe.send(("ready", n - failed))
        ref: dict[int, float] = await loop.run_in_executor(None, pipe.recv)
        await asyncio.sleep(LATE_GRACE)
        cpu = time.process_time()
        fractions, delays = summarize([t for t in tracks if len(t.times) > 0], ref)
        pipe.send(("done", fractions, delays, cpu))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


# -- one phase ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    viewers: int = 0
    fractions: list[float] = field(default_factory=list)
    delays: array[float] = field(default_factory=lambda: array("d"))
    reference_fps: float = 0.0
    server_cpu: float = 0.0
    loadgen_cpu: float = 0.0
    stalled_dropped: str = "-"


def stalled_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def reference_frames(
    ws: ClientConnection, ref: dict[int, float], window: list[float], counts: list[int]
) -> None:
    """Record the reference time of every frame that arrives inside the window, and the viewer
    counts the presenter is told."""
    async for text in ws:
        if isinstance(text, str) and text.startswith(FRAME):
            now = time.monotonic()
            if window[0] <= now < window[1]:
                ref[frame_key(text)] = now
        elif isinstance(text, str) and text.startswith('{"type":"room"'):
            counts.append(orjson.loads(text).get("viewers", -1))


async def run_phase(
    name: str, server: ServerProcess, ours: bool, stall: bool, args: argparse.Namespace
) -> Phase:
    phase = Phase(name)
    origin = server.origin
    if ours:
        ref_ws = await connect(server.url, origin=Origin(origin), compression=None, proxy=None)
        await ref_ws.recv()  # hello
        await ref_ws.send('{"type": "room", "action": "open"}')
        room = orjson.loads(await ref_ws.recv())
        viewer_url = f"ws://127.0.0.1:{server.port}/ws/room/{room['code']}"
        await ref_ws.send(orjson.dumps(START).decode())
    else:
        ref_ws = await connect(server.url + "/ref", origin=Origin(origin), compression=None)
        viewer_url = server.url
    ref: dict[int, float] = {}
    window = [float("inf"), float("inf")]
    counts: list[int] = []
    recorder = asyncio.create_task(reference_frames(ref_ws, ref, window, counts))
    ctx = mp.get_context("spawn")
    pipes: list[Connection] = []
    procs: list[Any] = []
    share = [
        args.viewers // args.procs + (i < args.viewers % args.procs) for i in range(args.procs)
    ]
    loop = asyncio.get_running_loop()
    stalled: ClientConnection | None = None
    try:
        if stall:  # first, so that its buffers fill while the others connect
            stalled = await connect(
                viewer_url, origin=Origin(origin), compression=None, proxy=None,
                sock=stalled_socket(server.port), max_queue=1, ping_interval=None,
            )  # fmt: skip
        for n in share:
            here, there = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(viewer_url, origin, n, there), daemon=True)
            proc.start()
            pipes.append(here)
            procs.append(proc)
        for pipe in pipes:
            msg = await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), READY_TIMEOUT)
            phase.viewers += msg[1]
        await asyncio.sleep(args.warmup)
        cpu0 = cpu_seconds(server.proc.pid)
        window[0] = time.monotonic()
        window[1] = window[0] + args.seconds
        await asyncio.sleep(args.seconds)
        phase.server_cpu = (cpu_seconds(server.proc.pid) - cpu0) / args.seconds
        phase.reference_fps = len(ref) / args.seconds
        for pipe in pipes:
            pipe.send(dict(ref))
        for pipe in pipes:
            _, fractions, delays, cpu = await asyncio.wait_for(
                loop.run_in_executor(None, pipe.recv), 60
            )
            phase.fractions.extend(fractions)
            phase.delays.extend(delays)
            phase.loadgen_cpu += cpu
        if stalled is not None and ours:  # the presenter's count says whether it was dropped
            phase.stalled_dropped = "yes" if counts and counts[-1] == phase.viewers else "no"
    finally:
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)
        if stalled is not None:
            stalled.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ref_ws.close(), 2)
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
    return phase


async def measure_frame_bytes(server: ServerProcess) -> int:
    async with connect(server.url, origin=Origin(server.origin), compression=None) as ws:
        await ws.recv()
        await ws.send(orjson.dumps(START).decode())
        sizes: list[int] = []
        while len(sizes) < 60:
            text = await ws.recv()
            if isinstance(text, str) and text.startswith(FRAME):
                sizes.append(len(text))
        return int(statistics.median(sizes))


def p(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(rows: list[Phase], args: argparse.Namespace) -> None:
    print(
        f"{'phase':<12}{'viewers':>8}{'ref fps':>9}{'deliv min':>10}{'deliv mean':>11}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'srv CPU':>9}{'loadgen':>9}{'stalled':>9}"
    )
    for r in rows:
        delays = r.delays.tolist()
        print(
            f"{r.name:<12}{r.viewers:>8}{r.reference_fps:>9.1f}"
            f"{min(r.fractions, default=0):>10.2%}{statistics.fmean(r.fractions or [0]):>11.2%}"
            f"{p(delays, 0.5) * 1e3:>8.1f}{p(delays, 0.99) * 1e3:>8.1f}"
            f"{max(delays, default=float('nan')) * 1e3:>8.1f}"
            f"{r.server_cpu:>9.0%}{r.loadgen_cpu / (args.warmup + args.seconds + 2):>9.0%}"
            f"{r.stalled_dropped:>9}"
        )
    by = {r.name: r for r in rows}
    ours, stalled, bare = by.get("ours"), by.get("ours+stall"), by.get("bare+stall")
    print()
    for r in [x for x in (ours, stalled) if x is not None]:
        ok_d = min(r.fractions, default=0) >= TARGET_DELIVERED
        ok_p = p(r.delays.tolist(), 0.99) <= TARGET_P99
        print(
            f"target {r.name}: every viewer >= {TARGET_DELIVERED:.0%} delivered: "
            f"{'PASS' if ok_d else 'FAIL'}; p99 delay <= {TARGET_P99 * 1e3:.0f} ms: "
            f"{'PASS' if ok_p else 'FAIL'}"
        )
    if stalled is not None and bare is not None:
        p_ours, p_bare = p(stalled.delays.tolist(), 0.99), p(bare.delays.tolist(), 0.99)
        print(
            f"ratio ours/bare (both with a stalled viewer): p99 delay {p_ours / p_bare:.2f}x, "
            f"server CPU {stalled.server_cpu / max(bare.server_cpu, 1e-9):.2f}x"
        )


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


async def run_all(args: argparse.Namespace, started: list[ServerProcess]) -> list[Phase]:
    port = free_port()
    env = {"GRADSCAPE_MAX_VIEWERS": str(args.viewers + 16)}
    serve = ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"]
    ours = launch("ours", serve, port, env, set())
    started.append(ours)
    size = await measure_frame_bytes(ours)
    print(f"our frames: {size} bytes (median); the bare server sends that size\n", flush=True)
    port = free_port()
    bare_args = ["-m", "bench.bare_broadcast_server", "--port", str(port)]
    bare = launch("bare", [*bare_args, "--frame-bytes", str(size)], port, {}, set())
    started.append(bare)
    rows: list[Phase] = []
    plan = [("ours", ours, True, False), ("ours+stall", ours, True, True)]
    plan.append(("bare+stall", bare, False, True))
    for name, server, is_ours, stall in plan:
        print(f"  {name}: {args.viewers} viewers ...", file=sys.stderr, flush=True)
        rows.append(await run_phase(name, server, is_ours, stall, args))
        await asyncio.sleep(1.5)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--procs", type=int, default=3, help="load-generator processes")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(60 + 3 * (READY_TIMEOUT + args.warmup + args.seconds + 70)))
    fds = raise_fd_limit(2 * args.viewers + 256)
    print(
        f"room_bench: {os.cpu_count()} cores; open-file limit {fds}; load average before "
        f"{os.getloadavg()[0]:.2f}; code {code_version()}\npresenter: rosenbrock, 4 runs, "
        f"60 steps/s, {FPS:.0f} frames/s; {args.viewers} viewers in {args.procs} processes; "
        f"warm-up {args.warmup:g} s, window {args.seconds:g} s"
    )
    started: list[ServerProcess] = []
    try:
        rows = asyncio.run(run_all(args, started))
    finally:
        for server in started:
            stop(server)
        signal.alarm(0)
    print(
        "ref fps: frames/s the reference client got; deliv: per viewer, the fraction of those "
        "frames it got; delay: viewer receive - reference receive (all viewers pooled);\n"
        "srv CPU / loadgen: % of one core; stalled: whether the stalled viewer was dropped\n"
    )
    report(rows, args)
    print(f"\nload average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
