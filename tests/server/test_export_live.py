"""An exported race is the live stream's race: the same points, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from server.export import compute, parse_hash
from server.export.state import run_id

from .conftest import session

RACE = (
    "#surface=rosenbrock&seed=5&steps=400"
    "&run=adam,lr:0.05&run=momentum,lr:0.0005,noise:0.3"
    "&run=sgd,lr:0.001,sched:step,sched.step_size:50,sched.gamma:0.5&run=sgd,lr:0.01"
)
FORMULA = "#surface=custom&expr=x%5E2%20%2B%203*y%5E2&start=1,1&seed=1&steps=200&run=adam,lr:0.1,noise:0.5"


def start_message(text: str) -> dict[str, Any]:
    """The page's `start` message for a hash (racecommands.js startMessage)."""
    s = parse_hash(text)
    result = compute(s, max_steps=20_000)
    problem: dict[str, Any] = (
        {"expression": s.expr} if s.custom else {"surface": s.surface, "params": dict(s.params)}
    )
    runs = [
        {
            "id": run_id(i),
            "optimizer": r.optimizer,
            "hyper": dict(r.hyper),
            "start": list(result.start),
            "schedule": dict(r.schedule) if r.schedule else None,
            "noise": r.noise,
        }
        for i, r in enumerate(s.runs)
    ]
    return {
        "type": "start",
        "problem": problem,
        "runs": runs,
        "seed": s.seed,
        "max_steps": s.steps,
        "steps_per_second": 2000,
    }


def live_points(client: TestClient, text: str) -> dict[str, np.ndarray]:
    out: dict[str, list[list[float]]] = {}
    with session(client) as ws:
        ws.send_text(orjson.dumps(start_message(text)).decode())
        for _ in range(100_000):
            msg = orjson.loads(ws.receive_text())
            if msg["type"] == "error":
                raise AssertionError(msg)
            if msg["type"] == "frame":
                for run, part in msg["runs"].items():
                    path = out.setdefault(run, [])
                    assert part["step"] == len(path)
                    path.extend(zip(part["x"], part["y"], part["loss"], strict=True))
            if msg["type"] == "status" and msg["state"] == "done":
                break
    return {run: np.array(p) for run, p in out.items()}


@pytest.mark.parametrize("text", [RACE, FORMULA])
def test_export_equals_the_live_stream_point_for_point(client: TestClient, text: str) -> None:
    result = compute(parse_hash(text), max_steps=20_000)
    live = live_points(client, text)
    assert set(live) == {r.id for r in result.runs}
    for run in result.runs:
        np.testing.assert_array_equal(run.points, live[run.id])
    statuses = {r.id: r.status for r in result.runs}
    if text == RACE:  # the noisy, scheduled and diverging runs are all in there
        assert statuses["d"] == "diverged" and statuses["a"] == "finished"
