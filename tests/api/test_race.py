"""gradscape.race against the live server: the same points, bit for bit, and the same ends."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

import gradscape
from gradscape import Run
from server.app import create_app
from server.settings import Settings

ORIGIN = "http://testserver"
Msg = dict[str, Any]


def stream(problem: Msg, runs: list[Run], start: list[float], steps: int, seed: int) -> Msg:
    """Every point and end event of a websocket race: {"paths": {id: (k+1, 3)}, "events": ...}."""
    ids = "abcdefgh"
    message = {
        "type": "start",
        "problem": problem,
        "runs": [
            {
                "id": ids[i],
                "optimizer": r.optimizer,
                "hyper": dict(r.hyper),
                "start": start,
                "schedule": r.schedule,
                "noise": r.noise,
            }
            for i, r in enumerate(runs)
        ],
        "seed": seed,
        "max_steps": steps,
        "steps_per_second": 2000,
    }
    columns: dict[str, dict[str, list[float]]] = {}
    events: dict[str, tuple[str, int]] = {}
    app = create_app(Settings(allowed_origins=[ORIGIN]))
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws,
    ):
        assert orjson.loads(ws.receive_text())["type"] == "hello"
        ws.send_text(orjson.dumps(message).decode())
        while len(events) < len(runs):
            msg = orjson.loads(ws.receive_text())
            assert msg["type"] != "error", msg
            if msg["type"] == "frame":
                for run, part in msg["runs"].items():
                    path = columns.setdefault(run, {"x": [], "y": [], "loss": []})
                    assert part["step"] == len(path["x"])
                    for key in path:
                        path[key].extend(part[key])
            elif msg["type"] == "event" and msg["event"] in {"finished", "converged", "diverged"}:
                events[msg["run"]] = (msg["event"], msg["step"])
        ws.close()
        # TestClient cancels the app right after its own close: wait for the session to end.
        deadline = time.monotonic() + 10
        while app.state.sessions and time.monotonic() < deadline:
            time.sleep(0.01)
    paths = {run: np.column_stack([c["x"], c["y"], c["loss"]]) for run, c in columns.items()}
    return {"paths": paths, "events": events}


CASES = [
    pytest.param(
        {"surface": "rosenbrock"},
        {"surface": "rosenbrock"},
        [Run("adam", lr=0.05), Run("momentum", lr=0.0005), Run("rmsprop", lr=0.01, noise=0.3)],
        id="rosenbrock-three-runs-noise",
    ),
    pytest.param(
        {"surface": "quadratic", "params": {"kappa": 25.0, "angle": 0.4}},
        {"surface": "quadratic", "params": {"kappa": 25.0, "angle": 0.4}},
        [Run("sgd", lr=0.03, schedule={"name": "cosine", "T_max": 80}), Run("lion", lr=0.01)],
        id="quadratic-params-schedule",
    ),
    pytest.param(
        {"expression": "sin(x)*cos(y) + 0.1*(x^2 + y^2)"},
        {"expression": "sin(x)*cos(y) + 0.1*(x^2 + y^2)"},
        [Run("nadam", lr=0.05), Run("newton", lr=0.5)],
        id="formula-newton",
    ),
]


@pytest.mark.parametrize(("problem", "args", "runs"), CASES)
def test_race_equals_the_websocket_stream_bit_for_bit(
    problem: Msg, args: Msg, runs: list[Run]
) -> None:
    start, steps, seed = [1.2, -0.8], 400, 7
    result = gradscape.race(runs=runs, start=(1.2, -0.8), steps=steps, seed=seed, **args)
    live = stream(problem, runs, start, steps, seed)
    assert list(result.paths) == list(live["paths"])
    for run, path in result.paths.items():
        assert path.dtype == np.float64
        np.testing.assert_array_equal(path, live["paths"][run])
    assert {e.run: (e.event, e.step) for e in result.events} == live["events"]


def test_the_figure_has_the_contour_every_path_and_the_loss_chart() -> None:
    result = gradscape.race(
        "himmelblau", runs=[Run("adam", lr=0.1), Run("sgd", lr=0.01)], steps=60, start=(0, 0)
    )
    fig = result.figure()
    kinds = [t.type for t in fig.data]
    assert kinds.count("contour") == 1
    lines = [t for t in fig.data if t.type == "scatter" and t.xaxis == "x" and t.mode == "lines"]
    losses = [t for t in fig.data if t.type == "scatter" and t.xaxis == "x2"]
    assert len(losses) == 2 and len(lines) == 2
    np.testing.assert_array_equal(losses[0].y, result.paths["a"][:, 2])
    np.testing.assert_array_equal(lines[0].x, result.paths["a"][:, 0])
    minima = next(t for t in fig.data if t.name == "minima")
    assert len(minima.x) == len(result.surface.minima) == 4  # Himmelblau's four
    assert result.paths[0] is result.paths["a"] is result.paths["adam"]
    assert "<div" in fig.to_html(include_plotlyjs=False, full_html=False)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="Invalid learning rate"):
        gradscape.race("booth", runs=[Run("adam", lr=-1)])
    with pytest.raises(ValueError, match="unknown surface"):
        gradscape.race("nowhere", runs=[Run("adam")])
    with pytest.raises(ValueError, match="exactly one of surface or expression"):
        gradscape.race("booth", expression="x", runs=[Run("adam")])
    with pytest.raises(ValueError, match="Unknown optimizer"):
        gradscape.optim.named("adamx")


def test_hash_opens_the_same_race() -> None:
    from server.export.state import parse_hash

    result = gradscape.race("booth", runs=[Run("adam", lr=0.2)], steps=80, seed=3, start=(1, 2))
    state = parse_hash(result.hash)
    assert state == result.state


@pytest.mark.parametrize("until", ["converged", "max_steps"])
def test_trajectory_equals_the_rest_route(until: str) -> None:
    run = Run("adam", lr=0.3, beta1=0.8)
    ours = gradscape.trajectory(run, "booth", start=(4, -3), steps=3000, seed=2, until=until)
    with TestClient(create_app()) as client:
        body = {
            "surface": "booth",
            "optimizer": "adam",
            "hyper": dict(run.hyper),
            "start": [4, -3],
            "steps": 3000,
            "seed": 2,
            "until": until,
        }
        rest = client.post("/api/trajectory", json=body).json()
    assert ours.status == rest["status"] and ours.steps == rest["steps"]
    np.testing.assert_array_equal(ours.points, np.array(rest["points"]))
    assert ours.status == ("converged" if until == "converged" else "finished")
