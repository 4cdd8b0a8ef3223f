"""One phase of ``bench/ws_bench.py``: N sessions against one server, and what they measured."""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from websockets.asyncio.client import connect
from websockets.typing import Origin

from bench.procs import ServerProcess, cpu_seconds, machine_busy_seconds
from bench.ws_load import (
    FPS,
    FRAME_PREFIX,
    READY_TIMEOUT,
    START_TEXT,
    WorkerResult,
    WorkerSpec,
    worker_main,
)


@dataclass
class Phase:
    server: str
    sessions: int
    seconds: float
    delivered: float  # all sessions' frames / (sessions x seconds x FPS)
    worst: float  # the worst session's share
    gap_p99: float  # s
    ack_p50: float  # s
    ack_p99: float  # s
    acks: int
    server_cpu: float  # cores (1.0 = one core busy)
    loadgen_cpu: float  # cores
    other_cpu: float  # cores: the rest of the machine
    frame_bytes: int
    failed: int
    refusals: int
    stops: int
    errors: list[str]

    @property
    def cpu_per_session_ms(self) -> float:
        """Server CPU milliseconds per second per session."""
        return self.server_cpu * 1000.0 / self.sessions

    @property
    def cpu_per_frame_us(self) -> float:
        frames = self.delivered * self.sessions * self.seconds * FPS
        return self.server_cpu * self.seconds * 1e6 / frames if frames else math.inf


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; inf values (lost acks) stay inf."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100.0 * len(ordered)) - 1)]


def run_phase(
    server: ServerProcess,
    n: int,
    probes: int,
    procs: int,
    warmup: float,
    seconds: float,
    cpus: frozenset[int],
) -> Phase:
    ctx = mp.get_context("fork")
    total = n + probes
    shares = [total // procs + (1 if i < total % procs else 0) for i in range(procs)]
    workers: list[tuple[mp.process.BaseProcess, Connection]] = []
    finished = False
    try:
        for i, share in enumerate(shares):
            mine, theirs = ctx.Pipe()
            probes_here = min(share, max(0, probes - sum(shares[:i])))
            spec = WorkerSpec(
                server.url,
                server.origin,
                server.name == "ours",
                share - probes_here,
                probes_here,
                i,
                cpus,
            )
            worker = ctx.Process(target=worker_main, args=(theirs, spec), daemon=True)
            worker.start()
            theirs.close()
            workers.append((worker, mine))
        errors: list[str] = []
        for _, conn in workers:
            if not conn.poll(READY_TIMEOUT + 10.0):
                raise RuntimeError("a load-generator process did not get its sessions up")
            errors += conn.recv()[1]
        t0 = time.monotonic() + warmup
        t1 = t0 + seconds
        for _, conn in workers:
            conn.send((t0, t1))
        time.sleep(max(0.0, t0 - time.monotonic()))
        server0, busy0 = cpu_seconds(server.proc.pid), machine_busy_seconds()
        time.sleep(max(0.0, t1 - time.monotonic()))
        server1, busy1 = cpu_seconds(server.proc.pid), machine_busy_seconds()
        results: list[WorkerResult] = []
        for _, conn in workers:
            if not conn.poll(30.0):
                raise RuntimeError("a load-generator process did not report")
            results.append(conn.recv())
        finished = True
    finally:
        for proc, conn in workers:
            proc.join(8.0 if finished else 0.1)  # after an error or a signal, no waiting
            if proc.is_alive():
                proc.terminate()
                proc.join(2.0)
            conn.close()
    frames = [f for r in results for f in r.frames]
    gaps = [g for r in results for g in r.gaps]
    acks = [a for r in results for a in r.acks]
    sizes = [b for r in results for b in r.frame_bytes]
    expected = seconds * FPS
    server_cpu = (server1 - server0) / seconds
    loadgen_cpu = sum(r.cpu for r in results) / seconds
    return Phase(
        server=server.name,
        sessions=total,
        seconds=seconds,
        delivered=sum(frames) / (total * expected),
        worst=min(frames, default=0) / expected,
        gap_p99=percentile(gaps, 99),
        ack_p50=percentile(acks, 50),
        ack_p99=percentile(acks, 99),
        acks=len(acks),
        server_cpu=server_cpu,
        loadgen_cpu=loadgen_cpu,
        other_cpu=max(0.0, (busy1 - busy0) / seconds - server_cpu - loadgen_cpu),
        frame_bytes=int(statistics.median(sizes)) if sizes else 0,
        failed=sum(r.failed for r in results),
        refusals=sum(r.refusals for r in results),
        stops=sum(r.stops for r in results),
        errors=(errors + [e for r in results for e in r.errors])[:3],
    )


# -- the frame size to imitate -------------------------------------------------------------------


async def measure_frame_bytes(server: ServerProcess) -> int:
    """Median size of our frames over ~1.5 s of one race (the bare server sends this size)."""
    async with connect(
        server.url, origin=Origin(server.origin), compression=None, proxy=None, open_timeout=20.0
    ) as ws:
        await ws.send(START_TEXT)
        sizes: list[int] = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            data = await asyncio.wait_for(ws.recv(decode=False), 5.0)
            assert isinstance(data, bytes)
            if data.startswith(FRAME_PREFIX) and b'"step":0,' not in data:
                sizes.append(len(data))
    if not sizes:
        raise RuntimeError("our server sent no frames")
    return int(statistics.median(sizes))
