"""Per-step cost of the engine against torch.optim + autograd on Rosenbrock.

Ours is the real path, ``Race.advance``, for sgd, momentum, adam and rmsprop:

- one run, ``advance(1)`` called once per step (a live session stepping slowly),
- one run, ``advance(STEPS)`` in one call,
- 10,000 runs in one race, ``advance(STEPS)`` per call.

Every step includes what the engine always does: the update, the surface's value and gradient,
the gradient norm, the divergence and convergence checks and the returned chunks of points.

Torch: a float64 tensor of shape (1, 2) or (10000, 2) with ``requires_grad``, the Rosenbrock
formula written in torch, ``zero_grad``, ``backward`` and ``torch.optim.X.step`` with the same
hyperparameters from the same starts, ``torch.set_num_threads(1)``. Before timing, both sides
run the same steps and their points must agree (the benchmark stops otherwise).

REST: ``POST /api/trajectory`` for ``REST_STEPS`` steps through the real ASGI app, started up as
uvicorn starts it (its lifespan), through httpx's ``ASGITransport`` (request parsing, validation,
the race, JSON encoding, gzip, the response body received and gunzipped; not the client's JSON
parsing), per step: the first call of a fresh process (each optimizer in its own process, so
compiling its update is included), then the median of warm calls, each against torch blocks
timed in that same process.

Blocks of ``STEPS`` steps of the contestants alternate, so a busy machine slows both alike; each
figure is the median over the blocks. Targets: one run >= 25x faster than torch per step (the
REST path too), 10,000 runs >= 2x. Run from the repository root: ``python -m bench.optim_bench``
(about 40 s).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.engine import Race, RunConfig
from server.optim.registry import validate_hyper
from server.problems.surfaces import get_surface

STEPS = 500
BLOCKS_ONE = 7
BLOCKS_MANY = 5
MANY = 10_000
START = (-1.5, 2.0)
TARGET_ONE = 25.0
TARGET_MANY = 2.0
REST_STEPS = 10_000
REST_CALLS = 5
CHECK_STEPS = 50
"""Steps after which the 10,000 runs are compared with torch's (later, a few of them circle in
the valley, where the last-bit differences of fused multiply-adds grow)."""


@dataclass(frozen=True)
class Case:
    name: str
    hyper: Mapping[str, float]
    torch_class: str
    torch_kwargs: Mapping[str, Any]


CASES = (
    Case("sgd", {"lr": 1e-4}, "SGD", {"lr": 1e-4}),
    Case("momentum", {"lr": 1e-4}, "SGD", {"lr": 1e-4, "momentum": 0.9}),
    Case("adam", {"lr": 1e-3}, "Adam", {"lr": 1e-3}),
    Case("rmsprop", {"lr": 1e-3}, "RMSprop", {"lr": 1e-3}),
)


def starts(runs: int) -> np.ndarray:
    if runs == 1:
        return np.array([START])
    rng = np.random.default_rng(0)  # left of the valley's minimum (1, 1): no run converges
    return np.column_stack([rng.uniform(-2.0, 0.0, runs), rng.uniform(-1.0, 3.0, runs)])


def race(case: Case, points: np.ndarray) -> Race:
    hyper = validate_hyper(case.name, case.hyper)
    runs = [RunConfig(f"r{i}", case.name, hyper, p) for i, p in enumerate(points)]
    return Race(get_surface("rosenbrock"), runs, max_steps=10**9)


class TorchRuns:
    """The same runs in torch: one (N, 2) parameter tensor and one torch.optim optimizer."""

    def __init__(self, torch: Any, case: Case, points: np.ndarray) -> None:
        self.torch = torch
        self.param = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        optimizer_class = getattr(torch.optim, case.torch_class)
        self.optimizer = optimizer_class([self.param], **case.torch_kwargs)

    def step(self) -> None:
        self.optimizer.zero_grad()
        x, y = self.param[:, 0], self.param[:, 1]
        loss = ((1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2).sum()
        loss.backward()
        self.optimizer.step()

    def points(self) -> np.ndarray:
        out: np.ndarray = self.param.detach().numpy().copy()
        return out


def median_us(blocks: int, contestants: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median per-step time of each contestant; each call runs one block and returns seconds."""
    times: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(blocks):
        for name, block in contestants.items():
            times[name].append(block() / STEPS * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def repeat(step: Callable[[], object]) -> None:
    for _ in range(STEPS):
        step()


def timed(work: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    if before is not None:
        before()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def check_agree(ours: np.ndarray, theirs: TorchRuns, name: str) -> None:
    """Both sides at the same step must be at the same points (up to float64 rounding)."""
    if not np.allclose(ours, theirs.points(), rtol=1e-6, atol=1e-9):
        raise SystemExit(
            f"{name}: the engine and torch.optim disagree; the timings compare nothing"
        )


def one_run(case: Case, torch: Any | None) -> list[tuple[str, float, float | None]]:
    stepwise, bulk = race(case, starts(1)), race(case, starts(1))
    contestants: dict[str, Callable[[], float]] = {
        "advance(1)": lambda: timed(lambda: repeat(stepwise.advance), stepwise.reset),
        f"advance({STEPS})": lambda: timed(lambda: bulk.advance(STEPS), bulk.reset),
    }
    if torch is not None:
        reference = TorchRuns(torch, case, starts(1))
        for _ in range(STEPS):
            reference.step()
        chunks, _ = bulk.advance(STEPS)
        check_agree(chunks["r0"].params[-1:], reference, case.name)

        def torch_block() -> float:
            runs = TorchRuns(torch, case, starts(1))
            return timed(lambda: repeat(runs.step))

        contestants["torch"] = torch_block
    us = median_us(BLOCKS_ONE, contestants)
    return [(label, us[label], us.get("torch")) for label in contestants if label != "torch"]


def many_runs(case: Case, torch: Any | None) -> tuple[str, float, float | None]:
    ours = race(case, starts(MANY))
    contestants: dict[str, Callable[[], float]] = {}
    if torch is not None:
        theirs = TorchRuns(torch, case, starts(MANY))
        for _ in range(CHECK_STEPS):
            theirs.step()
        check_agree(_ends(ours.advance(CHECK_STEPS)[0], ours.ids), theirs, case.name)
        contestants["torch"] = lambda: timed(lambda: repeat(theirs.step))
    kept: list[object] = []

    def ours_block() -> float:
        kept.clear()  # the previous block's chunks are consumed and dropped, as a caller would
        return timed(lambda: kept.append(ours.advance(STEPS)))

    contestants["ours"] = ours_block
    us = median_us(BLOCKS_MANY, contestants)
    if not all(s == "running" for s in ours.status):
        raise SystemExit(f"{case.name}: some of the {MANY} runs stopped; choose other settings")
    return f"{MANY:,}, advance({STEPS})", us["ours"], us.get("torch")


def _ends(chunks: Mapping[str, Any], ids: list[str]) -> np.ndarray:
    return np.stack([chunks[run_id].params[-1] for run_id in ids])


def rest_run(case: Case) -> tuple[float, list[float], list[float]]:
    """In a fresh process: the first REST call's and warm calls' us/step, and torch's."""
    import httpx
    import orjson

    from server.app import create_app

    torch = load_torch()
    body = {
        "surface": "rosenbrock",
        "optimizer": case.name,
        "hyper": dict(case.hyper),
        "start": list(START),
        "steps": REST_STEPS,
        "until": "max_steps",
    }

    async def calls() -> tuple[float, list[float], list[float]]:
        app = create_app()
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),  # start-up as served (ASGITransport skips it)
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):

            async def call() -> float:
                start = time.perf_counter()
                response = await client.post("/api/trajectory", json=body)  # body read, gunzipped
                elapsed = time.perf_counter() - start
                points = orjson.loads(response.content)["points"]  # the client's own business
                if response.status_code != 200 or len(points) != REST_STEPS + 1:
                    raise SystemExit(f"{case.name}: the REST call failed: {response.text[:200]}")
                return elapsed / REST_STEPS * 1e6

            first = await call()
            ours, theirs = [], []
            for _ in range(REST_CALLS):
                ours.append(await call())
                if torch is not None:
                    runs = TorchRuns(torch, case, starts(1))
                    theirs.append(timed(functools.partial(repeat, runs.step)) / STEPS * 1e6)
            return first, ours, theirs

    return asyncio.run(calls())


def rest_rows(case: Case) -> list[tuple[str, float, float | None]]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        first, ours, theirs = pool.apply(rest_run, (case,))
    torch_us = statistics.median(theirs) if theirs else None
    label = f"1, REST {REST_STEPS:,}"
    return [(f"{label} (first)", first, torch_us), (label, statistics.median(ours), torch_us)]


def load_torch() -> Any | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def main() -> None:
    torch = load_torch()
    if torch is None:
        print("torch is not installed: only our figures are shown (pip install torch==2.13.0)")
    header = ("optimizer", "runs", "ours us/step", "torch us/step", "ratio", "target", "met?")
    rows: list[tuple[str, ...]] = []
    for case in CASES:
        measured = [
            (f"1, {label}", ours, ref, TARGET_ONE) for label, ours, ref in one_run(case, torch)
        ]
        measured += [(label, ours, ref, TARGET_ONE) for label, ours, ref in rest_rows(case)]
        runs, ours, ref = many_runs(case, torch)
        measured.append((runs, ours, ref, TARGET_MANY))
        for runs, ours, ref, target in measured:
            ratio = None if ref is None else ref / ours
            rows.append(
                (
                    case.name,
                    runs,
                    f"{ours:.2f}",
                    "-" if ref is None else f"{ref:.1f}",
                    "-" if ratio is None else f"{ratio:.1f}x",
                    f">= {target:g}x",
                    "-" if ratio is None else ("yes" if ratio >= target else "NO"),
                )
            )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
