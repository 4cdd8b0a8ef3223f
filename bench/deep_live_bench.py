"""The digits CNN as a lecturer trains it: how long until 97% held-out accuracy, over the real path.

A server process (ours, on 127.0.0.1) and one websocket client sending what the page sends when
the lecturer picks Networks mode (the page's first network race: the spiral MLP, twins on), then
"Digits (CNN)" with the page's defaults (``static/js/deepstate.js``, ``runstate.js``): all 1,797
digits, batch 64, conv 8 filters 3x3, padding 1, pool 2; Adam (lr 0.02) against SGD (lr 0.5),
seed 0, 2,000 steps at 60 steps/s, "Compare with PyTorch" on. Two phases:

- ``cold``: the digits race is the server's first network race (torch is imported, and its
  twins built, inside the race's clock);
- ``warm``: the spiral MLP race first (as the page starts Networks mode), then the digits race.

For the digits race it prints the wall time from sending ``start`` to the first frame in which a
run's ``test_acc`` reaches 0.97 (and that step, for each run and twin), the steps per second
over the race's first ``--seconds``, and the machine's load. Target: 97% within 30 s, warm and
cold. Run: ``python -m bench.deep_live_bench`` (about a minute and a half).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

if __package__ in (None, ""):  # run as a script: python bench/deep_live_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.procs import code_version, free_port, launch, stop

TARGET_ACC = 0.97
TIME_LIMIT = 30.0
PAGE_RUNS: list[dict[str, Any]] = [  # runstate.js DEFAULT_RUNS_BY_MODE.network
    {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.02}, "schedule": None, "noise": 0},
    {"id": "b", "optimizer": "sgd", "hyper": {"lr": 0.5}, "schedule": None, "noise": 0},
]
DIGITS: dict[str, Any] = {  # deepstate.js deepNetwork() of the digits' defaults
    "model": "cnn",
    "dataset": "digits",
    "n": 1797,
    "batch_size": 64,
    "filters": 8,
    "kernel": 3,
    "stride": 1,
    "padding": 1,
    "pool": 2,
    "torch": True,
}
SPIRAL: dict[str, Any] = {  # hashcodecs.js DEFAULT_NET, as modes.js problemOf() sends it
    "dataset": "spiral",
    "n": 400,
    "noise": 0.1,
    "hidden": [16, 16],
    "activation": "tanh",
    "batch_size": None,
    "arms": 2,
    "torch": True,
}


def start_message(network: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "type": "start",
            "problem": {"network": network},
            "runs": PAGE_RUNS,
            "seed": 0,
            "max_steps": 2000,
            "steps_per_second": 60,
        }
    )


async def spiral_first(ws: ClientConnection, seconds: float) -> None:
    """The page's first network race, run until its twins stream (torch imported)."""
    await ws.send(start_message(SPIRAL).decode())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if msg["type"] == "frame" and any(r.endswith("~torch") for r in msg["runs"]):
            return
    raise RuntimeError("the spiral race's twins did not stream")


async def digits_race(ws: ClientConnection, seconds: float) -> dict[str, Any]:
    """Send the digits start; follow its frames for ``seconds`` (or until every series hit 97%)."""
    sent = time.monotonic()
    await ws.send(start_message(DIGITS).decode())
    reached: dict[str, tuple[float, int]] = {}  # run -> (seconds, step) of the first >= 97%
    last_step: dict[str, int] = {}
    first_frame = None
    twins: list[str] = []
    while (left := sent + seconds - time.monotonic()) > 0:
        try:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if msg["type"] == "ack" and msg.get("of") == "start":
            twins = list(msg.get("twins", []))
        if msg["type"] == "error":
            raise RuntimeError(f"server refused the race: {msg}")
        if msg["type"] != "frame":
            continue
        now = time.monotonic() - sent
        first_frame = now if first_frame is None else first_frame
        for run, part in msg["runs"].items():
            acc = part.get("test_acc") or []
            last_step[run] = part["step"] + len(acc) - 1
            hit = next((i for i, a in enumerate(acc) if a >= TARGET_ACC), None)
            if hit is not None and run not in reached:
                reached[run] = (now, part["step"] + hit)
        if len(reached) == len(PAGE_RUNS) + len(twins):
            break
    elapsed = time.monotonic() - sent
    return {
        "reached": reached,
        "steps": max((last_step.get(r["id"], 0) for r in PAGE_RUNS), default=0),
        "elapsed": elapsed,
        "first_frame": first_frame,
        "twins": twins,
    }


async def phase(url: str, origin: str, warm: bool, seconds: float) -> dict[str, Any]:
    async with connect(
        url, additional_headers={"Origin": origin}, max_size=None, compression=None
    ) as ws:
        if warm:
            await spiral_first(ws, 120.0)
        return await digits_race(ws, seconds)


def run_server_phase(warm: bool, seconds: float) -> dict[str, Any]:
    port = free_port()
    server = launch(
        "ours",
        ["-m", "server", "serve", "--port", str(port), "--log-level", "warning"],
        port,
        {},
        set(),
    )
    try:
        return asyncio.run(phase(server.url, server.origin, warm, seconds))
    finally:
        stop(server)


def show(name: str, result: dict[str, Any]) -> float | None:
    reached = result["reached"]
    first = min((t for t, _ in reached.values()), default=None)
    rate = result["steps"] / result["elapsed"]
    print(
        f"{name}: {result['steps']} steps in {result['elapsed']:.1f} s ({rate:.1f} steps/s)", end=""
    )
    print(f", first frame after {result['first_frame'] or float('nan'):.1f} s")
    for run in [r["id"] for r in PAGE_RUNS] + result["twins"]:
        if run in reached:
            t, step = reached[run]
            print(f"  {run:<9} 97% held-out at step {step:5d}, {t:6.1f} s after start")
        else:
            print(f"  {run:<9} 97% held-out not reached")
    verdict = "met" if first is not None and first <= TIME_LIMIT else "NOT met"
    print(
        f"  first run at 97%: {first if first is None else round(first, 1)} s; target <= {TIME_LIMIT:.0f} s: {verdict}"
    )
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40.0, help="how long to follow a race")
    parser.add_argument("--phase", choices=["warm", "cold", "both"], default="both")
    args = parser.parse_args()
    print(f"deep_live_bench at {code_version()}; load before: {os.getloadavg()[0]:.2f}")
    print(
        "digits CNN, page defaults: Adam lr 0.02 vs SGD lr 0.5, batch 64, 60 steps/s, torch twins on"
    )
    firsts = {}
    for name in ["warm", "cold"] if args.phase == "both" else [args.phase]:
        result = run_server_phase(name == "warm", args.seconds)
        firsts[name] = show(
            f"{name} ({'spiral race first' if name == 'warm' else 'first network race'})", result
        )
        print(f"  load after: {os.getloadavg()[0]:.2f} (1-minute average, 2 cores)")
    print(
        "summary: "
        + ", ".join(f"{k} 97% in {v if v is None else round(v, 1)} s" for k, v in firsts.items())
    )


if __name__ == "__main__":
    main()
