"""A steered race replayed from its timeline: ``start`` with ``changes`` gives the live run's
points bit for bit, whether the live changes came while running (the ticker's joint advance) or
while stepping, and across a reset."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from server.export.compute import compute
from server.export.state import ChangeState, ExportState, RunState, format_hash, parse_hash

from .conftest import session
from .test_ws_protocol import Msg, paths, until

RUNS: list[Msg] = [
    {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}, "start": [-1.5, 2.0]},
    {"id": "b", "optimizer": "momentum", "hyper": {"lr": 0.0005}, "start": [-1.5, 2.0]},
    {
        "id": "c",
        "optimizer": "sgd",
        "hyper": {"lr": 0.0004},
        "start": [-1.5, 2.0],
        "noise": 0.3,
        "schedule": {"name": "step", "step_size": 40, "gamma": 0.7},
    },
]
START: Msg = {
    "type": "start",
    "problem": {"surface": "rosenbrock"},
    "runs": RUNS,
    "seed": 3,
    "max_steps": 400,
    "steps_per_second": 1800,
}
SETS: list[Msg] = [
    {"run": "a", "hyper": {"lr": 0.05}},
    {"run": "c", "noise": 0.0, "schedule": None},
    {"run": "b", "hyper": {"lr": 0.001, "momentum": 0.5}},
    {"run": "a", "hyper": {"lr": 0.002}},
]


def send(ws: WebSocketTestSession, msg: Msg) -> None:
    ws.send_text(orjson.dumps(msg).decode())


def is_done(m: Msg) -> bool:
    return m["type"] == "status" and m["state"] == "done"


def to_done(ws: WebSocketTestSession, seen: list[Msg]) -> None:
    """Until the race is done; the status may already be among ``seen`` (a loaded machine can
    finish the race while a test waits for an ack)."""
    if not any(is_done(m) for m in seen):
        until(ws, is_done, seen)


def with_changes(acked: list[tuple[Msg, int]], runs: list[Msg] = RUNS) -> list[Msg]:
    """The runs of a start that replays these acked sets."""
    out = copy.deepcopy(runs)
    for change, step in acked:
        run = next(r for r in out if r["id"] == change["run"])
        fields = {k: v for k, v in change.items() if k != "run"}
        run.setdefault("changes", []).append({"step": step, **fields})
    return out


def live_race(ws: WebSocketTestSession, seen: list[Msg]) -> list[tuple[Msg, int]]:
    """A running race steered four times at whatever steps the sets land on."""
    send(ws, START)
    acked = []
    for i, change in enumerate(SETS):
        until(
            ws, lambda m, i=i: m["type"] == "frame" and m["runs"]["a"]["step"] > 60 * (i + 1), seen
        )
        if any(is_done(m) for m in seen):
            break  # the race finished before this set (a loaded machine): fewer changes
        send(ws, {"type": "set", **change})
        ack = until(ws, lambda m: m["type"] == "ack" and m["of"] == "set", seen)
        acked.append((change, ack["step"]))
    to_done(ws, seen)
    return acked


def test_a_start_with_changes_replays_a_steered_running_race_bit_for_bit(
    client: TestClient,
) -> None:
    with session(client) as ws:
        seen: list[Msg] = []
        acked = live_race(ws, seen)
        live = paths(seen)
    assert len({step for _, step in acked}) == len(acked) > 1
    with session(client) as ws:
        seen = []
        send(ws, {**START, "runs": with_changes(acked)})
        to_done(ws, seen)
        replay = paths(seen)
    assert replay == live  # every x, y, loss and gradient norm, exactly
    exported = compute(parse_hash(link_of(acked)), max_steps=10_000, grid_points=8)
    for run in exported.runs:
        got = run.points
        want = np.column_stack([live[run.id]["x"], live[run.id]["y"], live[run.id]["loss"]])
        np.testing.assert_array_equal(got, want)


def link_of(acked: list[tuple[Msg, int]]) -> str:
    """The page's link of the steered race (runs named a, b, c by their place, as links do)."""
    state = ExportState(
        start=(-1.5, 2.0),
        seed=3,
        steps=400,
        runs=(
            RunState("adam", {"lr": 0.01}),
            RunState("momentum", {"lr": 0.0005}),
            RunState("sgd", {"lr": 0.0004}, {"name": "step", "step_size": 40, "gamma": 0.7}, 0.3),
        ),
        changes=tuple(
            ChangeState(
                c["run"],
                step,
                c.get("hyper", {}),
                c.get("schedule"),
                "schedule" in c,
                c.get("noise"),
            )
            for c, step in acked
        ),
    )
    return format_hash(state)


def test_replay_stays_exact_while_other_sessions_step_in_the_same_ticks(
    client: TestClient,
) -> None:
    """The ticker advances many sessions' rows together: the replay must stop at each change
    step (not run 60 steps past it in one tick) while a busy neighbour shares its columns."""
    with session(client) as ws:
        seen: list[Msg] = []
        acked = live_race(ws, seen)
        live = paths(seen)
    stop = threading.Event()

    def neighbour() -> None:
        with session(client) as other:
            send(other, {**START, "max_steps": 100_000, "steps_per_second": 1000})
            while not stop.is_set():
                other.receive_text()

    t = threading.Thread(target=neighbour)
    t.start()
    try:
        with session(client) as ws:
            seen = []
            send(ws, {**START, "runs": with_changes(acked)})
            to_done(ws, seen)
            assert paths(seen) == live
    finally:
        stop.set()
        t.join(timeout=20)


def test_replay_of_changes_made_while_stepping_and_across_a_reset(client: TestClient) -> None:
    with session(client) as ws:
        seen: list[Msg] = []
        send(ws, {**START, "paused": True})
        until(ws, lambda m: m["type"] == "status", seen)
        send(ws, {"type": "step", "n": 37})
        send(ws, {"type": "set", **SETS[0]})
        send(ws, {"type": "set", **SETS[2]})
        ack = until(ws, lambda m: m["type"] == "ack" and m["of"] == "set" and m["run"] == "b")
        assert ack["step"] == 38
        send(ws, {"type": "reset"})  # back to step 0, with both changes from the start
        until(ws, lambda m: m["type"] == "ack" and m["of"] == "reset")
        seen = []
        send(ws, {"type": "step", "n": 120})
        send(ws, {"type": "set", **SETS[1]})
        acked = until(ws, lambda m: m["type"] == "ack" and m["of"] == "set", seen)["step"]
        send(ws, {"type": "resume"})
        to_done(ws, seen)
        live = paths(seen)
    assert acked == 121
    folded = with_changes([(SETS[0], 1), (SETS[2], 1)])  # as settings from step 0
    for r in folded:
        for c in r.pop("changes", []):
            r["hyper"] = {**r["hyper"], **c.get("hyper", {})}
    with session(client) as ws:
        seen = []
        send(ws, {**START, "runs": with_changes([(SETS[1], acked)], folded)})
        to_done(ws, seen)
        replay = paths(seen)
    assert replay == live


def test_a_reset_of_a_replayed_race_folds_every_change_in(client: TestClient) -> None:
    """Reset restarts from the settings the cards show: changes still pending are made too."""
    runs = with_changes([(SETS[0], 50), (SETS[3], 300)])
    with session(client) as ws:
        send(ws, {**START, "runs": runs, "paused": True})
        until(ws, lambda m: m["type"] == "status")
        send(ws, {"type": "step", "n": 100})
        until(ws, lambda m: m["type"] == "status" and m["step"] == 100)
        send(ws, {"type": "reset"})
        until(ws, lambda m: m["type"] == "ack" and m["of"] == "reset")
        seen: list[Msg] = []
        send(ws, {"type": "resume"})
        to_done(ws, seen)
        after_reset = paths(seen)
    plain = copy.deepcopy(RUNS)
    plain[0]["hyper"] = {"lr": 0.002}
    with session(client) as ws:
        seen = []
        send(ws, {**START, "runs": plain})
        to_done(ws, seen)
        fresh = paths(seen)
    assert after_reset == fresh


BAD: list[tuple[Any, str, str]] = [
    ([{"step": 0, "hyper": {"lr": 0.1}}], "runs[0].changes[0].step", "greater than or equal to 1"),
    ([{"step": 5, "hyper": {"lr": -1}}], "runs[0].changes[0].hyper.lr", "learning rate"),
    (
        [{"step": 9, "hyper": {"lr": 0.1}}, {"step": 4, "noise": 0.1}],
        "runs[0].changes[1].step",
        "before",
    ),
    ([{"step": 900, "noise": 0.1}], "runs[0].changes[0].step", "beyond max_steps 400"),
    ([{"step": 9}], "runs[0].changes[0]", "changes nothing"),
    ([{"step": 9, "schedule": {"name": "nope"}}], "runs[0].changes[0].schedule.name", "nope"),
    ([{"step": 9, "lr": 0.1}], "runs[0].changes[0].lr", ""),
]


@pytest.mark.parametrize(("changes", "field", "words"), BAD)
def test_a_bad_timeline_is_refused_naming_the_field(
    client: TestClient, changes: Any, field: str, words: str
) -> None:
    runs = copy.deepcopy(RUNS)
    runs[0]["changes"] = changes
    with session(client) as ws:
        send(ws, {**START, "runs": runs})
        err = until(ws, lambda m: m["type"] == "error")
        assert err["field"] == field, err
        assert words in err["message"]
        send(ws, START)  # the connection stays usable
        assert until(ws, lambda m: m["type"] == "ack")["of"] == "start"


def test_a_change_acked_after_the_last_update_replays_and_exports(client: TestClient) -> None:
    """A set sent after the race is done is acked at max_steps + 1: it moves no point, and its
    link (what the page then holds) must replay and export, not be refused."""
    with session(client) as ws:
        seen: list[Msg] = []
        send(ws, START)
        to_done(ws, seen)
        send(ws, {"type": "set", **SETS[0]})
        ack = until(ws, lambda m: m["type"] in ("ack", "error"), seen)
        live = paths(seen)
    assert ack["type"] == "ack" and ack["step"] == START["max_steps"] + 1
    acked = [(SETS[0], ack["step"])]
    with session(client) as ws:
        seen = []
        send(ws, {**START, "runs": with_changes(acked)})
        to_done(ws, seen)
        assert not [m for m in seen if m["type"] == "error"]
        assert paths(seen) == live
    exported = compute(parse_hash(link_of(acked)), max_steps=10_000, grid_points=8)
    for run in exported.runs:
        want = np.column_stack([live[run.id]["x"], live[run.id]["y"], live[run.id]["loss"]])
        np.testing.assert_array_equal(run.points, want)
