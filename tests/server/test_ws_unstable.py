"""The `unstable` warning and the cause of a divergence, over a real uvicorn websocket."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from .conftest import LiveServer, run_async

Msg = dict[str, Any]


async def recv(ws: ClientConnection) -> Msg:
    msg: Msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    return msg


async def collect(ws: ClientConnection, done: Callable[[Msg], bool]) -> list[Msg]:
    seen: list[Msg] = []
    for _ in range(20_000):
        seen.append(await recv(ws))
        if done(seen[-1]):
            return seen
    raise AssertionError("message never came")


def done(m: Msg) -> bool:
    return bool(m["type"] == "status" and m["state"] == "done")


def events(seen: list[Msg], kind: str) -> list[Msg]:
    return [m for m in seen if m["type"] == "event" and m["event"] == kind]


def last_loss(seen: list[Msg], run: str, before: int) -> float:
    """The loss at the last point streamed before step ``before``."""
    value = float("nan")
    for m in seen:
        if m["type"] == "frame" and run in m["runs"]:
            part = m["runs"][run]
            for k, loss in enumerate(part["loss"]):
                if part["step"] + k < before:
                    value = loss
    return value


def reaches(frame: Msg, run: str, step: int) -> bool:
    part = frame["runs"].get(run)
    return part is not None and part["step"] + len(part["x"]) > step


def at(step: int) -> Msg:
    """The status a paused session sends once it has done a ``step`` request up to ``step``."""
    return {"type": "status", "state": "paused", "step": step}


def race(surface: str, runs: list[Msg], max_steps: int, sps: float = 1000, **params: float) -> str:
    problem: Msg = {"surface": surface, "params": params}
    start = {"type": "start", "problem": problem, "runs": runs, "max_steps": max_steps}
    return orjson.dumps({**start, "steps_per_second": sps}).decode()


def play(server: LiveServer, *messages: str, until: Callable[[Msg], bool] = done) -> list[Msg]:
    seen: list[Msg] = []

    async def main() -> None:
        origin = {"Origin": server.url}
        async with connect(server.ws_url, additional_headers=origin) as ws:
            assert (await recv(ws))["type"] == "hello"
            for text in messages:
                await ws.send(text)
            seen.extend(await collect(ws, until))

    run_async(main)
    return seen


@pytest.fixture
def server(live_server: Callable[..., LiveServer]) -> LiveServer:
    return live_server()


def test_sgd_above_two_over_lambda_max_is_warned_long_before_overflow(server: LiveServer) -> None:
    runs = [
        {"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.025}, "start": [1.0, 1.0]},
        {"id": "b", "optimizer": "sgd", "hyper": {"lr": 0.015}, "start": [1.0, 1.0]},
    ]
    seen = play(server, race("quadratic", runs, 2000, sps=2000 / 4, kappa=100.0))
    warned = events(seen, "unstable")
    assert [m["run"] for m in warned] == ["a"]  # once, and not the stable run
    warning = warned[0]
    assert set(warning) >= {"type", "run", "event", "step", "message"}
    assert warning["step"] < 40  # in the first frame of new points, or right after it
    assert "2/λmax = 0.02" in warning["message"] and "lr = 0.025" in warning["message"]
    assert "λmax = 100" in warning["message"] and "1.25x" in warning["message"]
    assert warning["limit"] == pytest.approx(0.02) and warning["lambda_max"] == pytest.approx(100)
    loss = last_loss(seen, "a", warning["step"] + 1)
    assert loss < 1e12  # long before overflow, near step 870 (x 2.25 a step from f = 50)
    diverged = events(seen, "diverged")
    assert [m["run"] for m in diverged] == ["a"]
    assert "overshot" in diverged[0]["message"] and "2/λmax = 0.02" in diverged[0]["message"]
    kinds = [(m["type"], m.get("event")) for m in seen]
    assert kinds.index(("event", "unstable")) < kinds.index(("event", "diverged"))


def test_the_momentum_edge_is_two_one_plus_beta_over_lambda_max(server: LiveServer) -> None:
    # lambda_max = 100: the heavy-ball edge with beta = 0.9 is 2 * 1.9 / 100 = 0.038
    runs = [
        {"id": "over", "optimizer": "momentum", "hyper": {"lr": 0.04}, "start": [1.0, 1.0]},
        {"id": "under", "optimizer": "momentum", "hyper": {"lr": 0.036}, "start": [1.0, 1.0]},
    ]
    seen = play(server, race("quadratic", runs, 400, kappa=100.0))
    warned = events(seen, "unstable")
    assert [m["run"] for m in warned] == ["over"]
    assert "= 0.038" in warned[0]["message"] and "μ = 0.9" in warned[0]["message"]


def test_a_set_back_under_the_limit_and_over_again_warns_again(server: LiveServer) -> None:
    runs = [{"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.025}, "start": [1.0, 1.0]}]
    start = {**orjson.loads(race("quadratic", runs, 200, kappa=100.0)), "paused": True}
    seen: list[Msg] = []

    async def main() -> None:
        async with connect(server.ws_url, additional_headers={"Origin": server.url}) as ws:
            assert (await recv(ws))["type"] == "hello"
            plan = [
                (orjson.dumps(start).decode(), 20),
                ('{"type": "set", "run": "a", "hyper": {"lr": 0.01}}', 60),
                ('{"type": "set", "run": "a", "hyper": {"lr": 0.03}}', 100),
            ]
            reached = 0
            for text, target in plan:
                await ws.send(text)
                await ws.send(orjson.dumps({"type": "step", "n": target - reached}).decode())
                seen.extend(await collect(ws, lambda m, t=target: m == {**m, **at(t)}))
                reached = target

    run_async(main)
    warned = events(seen, "unstable")
    assert len(warned) == 2
    assert "lr = 0.025" in warned[0]["message"] and "lr = 0.03" in warned[1]["message"]
    assert warned[0]["step"] <= 20 and 60 < warned[1]["step"] <= 100


def test_newton_overshooting_is_warned_by_the_geometric_growth_of_its_loss(
    server: LiveServer,
) -> None:
    # Newton has no lr edge in the watch: with lr 2.2 the error grows 1.2x a step on a quadratic
    runs = [{"id": "n", "optimizer": "newton", "hyper": {"lr": 2.2}, "start": [1.0, 1.0]}]
    seen = play(server, race("quadratic", runs, 120, sps=240, kappa=10.0))
    warned = events(seen, "unstable")
    assert len(warned) == 1 and warned[0]["cause"] == "growth"
    assert "growing geometrically" in warned[0]["message"]
    assert warned[0]["step"] <= 40 and warned[0]["loss_to"] < 1e6
    assert warned[0]["rate"] == pytest.approx(1.44, rel=0.01)  # (1 - 2.2)^2 a step


def test_the_monkey_saddle_falls_without_bound_and_is_not_called_an_overshoot(
    server: LiveServer,
) -> None:
    runs = [{"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.0005}, "start": [0.5, 0.3]}]
    seen = play(server, race("monkey_saddle", runs, 20_000))
    diverged = events(seen, "diverged")
    assert len(diverged) == 1
    message = diverged[0]["message"]
    assert "fell without bound" in message and "no minimum" in message
    assert (
        "not an overshoot" in message
        and "smaller learning rate" not in message.split("not an overshoot")[0]
    )
    numbers = [float(v) for v in re.findall(r"-\d[\d.e+]*", message)]
    assert numbers and min(numbers) < -1e10


def test_a_divergence_off_quadratics_names_the_local_limit_it_crossed(server: LiveServer) -> None:
    # Rosenbrock curves ever more steeply away from its valley: lr 0.003 diverges at step 6, a
    # step a frame lets the watch sample the way out
    runs = [{"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.003}, "start": [-1.5, 2.0]}]
    seen = play(server, race("rosenbrock", runs, 100, sps=30))
    warned, diverged = events(seen, "unstable"), events(seen, "diverged")
    assert [m["run"] for m in diverged] == ["a"] and warned and warned[0]["cause"] == "lr_limit"
    message = diverged[0]["message"]
    found = re.search(
        r"At step (\d+) lr = 0\.003 was ([\d.]+)x the local stability limit there, "
        r"2/λmax = ([\d.e-]+) \(λmax = ([\d.e+]+) of the Hessian\)",
        message,
    )
    assert found is not None, message
    step, ratio, limit, curvature = int(found[1]), *(float(v) for v in found.group(2, 3, 4))
    assert step < diverged[0]["step"] and ratio > 1.0
    assert limit == pytest.approx(2.0 / curvature, rel=1e-3) and ratio == pytest.approx(
        0.003 / limit, rel=1e-3
    )


def test_a_run_kept_over_the_limit_is_warned_once_however_often_it_is_sampled(
    server: LiveServer,
) -> None:
    # at 2,000 steps a second the watch samples this run about 100 times before it overflows
    runs = [{"id": "a", "optimizer": "sgd", "hyper": {"lr": 0.025}, "start": [1.0, 1.0]}]
    seen = play(server, race("quadratic", runs, 2000, sps=2000, kappa=100.0))
    assert [m["run"] for m in events(seen, "unstable")] == ["a"]
    assert [m["run"] for m in events(seen, "diverged")] == ["a"]
