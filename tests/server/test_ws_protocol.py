"""The websocket protocol through TestClient: races, live changes, controls and refusals."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from server.app import create_app
from server.engine import Race, RunConfig
from server.optim.registry import validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.surfaces import get_surface
from server.settings import Settings

from .conftest import TEST_ORIGIN, session

Msg = dict[str, Any]
START: Msg = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [-1.5, 2.0]},
        {"id": "m", "optimizer": "momentum", "hyper": {"lr": 0.0005}, "start": [-1.5, 2.0]},
    ],
    "seed": 0,
    "max_steps": 300,
    "steps_per_second": 1500,
}


connect = session


def until(
    ws: WebSocketTestSession, done: Callable[[Msg], bool], seen: list[Msg] | None = None
) -> Msg:
    for _ in range(100_000):
        msg = orjson.loads(ws.receive_text())
        if seen is not None:
            seen.append(msg)
        if done(msg):
            return msg
    raise AssertionError("message never came")


def paths(messages: list[Msg]) -> dict[str, dict[str, list[float]]]:
    """Concatenate frames per run, checking that steps are contiguous."""
    out: dict[str, dict[str, list[float]]] = {}
    for msg in messages:
        if msg["type"] != "frame":
            continue
        for run, part in msg["runs"].items():
            path = out.setdefault(run, {"x": [], "y": [], "loss": [], "gnorm": []})
            assert part["step"] == len(path["x"]), "frames must carry every point, in order"
            for key in path:
                path[key].extend(part[key])
    return out


def offline(hyper_at: Callable[[int], float], steps: int) -> np.ndarray:
    race = Race(
        get_surface("rosenbrock"),
        [
            RunConfig(
                "a",
                "adam",
                validate_hyper("adam", {"lr": hyper_at(1)}),
                np.array([-1.5, 2.0]),
                parse_schedule(None),
            )
        ],
        max_steps=steps,
    )
    pts = [race.initial_chunks()["a"].params]
    for k in range(1, steps + 1):
        if hyper_at(k) != hyper_at(k - 1) and k > 1:
            race.set("a", hyper=validate_hyper("adam", {"lr": hyper_at(k)}))
        pts.append(race.advance(1)[0]["a"].params)
    return np.concatenate(pts)


def test_race_streams_every_point_in_order_then_finishes(client: TestClient) -> None:
    with connect(client) as ws:
        ws.send_text(orjson.dumps(START).decode())
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
        kinds = [m["type"] for m in seen]
        assert seen[0] == {"type": "ack", "of": "start", "runs": ["a", "m"], "step": 0}
        assert "frame" in kinds
        got = paths(seen)
        assert {len(p["x"]) for p in got.values()} == {301}
        events = [m for m in seen if m["type"] == "event"]
        assert {(e["run"], e["event"], e["step"]) for e in events} == {
            ("a", "finished", 300),
            ("m", "finished", 300),
        }
        assert kinds.index("event") > max(i for i, k in enumerate(kinds) if k == "frame")
        race = Race(
            get_surface("rosenbrock"),
            [RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.01}), np.array([-1.5, 2.0]))],
            max_steps=300,
        )
        expect = np.concatenate(
            [race.initial_chunks()["a"].params, race.advance(300)[0]["a"].params]
        )
        np.testing.assert_array_equal(np.column_stack([got["a"]["x"], got["a"]["y"]]), expect)


def test_live_set_bends_the_path_exactly_from_the_acked_step(client: TestClient) -> None:
    with connect(client) as ws:
        ws.send_text(orjson.dumps({**START, "steps_per_second": 300, "max_steps": 400}).decode())
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "frame" and m["runs"]["a"]["step"] > 20, seen)
        ws.send_text(orjson.dumps({"type": "set", "run": "a", "hyper": {"lr": 0.05}}).decode())
        ack = until(ws, lambda m: m["type"] == "ack", seen)
        assert ack["of"] == "set" and ack["run"] == "a"
        k = ack["step"]
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
        got = paths(seen)["a"]
        path = np.column_stack([got["x"], got["y"]])
        expect = offline(lambda step: 0.05 if step >= k else 0.01, 400)
        np.testing.assert_array_equal(path, expect)
        unchanged = offline(lambda step: 0.01, 400)
        np.testing.assert_array_equal(path[:k], unchanged[:k])
        assert not np.allclose(path[k], unchanged[k])


def test_pause_step_resume_reset_speed(client: TestClient) -> None:
    with connect(client) as ws:
        ws.send_text(orjson.dumps({**START, "paused": True}).decode())
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status", seen)
        assert seen[-1]["state"] == "paused"
        ws.send_text('{"type": "step", "n": 5}')
        until(ws, lambda m: m["type"] == "status", seen)
        got = paths(seen)
        assert len(got["a"]["x"]) == 6  # the start and five steps
        ws.send_text('{"type": "reset"}')
        after: list[Msg] = []
        ack = until(ws, lambda m: m["type"] == "ack", after)
        assert ack == {"type": "ack", "of": "reset", "step": 0}
        frame = until(ws, lambda m: m["type"] == "frame", after)
        assert frame["runs"]["a"]["step"] == 0 and frame["runs"]["a"]["x"] == got["a"]["x"][:1]
        ws.send_text('{"type": "speed", "steps_per_second": 500}')
        assert until(ws, lambda m: m["type"] == "ack")["steps_per_second"] == 500
        ws.send_text('{"type": "resume"}')
        until(ws, lambda m: m["type"] == "status" and m["state"] == "running")
        again: list[Msg] = []
        until(ws, lambda m: m["type"] == "frame", again)
        ws.send_text('{"type": "pause"}')
        until(ws, lambda m: m["type"] == "status" and m["state"] == "paused", again)


BAD: list[tuple[bytes, str, str]] = [
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "adamz"}]}',
        "runs[0].optimizer",
        "Unknown optimizer 'adamz'",
    ),
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "sgd", "hyper": {"lr": -1.0}}]}',
        "runs[0].hyper.lr",
        "Invalid learning rate: -1.0",
    ),
    (
        b'{"type": "start", "problem": {"surface": "nope"}, "runs": [{"id": "a", "optimizer": "sgd"}]}',
        "problem.surface",
        "unknown surface",
    ),
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "sgd", "start": [1e400, 0]}]}',
        "",
        "Not valid JSON",
    ),
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "sgd", "hyper": {"lr": NaN}}]}',
        "",
        "Not valid JSON",
    ),
    (
        b'{"type": "start", "problem": {"expression": "x + z"}, "runs": [{"id": "a", "optimizer": "sgd"}]}',
        "problem.expression",
        "unknown name 'z'",
    ),
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": [{"id": "a", "optimizer": "sgd", "schedule": {"name": "step", "step_size": -3}}]}',
        "runs[0].schedule.step_size",
        "",
    ),
    (b'{"type": "start", "problem": {"surface": "rosenbrock"}, "runs": []}', "runs", ""),
    (
        b'{"type": "start", "problem": {"surface": "rosenbrock"}, "max_steps": 10000000, "runs": [{"id": "a", "optimizer": "sgd"}]}',
        "max_steps",
        "above the limit",
    ),
    (b'{"type": "fly"}', "type", "Unknown message type"),
    (b'{"type": "pause"}', "type", "No race yet"),
    (b"[1, 2]", "", "JSON object"),
    (b"not json", "", "Not valid JSON"),
    (b'{"type": "step", "n": 0}', "n", ""),
]


def test_every_bad_message_gets_an_error_naming_the_field_and_the_session_goes_on(
    client: TestClient,
) -> None:
    with connect(client) as ws:
        for raw, field, words in BAD:
            ws.send_text(raw.decode())
            err = until(ws, lambda m: m["type"] in ("error", "ack"))
            assert err["type"] == "error", raw
            assert err["field"] == field, (raw, err)
            assert words in err["message"], (raw, err)
        ws.send_text("x" * (70 * 1024))
        assert "too large" in until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(orjson.dumps({**START, "max_steps": 5}).decode())
        assert until(ws, lambda m: m["type"] in ("ack", "error"))["type"] == "ack"
        ws.send_text('{"type": "set", "run": "zz", "hyper": {"lr": 0.1}}')
        assert until(ws, lambda m: m["type"] == "error")["field"] == "run"
        ws.send_text('{"type": "set", "run": "a", "hyper": {"lr": -0.1}}')
        err = until(ws, lambda m: m["type"] == "error")
        assert (err["field"], err["message"]) == ("hyper.lr", "Invalid learning rate: -0.1")
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done")


def test_divergence_on_a_quadratic_explains_the_lr_limit(client: TestClient) -> None:
    with connect(client) as ws:
        start = {
            "type": "start",
            "problem": {"surface": "quadratic", "params": {"kappa": 10}},
            "runs": [{"id": "q", "optimizer": "sgd", "hyper": {"lr": 0.25}, "start": [1.0, 1.0]}],
            "max_steps": 2000,
            "steps_per_second": 2000,
        }
        ws.send_text(orjson.dumps(start).decode())
        event = until(ws, lambda m: m["type"] == "event" and m["event"] == "diverged")
        assert event["run"] == "q"
        assert "2/λmax = 0.2" in event["message"] and "lr = 0.25" in event["message"]


def test_message_flood_is_answered_once_and_the_session_survives() -> None:
    settings = Settings(allowed_origins=[TEST_ORIGIN], message_rate=2.0, message_burst=10)
    with TestClient(create_app(settings)) as client, connect(client) as ws:
        for _ in range(60):
            ws.send_text('{"type": "pause"}')
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "error" and "Too many" in m["message"], seen)
        assert sum("Too many" in m.get("message", "") for m in seen) == 1
        time.sleep(1.0)  # the bucket refills at 2 messages a second
        ws.send_text(orjson.dumps({**START, "max_steps": 3}).decode())
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done")


def test_an_internal_failure_is_reported_and_the_session_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.live import commands

    def broken(session: object, msg: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(commands.HANDLERS, "pause", broken)
    with connect(client) as ws:
        ws.send_text('{"type": "pause"}')
        assert "internal error" in until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(orjson.dumps({**START, "max_steps": 3}).decode())
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done")


def test_a_race_that_fails_internally_stops_with_an_error_and_the_session_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.live import ticker
    from server.live.streams import SurfaceStream

    def broken(*args: object) -> list[object]:
        raise RuntimeError("a bug")

    with connect(client) as ws:
        # the ticker's path: every running race advanced together
        monkeypatch.setattr(ticker, "advance_together", broken)
        ws.send_text(orjson.dumps(START).decode())
        assert "internal error" in until(ws, lambda m: m["type"] == "error")["message"]
        monkeypatch.undo()
        # the producer's path: a race advanced alone, by a step message
        monkeypatch.setattr(SurfaceStream, "advance", broken)
        ws.send_text(orjson.dumps({**START, "paused": True}).decode())
        until(ws, lambda m: m["type"] == "status")
        ws.send_text('{"type": "step", "n": 2}')
        assert "internal error" in until(ws, lambda m: m["type"] == "error")["message"]
        monkeypatch.undo()
        ws.send_text(orjson.dumps({**START, "max_steps": 3}).decode())
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done")
