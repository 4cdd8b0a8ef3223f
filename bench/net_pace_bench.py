"""Does network training block the event loop? Frame pace of surface sessions, with and without
16 concurrent network trainings on the same server.

A server process (ours, on 127.0.0.1) serves 40 surface races (4 runs each, 60 steps/s) whose
inter-frame intervals are measured for ``--seconds``; then the same again while 16 more sessions
train a 2-16-16-1 tanh net on 400 spiral points (Adam vs SGD, 60 steps/s, full batch). Prints the
p50/p99 interval of the surface sessions in both phases and the ratio. Target: p99 <= 50 ms with
the trainings running. Run: ``python -m bench.net_pace_bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

if __package__ in (None, ""):  # run as a script: python bench/net_pace_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.procs import free_port, launch, stop

SURFACE: dict[str, Any] = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [
        {"id": k, "optimizer": name, "hyper": {"lr": 1e-4}, "start": [-1.5, 2.0]}
        for k, name in zip("abcd", ["adam", "momentum", "rmsprop", "nesterov"], strict=True)
    ],
    "max_steps": 100_000,
    "steps_per_second": 60,
}
NETWORK: dict[str, Any] = {
    "type": "start",
    "problem": {
        "network": {"dataset": "spiral", "n": 400, "hidden": [16, 16], "activation": "tanh"}
    },
    "runs": [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.02}},
        {"id": "s", "optimizer": "sgd", "hyper": {"lr": 0.5}},
    ],
    "max_steps": 100_000,
    "steps_per_second": 60,
}


async def watch(ws: ClientConnection, until: float, gaps: list[float]) -> int:
    """Record intervals between frames until ``until``; return the frames received."""
    last, frames = None, 0
    while (left := until - time.monotonic()) > 0:
        try:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if msg["type"] != "frame":
            continue
        now = time.monotonic()
        if last is not None:
            gaps.append(now - last)
        last, frames = now, frames + 1
    return frames


async def drain(ws: ClientConnection, until: float) -> int:
    frames = 0
    while (left := until - time.monotonic()) > 0:
        try:
            frames += orjson.loads(await asyncio.wait_for(ws.recv(), left))["type"] == "frame"
        except TimeoutError:
            break
    return frames


async def phase(
    url: str, origin: str, surfaces: int, networks: int, seconds: float
) -> dict[str, float]:
    headers = {"Origin": origin}
    conns = [
        await connect(url, additional_headers=headers, max_size=None)
        for _ in range(surfaces + networks)
    ]
    try:
        for i, ws in enumerate(conns):
            await ws.send(orjson.dumps(SURFACE if i < surfaces else NETWORK).decode())
        await asyncio.sleep(2.0)  # warm up: landscapes, torch-free twins off
        until = time.monotonic() + seconds
        gaps: list[float] = []
        counts = await asyncio.gather(
            *(watch(ws, until, gaps) for ws in conns[:surfaces]),
            *(drain(ws, until) for ws in conns[surfaces:]),
        )
    finally:
        for ws in conns:
            await ws.close()
    gaps.sort()
    return {
        "p50": statistics.median(gaps) * 1e3,
        "p99": gaps[int(0.99 * (len(gaps) - 1))] * 1e3,
        "surface_fps": sum(counts[:surfaces]) / surfaces / seconds,
        "network_fps": sum(counts[surfaces:]) / max(networks, 1) / seconds,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--surfaces", type=int, default=40)
    parser.add_argument("--networks", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    port = free_port()
    env = {"GRADSCAPE_MAX_SESSIONS": "1000"}
    server = launch(
        "ours",
        ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"],
        port,
        env,
        set(),
    )
    try:
        url, origin = server.url, server.origin
        alone = asyncio.run(phase(url, origin, args.surfaces, 0, args.seconds))
        loaded = asyncio.run(phase(url, origin, args.surfaces, args.networks, args.seconds))
    finally:
        stop(server)
    print(f"{args.surfaces} surface sessions (4 runs, 60 steps/s), {args.seconds:g} s each phase")
    print(f"{'phase':<34} {'p50 ms':>8} {'p99 ms':>8} {'surface fps':>12} {'network fps':>12}")
    print(
        f"{'surfaces alone':<34} {alone['p50']:8.1f} {alone['p99']:8.1f} {alone['surface_fps']:12.1f} {'-':>12}"
    )
    label = f"+ {args.networks} network trainings"
    print(
        f"{label:<34} {loaded['p50']:8.1f} {loaded['p99']:8.1f} "
        f"{loaded['surface_fps']:12.1f} {loaded['network_fps']:12.1f}"
    )
    ok = loaded["p99"] <= 50.0
    print(
        f"p99 ratio loaded/alone: {loaded['p99'] / alone['p99']:.2f}x; "
        f"target p99 <= 50 ms with the trainings: {'met' if ok else 'NOT met'}"
    )
    print("(load generator, server and trainings share this machine's cores)")


if __name__ == "__main__":
    main()
