"""Analysis speed: a basin map against a bare numpy loop, lr sweeps, live sessions during a map.

1. Basin map: 250 x 250 starts of Adam (lr 0.01, torch's other defaults) on Rosenbrock for 500
   steps, through :func:`server.analysis.basin.basin` (what ``POST /api/basin`` runs in its
   worker thread: the checks, the batched traced update, the stop checks, the nearest-minimum
   tracking of every cell at every step, the lists of the answer; not the JSON encoding). The
   reference, measured in the same run, alternating with ours: a bare hand-written numpy Adam
   loop over the same 62,500 starts (one ``(N,)`` column per coordinate and per moment, every
   temporary in a reused buffer, the Rosenbrock gradient written out; no loss, no checks, no
   tracking), whose end points must equal ours before anything is timed. Targets: at most 3 s,
   at most 1.3x the bare loop (wall clock); the ratio of CPU times is printed too, being far
   less shaken by the other jobs of a shared machine.
2. Sweeps: ``POST /api/sweep``'s function for each of the 15 optimizers, 64 learning rates from
   1e-5 to 10 on Rosenbrock from its default start, 500 steps. Target: all 15 within 1 s.
3. Live sessions during a map: ``python -m server serve`` on a free port, ``SESSIONS`` websocket
   races (4 runs each at 60 steps per second, so a frame every 1/30 s), and a 250 x 250 map of
   2,000 steps requested over REST (``POST /api/basin``, a fresh request each time, so no cache;
   the server computes it in its analysis worker process).
   The intervals between consecutive frames of every session are measured while no map runs and
   while the map computes. Target: p99 under 50 ms during the map.

Each part runs ``REPEATS`` times; the best and the median are printed (the machine is shared:
other jobs slow some repeats). Run from the repository root: ``python -m bench.analysis_bench``
(about a minute); ``--parts basin,sweep,live`` picks parts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import numpy as np
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.procs import free_port, launch, stop
from bench.ws_load import START_TEXT
from bench.ws_phase import percentile
from server.analysis.basin import basin, plan
from server.analysis.requests import BasinRequest, SweepRequest
from server.analysis.sweep import sweep
from server.optim.registry import OPTIMIZERS

REPEATS = 5
N = 250
STEPS = 500
LR = 0.01
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
TARGET_BASIN_S = 3.0
TARGET_BASIN_RATIO = 1.3
SWEEP_POINTS = 64
TARGET_SWEEP_S = 1.0
SESSIONS = 4
LIVE_N, LIVE_STEPS = 250, 2000
QUIET_S = 3.0
TARGET_GAP_P99 = 0.050


def basin_body(n: int = N, steps: int = STEPS, lr: float = LR) -> BasinRequest:
    return BasinRequest(surface="rosenbrock", optimizer="adam", hyper={"lr": lr}, steps=steps, n=n)


def grid_starts(body: BasinRequest) -> tuple[np.ndarray, np.ndarray]:
    p = plan(body)
    xs, ys = np.meshgrid(p.x, p.y)
    return xs.ravel().copy(), ys.ravel().copy()


def bare_adam(x: np.ndarray, y: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's Adam on Rosenbrock (a = 1, b = 100) written out in numpy, nothing else.

    The operations are torch's, in torch's order (so the end points are ours, bit for bit); the
    bias corrections use numpy's power, as the optimizer's numpy code does.
    """
    x, y = x.copy(), y.copy()
    n = len(x)
    mx, my, vx, vy = (np.zeros(n) for _ in range(4))
    gx, gy, t, u = (np.empty(n) for _ in range(4))
    count = np.zeros(1)
    betas = np.array([BETA1, BETA2])
    for _ in range(steps):
        count += 1.0
        np.multiply(x, x, out=t)
        np.subtract(y, t, out=t)  # y - x²
        np.multiply(t, 200.0, out=gy)
        np.multiply(x, 2.0, out=t)
        np.multiply(t, gy, out=gx)
        np.subtract(1.0, x, out=t)
        np.multiply(t, -2.0, out=t)
        np.subtract(t, gx, out=gx)  # -2(1 - x) - 2x · 200(y - x²)
        step = -LR / (1.0 - float(np.power(betas[:1], count)[0]))
        root = math.sqrt(1.0 - float(np.power(betas[1:], count)[0]))
        for p, g, m, v in ((x, gx, mx, vx), (y, gy, my, vy)):
            np.subtract(g, m, out=u)
            u *= 1.0 - BETA1
            m += u  # m.lerp_(g, 1 - β1)
            v *= BETA2
            np.multiply(g, g, out=u)
            u *= 1.0 - BETA2
            v += u  # v.mul_(β2).addcmul_(g, g, 1 - β2)
            np.sqrt(v, out=u)
            u /= root
            u += EPS
            np.multiply(m, step, out=t)
            np.divide(t, u, out=u)
            p += u  # p.addcdiv_(m, denom, -step)
    return x, y


def check_bare_agrees(body: BasinRequest) -> float:
    """The largest difference between our end points and the bare loop's (must be ~0)."""
    x, y = grid_starts(body)
    ours = plan(body).batch(np.column_stack([x, y])).run(body.steps)
    bx, by = bare_adam(x, y, body.steps)
    if (ours.diverged_at >= 0).any():
        raise SystemExit("some cells diverged: choose settings where the bare loop compares")
    diff = float(max(np.abs(ours.point[:, 0] - bx).max(), np.abs(ours.point[:, 1] - by).max()))
    if not diff <= 1e-9:
        raise SystemExit(f"the bare loop and ours end {diff:g} apart: the timings compare nothing")
    return diff


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def timed_cpu(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU time of ``work`` (this thread's: other jobs on the machine slow the wall
    clock far more than the CPU time)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    work()
    return time.perf_counter() - wall, time.thread_time() - cpu


@dataclass
class Figure:
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def part_basin(repeats: int) -> list[str]:
    body = basin_body()
    diff = check_bare_agrees(body)
    x, y = grid_starts(body)
    ours, bare, cpu_ratios = [], [], []
    for _ in range(repeats):
        o_wall, o_cpu = timed_cpu(lambda: basin(body))
        b_wall, b_cpu = timed_cpu(lambda: bare_adam(x, y, STEPS))
        ours.append(o_wall)
        bare.append(b_wall)
        cpu_ratios.append(o_cpu / b_cpu)
    o = Figure(ours)
    b = Figure(bare)
    ratios = [a / c for a, c in zip(ours, bare, strict=True)]
    return [
        f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"basin map {N}x{N} adam lr {LR} rosenbrock, {STEPS} steps "
        f"(end points agree with the bare loop within {diff:.1e})",
        f"  ours (server.analysis.basin.basin): best {o.best:.3f} s, median {o.median:.3f} s "
        f"(target <= {TARGET_BASIN_S:g} s: {verdict(o.median <= TARGET_BASIN_S)})",
        f"  bare numpy Adam loop:              best {b.best:.3f} s, median {b.median:.3f} s",
        f"  ratio ours/bare, pairwise:         best {min(ratios):.2f}x, "
        f"median {statistics.median(ratios):.2f}x "
        f"(target <= {TARGET_BASIN_RATIO:g}x: {verdict(statistics.median(ratios) <= TARGET_BASIN_RATIO)})",
        f"  ratio of CPU times, pairwise:      best {min(cpu_ratios):.2f}x, "
        f"median {statistics.median(cpu_ratios):.2f}x",
    ]


def sweep_all() -> dict[str, float]:
    per: dict[str, float] = {}
    for name in OPTIMIZERS:
        body = SweepRequest(surface="rosenbrock", optimizer=name, steps=STEPS, n=SWEEP_POINTS)
        per[name] = timed(lambda body=body: sweep(body))  # type: ignore[misc]
    return per


def part_sweep(repeats: int) -> list[str]:
    sweep_all()  # compiles every optimizer's update once, as a running server has
    runs = [sweep_all() for _ in range(repeats)]
    totals = Figure([sum(r.values()) for r in runs])
    slowest = sorted(OPTIMIZERS, key=lambda k: -statistics.median(r[k] for r in runs))[:3]
    slow = ", ".join(f"{k} {statistics.median(r[k] for r in runs) * 1e3:.0f} ms" for k in slowest)
    return [
        f"lr sweeps: {len(OPTIMIZERS)} optimizers x {SWEEP_POINTS} lrs (1e-5..10), rosenbrock, "
        f"{STEPS} steps",
        f"  all {len(OPTIMIZERS)}: best {totals.best:.3f} s, median {totals.median:.3f} s "
        f"(target <= {TARGET_SWEEP_S:g} s: {verdict(totals.median <= TARGET_SWEEP_S)}); "
        f"slowest (median): {slow}",
    ]


class Session:
    """One websocket race; records when each frame arrives."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def run(self, url: str, origin: str, ready: asyncio.Event, count: list[int]) -> None:
        async with connect(url, origin=Origin(origin), compression=None) as ws:
            await ws.send(START_TEXT)
            await self._until_ack(ws)
            count[0] += 1
            if count[0] == SESSIONS:
                ready.set()
            async for data in ws:
                if isinstance(data, bytes | str) and data[:15] in (
                    '{"type":"frame"',
                    b'{"type":"frame"',
                ):
                    self.arrivals.append(time.monotonic())

    async def _until_ack(self, ws: ClientConnection) -> None:
        while True:
            data = await asyncio.wait_for(ws.recv(), 30.0)
            text = data if isinstance(data, str) else data.decode()
            if text.startswith('{"type":"ack"') and '"of":"start"' in text:
                return
            if text.startswith('{"type":"error"'):
                raise RuntimeError(text)


def gaps(sessions: Sequence[Session], t0: float, t1: float) -> list[float]:
    out: list[float] = []
    for s in sessions:
        times = [t for t in s.arrivals if t0 <= t <= t1]
        out += [b - a for a, b in itertools.pairwise(times)]
    return out


async def live_run(port: int, repeats: int) -> list[tuple[list[float], list[float], float]]:
    url, origin = f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}"
    sessions = [Session() for _ in range(SESSIONS)]
    ready, count = asyncio.Event(), [0]
    tasks = [asyncio.create_task(s.run(url, origin, ready, count)) for s in sessions]
    results = []
    try:
        await asyncio.wait_for(ready.wait(), 60.0)
        await asyncio.sleep(1.0)  # warm-up
        async with httpx.AsyncClient(base_url=origin, timeout=120.0) as client:
            for i in range(repeats):
                q0 = time.monotonic()
                await asyncio.sleep(QUIET_S)
                q1 = time.monotonic()
                body = basin_body(LIVE_N, LIVE_STEPS, LR * (1.0 + 0.01 * i))  # not cached
                response = await client.post("/api/basin", json=body.model_dump(mode="json"))
                m1 = time.monotonic()
                if (
                    response.status_code != 200
                    or len(orjson.loads(response.content)["x"]) != LIVE_N
                ):
                    raise SystemExit(f"the map request failed: {response.text[:200]}")
                results.append((gaps(sessions, q0, q1), gaps(sessions, q1, m1), m1 - q1))
        for task in tasks:
            if task.done() and task.exception() is not None:
                raise SystemExit(f"a session failed: {task.exception()}")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


def part_live(repeats: int) -> list[str]:
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    port = free_port()
    server = launch(
        "ours",
        ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"],
        port,
        {},
        set(),
    )
    try:
        results = asyncio.run(live_run(port, repeats))
    finally:
        stop(server)
    quiet_p99 = [percentile(q, 99) for q, _, _ in results]
    busy_p99 = [percentile(b, 99) for _, b, _ in results]
    busy_max = [max(b) for _, b, _ in results]
    walls = [w for _, _, w in results]
    frames = statistics.median(len(b) for _, b, _ in results)
    return [
        f"live: {SESSIONS} websocket races (a frame every 33 ms) while POST /api/basin computes "
        f"{LIVE_N}x{LIVE_N} x {LIVE_STEPS} steps ({frames:.0f} intervals per map; load {load})",
        f"  map wall time (REST, JSON included): best {min(walls):.2f} s, "
        f"median {statistics.median(walls):.2f} s",
        f"  frame interval p99 with no map:  best {ms(min(quiet_p99))}, median "
        f"{ms(statistics.median(quiet_p99))}",
        f"  frame interval p99 during a map: best {ms(min(busy_p99))}, median "
        f"{ms(statistics.median(busy_p99))}, worst max {ms(max(busy_max))} "
        f"(target p99 < {ms(TARGET_GAP_P99)}: {verdict(statistics.median(busy_p99) < TARGET_GAP_P99)})",
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


PARTS: dict[str, Callable[[int], list[str]]] = {
    "basin": part_basin,
    "sweep": part_sweep,
    "live": part_live,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: basin,sweep,live"
    )
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    for name in args.parts.split(","):
        for line in PARTS[name](args.repeats):
            print(line, flush=True)


if __name__ == "__main__":
    main()
