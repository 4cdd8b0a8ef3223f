"""Network races on the websocket: metrics, boundaries, landscape, live set, torch twins, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from server.engine import Race, RunConfig
from server.live import network_stream, twins
from server.optim.registry import validate_hyper
from server.problems.nn.problem import NetworkConfig, NetworkProblem

from .conftest import session

Msg = dict[str, Any]
NETWORK: Msg = {"dataset": "moons", "n": 200, "hidden": [16, 16], "activation": "tanh"}
RUNS: list[Msg] = [
    {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.02}},
    {"id": "s", "optimizer": "sgd", "hyper": {"lr": 0.5}},
]
START: Msg = {
    "type": "start",
    "problem": {"network": NETWORK},
    "runs": RUNS,
    "seed": 3,
    "max_steps": 150,
    "steps_per_second": 2000,
}
METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "gnorm")


connect = session


def send(ws: WebSocketTestSession, msg: Msg) -> None:
    ws.send_text(orjson.dumps(msg).decode())


def until(ws: WebSocketTestSession, done: Callable[[Msg], bool], seen: list[Msg]) -> Msg:
    for _ in range(100_000):
        msg: Msg = orjson.loads(ws.receive_text())
        seen.append(msg)
        if done(msg):
            return msg
    raise AssertionError("message never came")


def series(messages: list[Msg]) -> dict[str, dict[str, list[Any]]]:
    """Concatenate frames per run, checking every run's steps are contiguous from 0."""
    out: dict[str, dict[str, list[Any]]] = {}
    for msg in messages:
        if msg["type"] != "frame":
            continue
        for run, part in msg["runs"].items():
            path = out.setdefault(run, {key: [] for key in (*METRICS, "proj")})
            assert part["step"] == len(path["train_loss"]), f"{run}: frames skip or repeat steps"
            sizes = {len(part[key]) for key in path}
            assert len(sizes) == 1, f"{run}: keys of different lengths {sizes}"
            for key in path:
                path[key].extend(part[key])
    return out


def problem() -> NetworkProblem:
    return NetworkProblem(NetworkConfig.from_json(NETWORK))


def test_network_race_streams_metrics_boundaries_and_landscape(client: TestClient) -> None:
    with connect(client) as ws:
        send(ws, START)
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    assert seen[0] == {"type": "ack", "of": "start", "runs": ["a", "s"], "step": 0}
    got = series(seen)
    assert set(got) == {"a", "s"}
    for run, path in got.items():
        assert len(path["train_loss"]) == 151
        loss = np.array(path["train_loss"])
        assert np.isfinite(loss).all()
        assert loss[-1] < 0.8 * loss[0], f"{run} did not learn: {loss[0]} -> {loss[-1]}"
        acc = np.array(path["train_acc"] + path["test_acc"])
        assert ((acc >= 0) & (acc <= 1)).all()
        assert path["train_acc"][-1] > 0.75
    # Both runs start from the same weights: identical step 0, then they part.
    assert got["a"]["train_loss"][0] == got["s"]["train_loss"][0]
    assert got["a"]["train_loss"][50] != got["s"]["train_loss"][50]
    # The engine's loss is the one streamed: an offline race gives the same numbers.
    prob = problem()
    init = prob.init_params(3)
    race = Race(
        prob,
        [RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.02}), init)],
        seed=3,
        max_steps=150,
    )
    offline = race.advance(150)[0]["a"].loss
    np.testing.assert_allclose(got["a"]["train_loss"][1:], offline, rtol=0, atol=1e-12)

    datasets = [m for m in seen if m["type"] == "dataset"]
    assert len(datasets) == 1
    assert datasets[0]["task"] == "binary" and datasets[0]["classes"] == 2
    assert len(datasets[0]["train"]["x"]) == 160 and len(datasets[0]["train"]["x"][0]) == 2

    boundaries = [m for m in seen if m["type"] == "boundary"]
    assert len(boundaries) >= 2
    first, last = boundaries[0], boundaries[-1]
    assert first["steps"] == {"a": 0, "s": 0} and last["steps"] == {"a": 150, "s": 150}
    n = len(first["grid"]["x"])
    early, late = np.array(first["runs"]["a"]), np.array(last["runs"]["a"])
    assert early.shape == late.shape == (n, len(first["grid"]["y"]))
    assert ((late >= 0) & (late <= 1)).all()
    assert np.abs(late - early).mean() > 0.05, "the boundary should move as the net learns"

    landscapes = [m for m in seen if m["type"] == "landscape"]
    assert landscapes and landscapes[0]["span"] == 1.0  # later ones only widen (tested below)
    scape = landscapes[0]
    z = np.array(scape["z"], dtype=float)
    assert scape["method"] == "filter"
    assert z.shape == (len(scape["b"]), len(scape["a"])) and np.isfinite(z).all()
    mid = len(scape["a"]) // 2
    assert scape["a"][mid] == 0.0 and scape["b"][mid] == 0.0
    # The slice's centre is the common start: its height is the loss at step 0.
    assert z[mid, mid] == pytest.approx(got["a"]["train_loss"][0], abs=1e-12)
    for path in got.values():
        proj = np.array(path["proj"])
        assert proj.shape == (151, 2) and np.isfinite(proj).all()
        assert np.allclose(proj[0], 0.0)
        assert np.abs(proj[-1]).max() > 1e-3, "the projected path should leave the centre"


def test_live_set_on_a_network_run_is_acked_and_applies_from_its_step(
    client: TestClient,
) -> None:
    with connect(client) as ws:
        send(ws, {**START, "paused": True, "max_steps": 60})
        seen: list[Msg] = []
        send(ws, {"type": "step", "n": 20})
        until(ws, lambda m: m["type"] == "status" and m["step"] == 20, seen)
        send(ws, {"type": "set", "run": "s", "hyper": {"lr": 0.05}})
        ack = until(ws, lambda m: m["type"] == "ack" and m["of"] == "set", seen)
        assert ack == {"type": "ack", "of": "set", "run": "s", "step": 21}
        send(ws, {"type": "step", "n": 40})
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
        got = series(seen)
        assert len(got["s"]["train_loss"]) == 61
        # Reset goes back to step 0 and sends the data set and the landscape again.
        send(ws, {"type": "reset"})
        after: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "paused", after)
        assert series(after)["s"]["train_loss"][0] == got["s"]["train_loss"][0]
        assert [m["type"] for m in after].count("dataset") == 1
        assert [m["type"] for m in after].count("landscape") == 1
    prob = problem()
    race = Race(
        prob,
        [RunConfig("s", "sgd", validate_hyper("sgd", {"lr": 0.5}), prob.init_params(3))],
        seed=3,
        max_steps=60,
    )
    before = race.advance(20)[0]["s"].loss
    assert race.set("s", hyper=validate_hyper("sgd", {"lr": 0.05})) == 21
    rest = race.advance(40)[0]["s"].loss
    np.testing.assert_allclose(
        got["s"]["train_loss"][1:], np.concatenate([before, rest]), rtol=0, atol=1e-12
    )


def test_torch_twins_match_ours_through_a_live_set(client: TestClient) -> None:
    pytest.importorskip("torch")
    twins.torch_ready(wait=True)  # else the twins start late (test_twins_late.py): not this test
    network = {**NETWORK, "torch": True}
    runs = [*RUNS, {"id": "l", "optimizer": "lion", "hyper": {"lr": 0.001}}]
    with connect(client) as ws:
        send(ws, {**START, "problem": {"network": network}, "runs": runs, "paused": True})
        seen: list[Msg] = []
        ack = until(ws, lambda m: m["type"] == "ack", seen)
        assert ack["torch"] == "on" and ack["twins"] == ["a~torch", "s~torch"]
        send(ws, {"type": "step", "n": 50})
        until(ws, lambda m: m["type"] == "status" and m["step"] == 50, seen)
        send(ws, {"type": "set", "run": "a", "hyper": {"lr": 0.005, "beta1": 0.8}})
        send(ws, {"type": "set", "run": "s", "hyper": {"lr": 0.1}})
        send(ws, {"type": "step", "n": 50})
        until(ws, lambda m: m["type"] == "status" and m["step"] == 100, seen)
    got = series(seen)
    assert set(got) == {"a", "s", "l", "a~torch", "s~torch"}
    for run in ("a", "s"):
        ours, twin = got[run], got[run + "~torch"]
        assert len(ours["train_loss"]) == len(twin["train_loss"]) == 101
        np.testing.assert_allclose(twin["train_loss"], ours["train_loss"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(twin["gnorm"], ours["gnorm"], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(twin["proj"], ours["proj"], rtol=0, atol=1e-6)
    # The set changed the path: without it adam would not be where it is.
    assert got["a"]["train_loss"] != got["s"]["train_loss"]


def test_without_torch_the_ack_says_how_to_add_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(network_stream, "torch_available", lambda: False)
    network = {**NETWORK, "torch": True}
    with connect(client) as ws:
        send(ws, {**START, "problem": {"network": network}, "max_steps": 30})
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    assert seen[0]["torch"] == "unavailable: pip install torch==2.13.0"
    got = series(seen)
    assert set(got) == {"a", "s"} and len(got["a"]["train_loss"]) == 31


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"problem": {"network": {**NETWORK, "hidden": [0, 16]}}}, "problem.network.hidden[0]"),
        ({"problem": {"network": {**NETWORK, "hidden": [16, 99]}}}, "problem.network.hidden[1]"),
        ({"problem": {"network": {**NETWORK, "dataset": "mnist"}}}, "problem.network.dataset"),
        ({"problem": {"network": {**NETWORK, "depth": 3}}}, "problem.network.depth"),
        ({"problem": {"network": {**NETWORK, "torch": "yes"}}}, "problem.network.torch"),
        ({"runs": [{"id": "n", "optimizer": "newton"}]}, "runs[0].optimizer"),
    ],
)
def test_bad_network_starts_are_refused_with_the_field(
    client: TestClient, change: Msg, field: str
) -> None:
    with connect(client) as ws:
        send(ws, {**START, **change})
        error = ws.receive_json()
        assert error["type"] == "error" and error["field"] == field, error
        assert error["message"]
        send(ws, {**START, "max_steps": 5})  # the connection is still usable
        ack = ws.receive_json()
        assert ack["type"] == "ack" and ack["of"] == "start"


@pytest.mark.parametrize(
    ("network", "kind", "keys"),
    [
        (
            {"dataset": "spiral", "arms": 3, "n": 150, "hidden": [8]},
            "class",
            {"train_acc", "test_acc"},
        ),
        ({"dataset": "sine", "n": 60, "hidden": [8], "test_fraction": 0.0}, "curve", set()),
    ],
)
def test_multiclass_and_regression_frames_and_boundaries(
    client: TestClient, network: Msg, kind: str, keys: set[str]
) -> None:
    with connect(client) as ws:
        send(ws, {**START, "problem": {"network": network}, "max_steps": 5})
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    frames = [m for m in seen if m["type"] == "frame"]
    expected = {"step", "train_loss", "gnorm", "proj"} | keys
    if network.get("test_fraction") != 0.0:
        expected.add("test_loss")
    assert all(set(part) == expected for f in frames for part in f["runs"].values())
    boundary = next(m for m in seen if m["type"] == "boundary")
    z = np.array(boundary["runs"]["a"])
    assert boundary["kind"] == kind
    if kind == "curve":
        assert boundary["grid"]["y"] is None and z.shape == (len(boundary["grid"]["x"]),)
    else:
        assert set(np.unique(z)) <= {0.0, 1.0, 2.0}


def test_the_landscape_widens_once_the_paths_walk_off_it() -> None:
    spiral = {"dataset": "spiral", "n": 200, "hidden": [16, 16], "activation": "tanh"}
    net = NetworkProblem(NetworkConfig.from_json(spiral))
    adam = RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.05}), net.init_params(0))
    race = Race(net, [adam], max_steps=1200)
    now = [0.0]
    stream = network_stream.NetworkStream(race, net, clock=lambda: now[0])
    stream.restart()
    spans: list[float] = []
    far = 0.0
    for _ in range(30):
        now[0] += 3.0  # past the minimum time between two widenings
        stream.advance(40)
        frame = stream.take_frame() or {}
        if "a" in frame:
            far = max(far, float(np.abs(np.asarray(frame["a"]["proj"])).max()))
        spans += [m["span"] for m in stream.take_messages() if m["type"] == "landscape"]
    assert spans[0] == 1.0 and far > 1.0, "this run should leave the first square"
    assert spans == sorted(spans) and spans[-1] > 1.0
    assert far <= spans[-1], "the last landscape covers the whole path"


def test_torch_twins_match_ours_with_mini_batches(client: TestClient) -> None:
    pytest.importorskip("torch")
    network = {**NETWORK, "batch_size": 32, "torch": True}
    with connect(client) as ws:
        send(ws, {**START, "problem": {"network": network}, "max_steps": 120})
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    got = series(seen)
    for run in ("a", "s"):
        ours, twin = got[run], got[run + "~torch"]
        assert len(ours["train_loss"]) == len(twin["train_loss"]) == 121
        np.testing.assert_allclose(twin["train_loss"], ours["train_loss"], rtol=0, atol=1e-8)
