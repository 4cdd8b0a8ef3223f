"""CNN and RNN races on the websocket: frames, views, torch twins, live clipping, caps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from .conftest import session

Msg = dict[str, Any]
METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "gnorm")
CNN: Msg = {"dataset": "digits", "model": "cnn", "n": 300, "filters": 4, "batch_size": 32}
RNN: Msg = {"dataset": "adding", "model": "rnn", "n": 200, "hidden": 8, "steps": 12}


def send(ws: WebSocketTestSession, msg: Msg) -> None:
    ws.send_text(orjson.dumps(msg).decode())


def until(ws: WebSocketTestSession, done: Callable[[Msg], bool], seen: list[Msg]) -> Msg:
    for _ in range(100_000):
        msg: Msg = orjson.loads(ws.receive_text())
        seen.append(msg)
        if done(msg):
            return msg
        assert msg["type"] != "error", msg
    raise AssertionError("message never came")


def start(network: Msg, runs: list[Msg], steps: int, **extra: Any) -> Msg:
    return {
        "type": "start",
        "problem": {"network": network},
        "runs": runs,
        "seed": 2,
        "max_steps": steps,
        "steps_per_second": 2000,
        **extra,
    }


def series(messages: list[Msg]) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    for msg in messages:
        if msg["type"] != "frame":
            continue
        for run, part in msg["runs"].items():
            path = out.setdefault(run, {key: [] for key in METRICS})
            assert part["step"] == len(path["train_loss"]), f"{run}: frames skip or repeat steps"
            assert "proj" not in part
            for key in METRICS:
                path[key].extend(part[key])
    return out


def test_digits_cnn_race_streams_metrics_views_and_twins(client: TestClient) -> None:
    runs = [
        {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.01}},
        {"id": "s", "optimizer": "sgd", "hyper": {"lr": 0.2}},
    ]
    with session(client) as ws:
        send(ws, start({**CNN, "torch": True}, runs, 25))
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    assert seen[0]["type"] == "ack" and seen[0]["twins"] == ["a~torch", "s~torch"]
    dataset = next(m for m in seen if m["type"] == "dataset")
    assert dataset["model"] == "cnn" and dataset["classes"] == 10
    assert np.array(dataset["samples"]["images"]).shape == (12, 8, 8)
    got = series(seen)
    assert set(got) == {"a", "s", "a~torch", "s~torch"}
    for run in ("a", "s"):
        assert len(got[run]["train_loss"]) == 26
        np.testing.assert_allclose(
            got[run + "~torch"]["train_loss"], got[run]["train_loss"], atol=1e-9
        )
        assert all(0.0 <= v <= 1.0 for v in got[run]["test_acc"])
    assert got["a"]["train_loss"][-1] < got["a"]["train_loss"][0]
    views = [m for m in seen if m["type"] == "view"]
    assert views and views[-1]["model"] == "cnn"
    last = views[-1]["runs"]["a"]
    assert np.array(last["filters"]).shape == (4, 3, 3)
    confusion = np.array(last["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == dataset["test_size"]
    assert len(last["predicted"]) == 12


def test_rnn_clip_applies_from_the_acked_update_to_runs_and_twins(client: TestClient) -> None:
    runs = [{"id": "m", "optimizer": "momentum", "hyper": {"lr": 0.5}}]
    with session(client) as ws:
        send(ws, start({**RNN, "torch": True, "recurrent_scale": 3.0}, runs, 40, paused=True))
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "ack" and m["of"] == "start", seen)
        send(ws, {"type": "step", "n": 10})
        until(
            ws,
            lambda m: (
                m["type"] == "frame"
                and m["runs"].get("m", {}).get("step", 0)
                + len(m["runs"].get("m", {}).get("gnorm", []))
                > 10
            ),
            seen,
        )
        send(ws, {"type": "clip", "max_norm": 0.05})
        ack = until(ws, lambda m: m["type"] == "ack" and m["of"] == "clip", seen)
        send(ws, {"type": "resume"})
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    got = series(seen)
    first = ack["step"]
    assert first == 12
    gnorm = np.array(got["m"]["gnorm"])
    # gnorm at step k is the gradient update k + 1 uses: clipped from update `first` on
    assert np.all(gnorm[first - 1 :] <= 0.05 + 1e-9)
    np.testing.assert_allclose(got["m~torch"]["train_loss"], got["m"]["train_loss"], atol=1e-9)
    views = [m for m in seen if m["type"] == "view"]
    assert len(views[-1]["runs"]["m"]["grad_norms"]) == 12
    assert len(views[-1]["runs"]["m"]["prediction"]) == 16


@pytest.mark.parametrize(
    ("network", "field"),
    [
        ({"model": "cnn", "dataset": "digits", "filters": 17}, "problem.network.filters"),
        ({"model": "rnn", "dataset": "adding", "hidden": 33}, "problem.network.hidden"),
        ({"model": "rnn", "dataset": "sine_seq", "steps": 51}, "problem.network.steps"),
        ({"model": "rnn", "dataset": "digits"}, "problem.network.dataset"),
        ({"model": "cnn", "dataset": "digits", "hidden": 8}, "problem.network.hidden"),
        ({"model": "transformer", "dataset": "digits"}, "problem.network.model"),
        ({"model": "cnn", "dataset": "digits", "n": 5000}, "problem.network.n"),
    ],
)
def test_caps_and_bad_fields_are_errors_naming_the_field(
    client: TestClient, network: Msg, field: str
) -> None:
    with session(client) as ws:
        send(ws, start(network, [{"id": "a", "optimizer": "adam"}], 5))
        seen: list[Msg] = []
        error = until(ws, lambda m: m["type"] == "error", seen)
        assert error["field"] == field, error
        send(ws, {"type": "clip", "max_norm": 1.0})
        assert until(ws, lambda m: m["type"] == "error", seen)["field"] == "type"


def test_clip_is_refused_for_a_cnn(client: TestClient) -> None:
    with session(client) as ws:
        send(ws, start(CNN, [{"id": "a", "optimizer": "adam"}], 3, paused=True))
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "ack", seen)
        send(ws, {"type": "clip", "max_norm": 1.0})
        assert "RNN" in until(ws, lambda m: m["type"] == "error", seen)["message"]
        send(ws, {"type": "clip", "max_norm": -1})
        assert until(ws, lambda m: m["type"] == "error", seen)["field"] == "max_norm"
