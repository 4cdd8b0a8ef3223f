"""The internals overlay over a real websocket session: opt-in, exact, private."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from server.problems.surfaces import get_surface

from ..server.conftest import session

Msg = dict[str, Any]
ORIGIN = "http://testserver"
START: Msg = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.02}, "start": [-1.5, 2.0]},
        {
            "id": "m",
            "optimizer": "momentum",
            "hyper": {"lr": 0.0005},
            "start": [-1.5, 2.0],
            "noise": 0.5,
        },
        {
            "id": "s",
            "optimizer": "sgd",
            "hyper": {"lr": 0.0005},
            "start": [-1.0, 1.0],
            "schedule": {"name": "step", "step_size": 3, "gamma": 0.5},
        },
    ],
    "seed": 4,
    "max_steps": 500,
    "steps_per_second": 60,
    "paused": True,
}


connect = session


def until(
    ws: WebSocketTestSession, done: Callable[[Msg], bool], seen: list[Msg] | None = None
) -> Msg:
    for _ in range(10_000):
        msg = orjson.loads(ws.receive_text())
        if seen is not None:
            seen.append(msg)
        if done(msg):
            return msg
    raise AssertionError("message never came")


def is_internals(m: Msg) -> bool:
    return m["type"] == "internals" and "runs" in m


def test_off_by_default_then_on_follows_every_step_exactly(client: TestClient) -> None:
    with connect(client) as ws:
        ws.send_text(orjson.dumps(START).decode())
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status", seen)
        ws.send_text(orjson.dumps({"type": "step", "n": 5}).decode())
        until(ws, lambda m: m["type"] == "status", seen)
        assert not any(m["type"] == "internals" for m in seen)  # opt-in only

        ws.send_text('{"type": "internals", "on": true}')
        first = until(ws, lambda m: m["type"] == "internals")
        assert first["on"] is True
        assert {r["step"] for r in first["runs"].values()} == {5}
        ahead = first
        for _ in range(4):  # step with the keyboard: one update at a time
            ws.send_text('{"type": "step", "n": 1}')
            frame = until(ws, lambda m: m["type"] == "frame")
            after = until(ws, is_internals)
            assert set(frame["runs"]) == set(after["runs"]) == {"a", "m", "s"}
            for rid, part in frame["runs"].items():
                before, now = ahead["runs"][rid], after["runs"][rid]
                point = [part["x"][-1], part["y"][-1]]
                assert now["point"] == point  # the overlay sits on the streamed point, bit for bit
                assert now["step"] == part["step"] + len(part["x"]) - 1
                moved = np.array(point) - np.array(before["point"])
                assert moved == pytest.approx(before["next_step"], rel=1e-12, abs=1e-15)
            ahead = after
        ws.send_text('{"type": "internals", "on": false}')
        assert until(ws, lambda m: m["type"] == "internals") == {"type": "internals", "on": False}
        ws.send_text('{"type": "step", "n": 2}')
        seen = []
        until(ws, lambda m: m["type"] == "status", seen)
        assert not any(is_internals(m) for m in seen)


def test_live_changes_reset_and_refusals(client: TestClient) -> None:
    with connect(client) as ws:
        ws.send_text(orjson.dumps(START).decode())
        until(ws, lambda m: m["type"] == "status")
        ws.send_text('{"type": "internals", "on": true}')
        on = until(ws, lambda m: m["type"] == "internals")
        assert on["runs"]["m"]["lr"] == 0.0005
        assert "Momentum" in on["runs"]["m"]["why"] and on["runs"]["m"]["moment"] is not None
        assert (
            on["runs"]["s"]["moment"] is None and "Plain gradient descent" in on["runs"]["s"]["why"]
        )
        adam = on["runs"]["a"]
        assert adam["moment_name"] == "mu" and set(adam["state"]) == {"count", "mu", "nu", "nu_max"}
        assert "effective lr" in adam["why"]
        ws.send_text('{"type": "set", "run": "m", "hyper": {"lr": 0.001}}')
        until(ws, lambda m: m["type"] == "ack" and m["of"] == "set")
        ws.send_text('{"type": "step", "n": 3}')
        after = until(ws, is_internals)
        assert after["runs"]["m"]["lr"] == 0.001 and after["runs"]["m"]["step"] == 3
        assert after["runs"]["s"]["lr"] == pytest.approx(0.00025)  # the step schedule halved it
        ws.send_text('{"type": "reset"}')
        reset = until(ws, is_internals)
        assert {r["step"] for r in reset["runs"].values()} == {0}
        assert reset["runs"]["a"]["point"] == [-1.5, 2.0]
        ws.send_text('{"type": "internals"}')
        err = until(ws, lambda m: m["type"] == "error")
        assert err["field"] == "on"
        ws.send_text('{"type": "internals", "on": "yes"}')
        assert until(ws, lambda m: m["type"] == "error")["field"] == "on"


def test_network_races_get_a_note_not_numbers(client: TestClient) -> None:
    start = {
        "type": "start",
        "problem": {"network": {"dataset": "moons", "n": 40, "hidden": [3]}},
        "runs": [{"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.1}}],
        "max_steps": 20,
        "paused": True,
    }
    with connect(client) as ws:
        ws.send_text(orjson.dumps(start).decode())
        until(ws, lambda m: m["type"] == "status")
        ws.send_text('{"type": "internals", "on": true}')
        on = until(ws, lambda m: m["type"] == "internals")
        assert on["runs"] == {} and "2D" in on["note"]


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_state_is_torch_optims_state(optimizer: str) -> None:
    """After k updates the shadow's state equals torch.optim's after the same k updates."""
    torch = pytest.importorskip("torch")
    from server.engine import Race
    from server.inside.internals import Shadow
    from server.optim.registry import validate_hyper
    from server.problems.factory import build_surface
    from server.problems.nn.torch_twin import torch_optimizer
    from server.runs import build_run
    from server.schemas import RunSpec

    hyper = {"lr": 0.001, **({"momentum": 0.5} if optimizer == "rmsprop" else {})}
    built = build_surface("himmelblau", {})
    run = build_run(RunSpec(id="a", optimizer=optimizer, hyper=hyper, start=(0.5, -0.5)), built)
    race = Race(built.problem, [run], max_steps=100)
    race.advance(12)
    shadow = Shadow(race)
    shadow.catch_up()
    state = shadow.runs[0].state
    p = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    cls, kwargs = torch_optimizer(optimizer, validate_hyper(optimizer, hyper))
    opt = cls([p], **kwargs)
    surface = get_surface("himmelblau")
    for _ in range(12):
        p.grad = torch.from_numpy(surface.grad(p.detach().numpy()[None, :])[0].copy())
        opt.step()
    theirs = opt.state[p]
    names = {
        "adam": [("mu", "exp_avg"), ("nu", "exp_avg_sq")],
        "momentum": [("momentum_buffer", "momentum_buffer")],
        "rmsprop": [("square_avg", "square_avg"), ("momentum_buffer", "momentum_buffer")],
    }[optimizer]
    for ours, torchs in names:
        np.testing.assert_allclose(getattr(state, ours)[0], theirs[torchs].numpy(), rtol=1e-12)
    assert shadow.runs[0].params[0].tolist() == pytest.approx(p.detach().tolist(), rel=1e-12)
