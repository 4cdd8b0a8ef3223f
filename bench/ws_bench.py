"""Live streaming under load: N concurrent race sessions vs a bare websocket server, same run.

For each N (default 50, 200, 500) two phases run one after the other, each against its own server
process on 127.0.0.1:

- ``ours``: ``python -m server serve`` (``server.__main__.uvicorn_config``: websockets-sansio,
  permessage-deflate off) with ``GRADSCAPE_MAX_SESSIONS`` raised so every session fits. Each client
  sends a ``start`` with 4 runs on rosenbrock (adam, momentum, rmsprop, nesterov) at
  ``steps_per_second`` 60, so each 1/30 s frame carries about 2 new points per run, and
  ``max_steps`` 100,000 so no race ends during the phase.
- ``bare``: ``bench/bare_ws_server.py``, FastAPI + uvicorn with the same websocket options and
  interpreter settings (``server.__main__.tune_runtime``), sending
  each connection a pre-encoded frame of the byte size measured on ours at the start of the run,
  30 times a second, and acking every ``set`` at once.

Besides the N streaming clients, ``--probes`` more sessions (also streaming and counted) send a
``set`` (adam's lr) every ~0.25 s during the window and time it to the matching ``ack``, so the
``set`` latency is measured while N other sessions stream. After all sessions stream, a warm-up,
then a measurement window: delivered frames / (sessions x window x 30), the p99 of the intervals
between consecutive frames of a session, the ``set`` -> ``ack`` p50/p99 (a probe that waits
more than 2 s counts as infinitely late), and the server's CPU from /proc/<pid>/stat
(utime + stime over the window).

The load generator (asyncio + the ``websockets`` client, ``--procs`` processes) runs on the same
cores as the server; its CPU and the rest of the machine's are printed, since they are not free.
``--pin`` puts the server on the last core and the load generator on the others; on a shared
machine ``--quiet-wait 60`` waits (up to 60 s before each phase) for other jobs to go quiet.
Server CPU per delivered frame is the figure least disturbed by other load, and the one the
CPU target is judged on (a server that drops frames spends less per session only by doing less).

Run from the repository root: ``python -m bench.ws_bench [--clients 50,200] [--seconds 10]``
(about 2-3 minutes with the defaults; every wait has a timeout, a watchdog ends the run, and the
server processes are killed on exit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import math
import multiprocessing as mp
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

FPS = 30.0
STEPS_PER_SECOND = 60
MAX_STEPS = 100_000
ACK_TIMEOUT = 2.0
PROBE_EVERY = 0.25
CONNECTS_AT_ONCE = 32
READY_TIMEOUT = 90.0
QUIET_CORES = 0.3  # the rest of the machine counts as quiet below this load

TARGET_DELIVERED = 0.99  # at N = 500
TARGET_GAP_P99 = 0.050  # s, at N = 500
TARGET_ACK_P99 = 0.030  # s, while 200 sessions stream
TARGET_CPU_RATIO = 2.0  # CPU per session, ours / bare

REPO = Path(__file__).resolve().parent.parent
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


# -- processes ----------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Linux: SIGTERM this process when the benchmark dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all its threads), from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit: float, patience: float) -> float:
    """Wait (up to ``patience`` s) for a second in which the machine uses < ``limit`` cores.

    Returns the load of the last second sampled, in cores. Our own servers idle between phases,
    so what this sees is other jobs on the machine.
    """
    deadline = time.monotonic() + patience
    while True:
        busy0 = machine_busy_seconds()
        time.sleep(1.0)
        load = machine_busy_seconds() - busy0
        if load < limit or time.monotonic() >= deadline:
            return load


def code_version() -> str:
    """The commit measured, and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "server"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in server/' if dirty else ''}" if head else "unknown"


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class ServerProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def launch(
    name: str, args: list[str], port: int, env: dict[str, str], cpus: set[int]
) -> ServerProcess:
    def setup() -> None:
        die_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # the banner; errors still reach stderr
        preexec_fn=setup,
    )
    server = ServerProcess(name, port, proc)
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return server
        time.sleep(0.1)
    raise RuntimeError(f"{name} server did not listen on port {port} within 30 s")


def stop(server: ServerProcess) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5.0)


# -- the load generator (runs in worker processes) ---------------------------------------------


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


# -- one phase: N sessions against one server ---------------------------------------------------


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


# -- report ----------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f">{ACK_TIMEOUT * 1000:.0f}" if math.isinf(seconds) else f"{seconds * 1000:.1f}"


def ratio(a: float, b: float) -> str:
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(rows: list[tuple[Phase, Phase]]) -> None:
    head = (
        f"{'N':>4} {'server':<6} {'frames':>7} {'worst':>6} {'gap p99':>8} {'ack p50':>8} "
        f"{'ack p99':>8} {'srv CPU':>8} {'ms/s/ses':>9} {'us/frame':>9} {'loadgen':>8} "
        f"{'others':>7} {'bytes':>6}"
    )
    print(head)
    print("-" * len(head))
    for bare, ours in rows:
        for p in (bare, ours):
            print(
                f"{p.sessions:>4} {p.server:<6} {p.delivered:>7.1%} {p.worst:>6.1%} "
                f"{ms(p.gap_p99):>8} {ms(p.ack_p50):>8} {ms(p.ack_p99):>8} "
                f"{p.server_cpu:>8.0%} {p.cpu_per_session_ms:>9.3f} {p.cpu_per_frame_us:>9.1f} "
                f"{p.loadgen_cpu:>8.0%} {p.other_cpu:>7.0%} {p.frame_bytes:>6}"
            )
        print(
            f"{'':>4} {'ratio':<6} {ratio(ours.delivered, bare.delivered):>7} {'':>6} "
            f"{ratio(ours.gap_p99, bare.gap_p99):>8} {ratio(ours.ack_p50, bare.ack_p50):>8} "
            f"{ratio(ours.ack_p99, bare.ack_p99):>8} {ratio(ours.server_cpu, bare.server_cpu):>8} "
            f"{ratio(ours.cpu_per_session_ms, bare.cpu_per_session_ms):>9} "
            f"{ratio(ours.cpu_per_frame_us, bare.cpu_per_frame_us):>9}"
        )
        for p in (bare, ours):
            if p.failed or p.refusals or p.stops or p.errors:
                print(
                    f"     {p.server} N={p.sessions}: {p.failed} sessions failed, {p.refusals} "
                    f"error replies, {p.stops} run-ended events; {'; '.join(p.errors)}"
                )


def print_contention(rows: list[tuple[Phase, Phase]]) -> None:
    busy = [p for pair in rows for p in pair if p.other_cpu > QUIET_CORES]
    if busy:
        shown = ", ".join(f"{p.server} N={p.sessions} {p.other_cpu:.0%}" for p in busy)
        print(
            f"\nWARNING: other jobs used more than {QUIET_CORES:.0%} of a core during: {shown}. "
            "Those phases had less CPU than an idle machine gives; rerun with --quiet-wait 60 "
            "or on a quiet machine. Server CPU per delivered frame (us/frame) is the figure "
            "least sensitive to this."
        )


def print_targets(rows: list[tuple[Phase, Phase]], probes: int) -> None:
    print("\ntargets (ours):")
    by_n = {ours.sessions - probes: ours for _, ours in rows}
    big = by_n.get(500)
    if big is None:
        print("  500 sessions: not run (add 500 to --clients)")
    else:
        print(
            f"  {big.sessions} sessions: frames delivered {big.delivered:.1%} >= 99%: "
            f"{verdict(big.delivered >= TARGET_DELIVERED)}; p99 interval {ms(big.gap_p99)} ms "
            f"<= 50 ms: {verdict(big.gap_p99 <= TARGET_GAP_P99)}"
        )
    mid = by_n.get(200)
    if mid is None:
        print("  set -> ack while 200 sessions stream: not run (add 200 to --clients)")
    else:
        print(
            f"  set -> ack p99 while 200 other sessions stream: {ms(mid.ack_p99)} ms <= 30 ms: "
            f"{verdict(mid.ack_p99 <= TARGET_ACK_P99)}"
        )
    for bare, ours in rows:
        # Judged per delivered frame: a server that drops frames spends less per session only
        # because it does less; when both deliver every frame the two ratios are the same.
        r = ours.cpu_per_frame_us / bare.cpu_per_frame_us if bare.server_cpu > 0 else math.inf
        print(
            f"  server CPU at N={ours.sessions}: {r:.2f}x bare per delivered frame "
            f"({ratio(ours.cpu_per_session_ms, bare.cpu_per_session_ms)} per session) <= 2x: "
            f"{verdict(r <= TARGET_CPU_RATIO)}"
        )


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="50,200,500", help="streaming sessions per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=3.0, help="after every session streams")
    parser.add_argument("--probes", type=int, default=10, help="extra sessions that send set")
    parser.add_argument("--procs", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--pin", action="store_true", help="server on the last core, load on the rest"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each phase, wait up to this many seconds for other jobs to go quiet",
    )
    args = parser.parse_args(argv)
    args.ns = [int(v) for v in args.clients.split(",") if v.strip()]
    if not args.ns or min(args.ns) < 1 or args.seconds <= 0 or args.procs < 1 or args.probes < 0:
        parser.error("need --clients >= 1, --seconds > 0, --procs >= 1, --probes >= 0")
    return args


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def run_all(
    args: argparse.Namespace,
    started: list[ServerProcess],
    server_cpus: set[int],
    load_cpus: frozenset[int],
) -> list[tuple[Phase, Phase]]:
    """Start both servers (recorded in ``started`` for the caller to stop) and run every phase."""
    port = free_port()
    env = {"GRADSCAPE_MAX_SESSIONS": str(max(args.ns) + args.probes + 16)}
    serve = ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"]
    ours = launch("ours", serve, port, env, server_cpus)
    started.append(ours)
    frame_bytes = asyncio.run(measure_frame_bytes(ours))
    port = free_port()
    bare_args = [
        "-m",
        "bench.bare_ws_server",
        "--port",
        str(port),
        "--frame-bytes",
        str(frame_bytes),
    ]
    bare = launch("bare", bare_args, port, {}, server_cpus)
    started.append(bare)
    print(f"our frames: {frame_bytes} bytes (median); the bare server sends that size\n")
    rows: list[tuple[Phase, Phase]] = []
    for n in args.ns:
        pair: list[Phase] = []
        for server in (bare, ours):
            if args.quiet_wait > 0:
                wait_for_quiet(QUIET_CORES, args.quiet_wait)
            print(f"  {server.name}: {n}+{args.probes} sessions ...", file=sys.stderr, flush=True)
            pair.append(
                run_phase(server, n, args.probes, args.procs, args.warmup, args.seconds, load_cpus)
            )
            time.sleep(1.5)  # let the server drop the closed sessions
        rows.append((pair[0], pair[1]))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    phase = args.warmup + args.seconds + READY_TIMEOUT + args.quiet_wait + 1
    budget = 60 + len(args.ns) * 2 * phase
    signal.alarm(int(budget))  # the watchdog: a stuck phase cannot keep the servers alive
    fds = raise_fd_limit(2 * (max(args.ns) + args.probes) + 256)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[-1]} if args.pin and len(cpus) > 1 else set()
    load_cpus = frozenset(cpus[:-1]) if server_cpus else frozenset()
    pinning = f"pinned: server on core {cpus[-1]}" if server_cpus else "not pinned"
    print(
        f"ws_bench: {len(cpus)} cores, {pinning}; open-file limit {fds}; "
        f"load average before {os.getloadavg()[0]:.2f}; code {code_version()}"
    )
    print(
        f"each session: rosenbrock, 4 runs (adam, momentum, rmsprop, nesterov), "
        f"{STEPS_PER_SECOND} steps/s, {FPS:.0f} frames/s; {args.probes} extra sessions send set "
        f"every ~{PROBE_EVERY} s; warm-up {args.warmup:g} s, window {args.seconds:g} s"
    )
    started: list[ServerProcess] = []
    try:
        rows = run_all(args, started, server_cpus, load_cpus)
    finally:
        for server in started:
            stop(server)
        signal.alarm(0)
    print(
        "frames: delivered / (sessions x window x 30); worst: the worst session; gap: "
        "interval between a session's frames; ack: set -> ack (ms);\nsrv CPU: server "
        "process, 100% = one core; ms/s/ses: server CPU ms per second per session; "
        "us/frame: server CPU per delivered frame;\nloadgen: the load generator's CPU "
        "(same machine); others: the rest of the machine (other jobs), both in % of one core\n"
    )
    print_table(rows)
    print_targets(rows, args.probes)
    print_contention(rows)
    print(
        f"\nnote: the load generator shares the {len(cpus)} cores with the server; the "
        "intervals and latencies it measures include its own scheduling delays. "
        f"load average after {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
