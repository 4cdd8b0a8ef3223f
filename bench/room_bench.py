"""A lecture room under load: one presenter, its viewers, one stalled viewer; vs a bare broadcast.

Phases, each against its own server, one after the other in the same run:

- ``ours``: ``python -m server serve``. A presenter (in this process) opens a room, and once
  ``--viewers`` viewers watch it, streams the 4-run race of ``bench/ws_bench.py`` (rosenbrock;
  adam, momentum, rmsprop, nesterov) at 60 steps/s, i.e. 30 frames/s of ~2 points per run (a
  viewer joining mid-race would first get the race so far: joining is not what this measures).
  With ``--redis``: ``python -m server serve --workers 2`` (``--workers``) with
  ``GRADSCAPE_REDIS_URL`` pointing at a redis-server the bench starts on a free loopback port
  (``bench/room_cluster.py``): the presenter lands on one worker, the viewers on all of them,
  and the room's frames go through Redis to the other workers.
- ``ours+stall``: the same, plus one viewer that never reads (4 KiB receive buffer, its client
  never calls recv): the server should drop it without the other figures moving.
- ``ours+ask``: the same room (no stalled viewer); at the start of the window the presenter
  asks a question and every viewer answers it within ``--answer-within`` seconds
  (``bench/room_answers.py``): every answer counted, the presenter's tally at least 4 times a
  second, and the frame targets below all the while.
- ``bare+stall``: ``bench/bare_broadcast_server.py`` (one process), frames of our median frame
  size at 30/s to the same number of viewers plus the stalled one, through the same uvicorn
  options.

How delay is measured, without trusting anything written inside the frames: every client records
``time.monotonic()`` (CLOCK_MONOTONIC, one clock for all processes of the machine) when a frame
arrives. A frame is identified by its content: on ours the step number of its first run (each
frame starts at a new step), on the bare server its ``seq``. The reference time of a frame is
when a client in this process got it: the presenter itself (whose frame is sent right after it is
offered to the room) or, on the bare server, ``/ws/ref`` (sent before the viewers are offered it).
A viewer's delay for a frame = its receive time - the reference's; this is what the room's fan-out
adds (through Redis and the other worker, with ``--redis``). Frames count when the reference got
them inside the window; delivered = the fraction of those a viewer got (late ones too, up to 2 s
after the window). Targets: every reading viewer >= 99% of the frames, p99 delay <= 100 ms.

The load generator (``--procs`` processes, asyncio + the ``websockets`` client, ``bench/room_load.py``)
shares the cores with the server: its scheduling delays are part of every delay measured; its CPU
is printed. Server CPU is the whole process tree (every worker; Redis not included).

Run from the repository root: ``python -m bench.room_bench [--viewers 1000] [--seconds 8]``, or
``python -m bench.room_bench --redis --viewers 2000`` (about 1-3 minutes; a watchdog ends the run;
servers, Redis and load processes are killed on exit).
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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench import room_answers
from bench.procs import ServerProcess, code_version, free_port, launch, raise_fd_limit, stop
from bench.room_cluster import (
    RedisProcess,
    launch_workers,
    spread,
    start_redis,
    stop_redis,
    stop_workers,
    tree_cpu_seconds,
)
from bench.room_load import FRAME, READY_TIMEOUT, frame_key, worker
from bench.ws_load import START

FPS = 30.0
TARGET_DELIVERED = 0.99
TARGET_P99 = 0.100  # s


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
    spread: list[tuple[int, int]] = field(default_factory=list)  # per worker (--redis)
    ended: Counter[str] = field(default_factory=Counter)  # viewers gone before the end, by why
    answers: room_answers.AnswerFigures | None = None  # ours+ask


def stalled_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def reference_frames(
    ws: ClientConnection,
    ref: dict[int, float],
    window: list[float],
    counts: list[int],
    tallies: list[tuple[float, int]],
) -> None:
    """Record the reference time of every frame that arrives inside the window, the viewer
    counts the presenter is told, and the tallies of its question's answers."""
    async for text in ws:
        if isinstance(text, str) and text.startswith(FRAME):
            now = time.monotonic()
            if window[0] <= now < window[1]:
                ref[frame_key(text)] = now
        elif isinstance(text, str) and text.startswith('{"type":"room"'):
            counts.append(orjson.loads(text).get("viewers", -1))
        elif isinstance(text, str) and text.startswith('{"type":"answers"'):
            tallies.append((time.monotonic(), orjson.loads(text)["count"]))


async def run_phase(
    name: str,
    server: ServerProcess,
    ours: bool,
    stall: bool,
    ask: bool,
    args: argparse.Namespace,
    redis: RedisProcess | None = None,
) -> Phase:
    phase = Phase(name)
    origin = server.origin
    if ours:
        ref_ws = await connect(server.url, origin=Origin(origin), compression=None, proxy=None)
        await ref_ws.recv()  # hello
        await ref_ws.send('{"type": "room", "action": "open"}')
        room = orjson.loads(await ref_ws.recv())
        viewer_url = f"ws://127.0.0.1:{server.port}/ws/room/{room['code']}"
    else:
        ref_ws = await connect(server.url + "/ref", origin=Origin(origin), compression=None)
        viewer_url = server.url
    ref: dict[int, float] = {}
    window = [float("inf"), float("inf")]
    counts: list[int] = []
    tallies: list[tuple[float, int]] = []
    recorder = asyncio.create_task(reference_frames(ref_ws, ref, window, counts, tallies))
    within = args.answer_within if ask else 0.0
    answered = 0
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
            proc = ctx.Process(
                target=worker, args=(viewer_url, origin, n, within, there), daemon=True
            )
            proc.start()
            pipes.append(here)
            procs.append(proc)
        for pipe in pipes:
            msg = await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), READY_TIMEOUT)
            phase.viewers += msg[1]
        if ours:  # once everyone is in: joining is not what this measures
            await ref_ws.send(orjson.dumps(START).decode())
        if redis is not None and ours:
            phase.spread = spread(server, redis)
        await asyncio.sleep(args.warmup)
        cpu0 = tree_cpu_seconds(server.proc.pid)
        window[0] = time.monotonic()
        window[1] = window[0] + args.seconds
        if ask:
            await ref_ws.send(room_answers.ASK)
        await asyncio.sleep(args.seconds)
        phase.server_cpu = (tree_cpu_seconds(server.proc.pid) - cpu0) / args.seconds
        phase.reference_fps = len(ref) / args.seconds
        for pipe in pipes:
            pipe.send(dict(ref))
        for pipe in pipes:
            _, fractions, delays, cpu, ended, n_answered = await asyncio.wait_for(
                loop.run_in_executor(None, pipe.recv), 60
            )
            phase.fractions.extend(fractions)
            phase.delays.extend(delays)
            phase.loadgen_cpu += cpu
            phase.ended.update(ended)
            answered += n_answered
        if ask:
            phase.answers = room_answers.figures(tallies, window[0], within, answered)
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
        silent = sum(f == 0 for f in r.fractions)
        if silent or r.ended:
            gone = sum(r.ended.values())
            print(f"{'':<12}viewers with no frame of the window: {silent}; gone early: {gone}")
            for why, n in r.ended.most_common(3):
                print(f"{'':<14}{n} x {why}")
        if r.spread:
            clients = " + ".join(str(c) for c, _ in r.spread)
            links = " + ".join(str(n) for _, n in r.spread)
            print(f"{'':<12}websockets per worker: {clients}; their Redis connections: {links}")
    by = {r.name: r for r in rows}
    ours, stalled, bare = by.get("ours"), by.get("ours+stall"), by.get("bare+stall")
    print()
    for r in [x for x in (ours, stalled, by.get("ours+ask")) if x is not None]:
        ok_d = min(r.fractions, default=0) >= TARGET_DELIVERED
        ok_p = p(r.delays.tolist(), 0.99) <= TARGET_P99
        print(
            f"target {r.name}: every viewer >= {TARGET_DELIVERED:.0%} delivered: "
            f"{'PASS' if ok_d else 'FAIL'}; p99 delay <= {TARGET_P99 * 1e3:.0f} ms: "
            f"{'PASS' if ok_p else 'FAIL'}"
        )
        if r.answers is not None:
            room_answers.report(r.name, r.answers, args.answer_within)
    if stalled is not None and bare is not None:
        p_ours, p_bare = p(stalled.delays.tolist(), 0.99), p(bare.delays.tolist(), 0.99)
        print(
            f"ratio ours/bare (both with a stalled viewer): p99 delay {p_ours / p_bare:.2f}x, "
            f"server CPU {stalled.server_cpu / max(bare.server_cpu, 1e-9):.2f}x"
        )


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


async def run_all(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Phase]:
    """Start Redis (with --redis) and both servers, stopped by ``stack``; run every phase."""
    env = {"GRADSCAPE_MAX_VIEWERS": str(args.viewers + 16)}
    redis: RedisProcess | None = None
    if args.redis:
        redis = start_redis()
        stack.callback(stop_redis, redis)
        ours = launch_workers(redis, args.workers, env)
        stack.callback(stop_workers, ours)
        print(f"ours: {args.workers} workers on one port, rooms through {redis.url}")
    else:
        port = free_port()
        serve = ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"]
        ours = launch("ours", serve, port, env, set())
        stack.callback(stop, ours)
    size = await measure_frame_bytes(ours)
    print(f"our frames: {size} bytes (median); the bare server sends that size\n", flush=True)
    port = free_port()
    bare_args = ["-m", "bench.bare_broadcast_server", "--port", str(port)]
    bare = launch("bare", [*bare_args, "--frame-bytes", str(size)], port, {}, set())
    stack.callback(stop, bare)
    rows: list[Phase] = []
    plan = [("ours", ours, True, False, False), ("ours+stall", ours, True, True, False)]
    plan += [("ours+ask", ours, True, False, True), ("bare+stall", bare, False, True, False)]
    for name, server, is_ours, stall, ask in plan:
        print(f"  {name}: {args.viewers} viewers ...", file=sys.stderr, flush=True)
        rows.append(await run_phase(name, server, is_ours, stall, ask, args, redis))
        await asyncio.sleep(1.5)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--procs", type=int, default=3, help="load-generator processes")
    parser.add_argument(
        "--redis", action="store_true", help="ours: --workers workers, rooms through Redis"
    )
    parser.add_argument("--workers", type=int, default=2, help="with --redis")
    parser.add_argument(
        "--answer-within", type=float, default=5.0, help="ours+ask: seconds to answer in"
    )
    args = parser.parse_args(argv)
    if args.viewers < 1 or args.procs < 1 or args.workers < 1:
        parser.error("need --viewers >= 1, --procs >= 1, --workers >= 1")
    if not 0 < args.answer_within < args.seconds:
        parser.error("need 0 < --answer-within < --seconds")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(60 + 4 * (READY_TIMEOUT + args.warmup + args.seconds + 70)))
    fds = raise_fd_limit(2 * args.viewers + 256)
    print(
        f"room_bench: {os.cpu_count()} cores; open-file limit {fds}; load average before "
        f"{os.getloadavg()[0]:.2f}; code {code_version()}\npresenter: rosenbrock, 4 runs, "
        f"60 steps/s, {FPS:.0f} frames/s; {args.viewers} viewers in {args.procs} processes; "
        f"warm-up {args.warmup:g} s, window {args.seconds:g} s"
    )
    try:
        with contextlib.ExitStack() as stack:
            rows = asyncio.run(run_all(args, stack))
    finally:
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
