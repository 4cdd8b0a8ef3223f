"""Torch twins that start late (torch still importing when the race began) catch up a few steps
per advance, take every live change at the update its run's ack named, and end on their runs'
curves (server/live/twins.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.engine import Race, RunConfig
from server.live import twins
from server.live.network_stream import NetworkStream
from server.optim.registry import validate_hyper
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import DeepConfig
from server.problems.nn.problem import NetworkConfig, NetworkProblem

STEPS = 24


def _problem(kind: str) -> DeepProblem | NetworkProblem:
    if kind == "cnn":
        return DeepProblem(DeepConfig(n=200, batch_size=32, filters=4))
    return NetworkProblem(NetworkConfig(dataset="moons", n=100, hidden=(8,), batch_size=16))


def _joined(frames: list[dict[str, Any]], run: str, key: str) -> list[float]:
    out: list[float] = []
    for frame in frames:
        part = frame.get(run)
        if part is not None:
            assert part["step"] == len(out), "a series skips or repeats a step"
            out.extend(part[key])
    return out


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_late_twins_catch_up_through_a_live_change(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    imported = [False]
    monkeypatch.setattr(twins, "torch_ready", lambda wait=False: imported[0] or wait)
    problem = _problem(kind)
    init = problem.init_params(0)
    configs = [
        RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.01}), init),
        RunConfig("s", "momentum", validate_hyper("momentum", {"lr": 0.05}), init),
    ]
    race = Race(problem, configs, seed=0, max_steps=STEPS)
    stream = NetworkStream(race, problem, torch=True)
    stream.restart()
    frames = [stream.take_frame() or {}]
    stream.advance(4)
    acked = stream.set("a", {"lr": 0.1}, None, None)  # update 5 on, before any twin exists
    stream.advance(4)
    frames.append(stream.take_frame() or {})
    assert not any(run.endswith("~torch") for frame in frames for run in frame)
    imported[0] = True
    stream.advance(2)  # the twins are built and take at most twice the race's 2 steps
    frames.append(stream.take_frame() or {})
    assert len(_joined(frames, "a~torch", "train_loss")) == 1 + 4  # the start and 4 updates
    later = stream.set("s", {"lr": 0.01}, None, None)  # the twin of s is still behind it
    assert later == 11
    while not race.done:
        stream.advance(3)
        frames.append(stream.take_frame() or {})
    assert acked == 5
    for run in ("a", "s"):
        ours = np.array(_joined(frames, run, "train_loss"))
        twin = np.array(_joined(frames, run + "~torch", "train_loss"))
        assert len(ours) == len(twin) == STEPS + 1
        np.testing.assert_allclose(twin, ours, rtol=0, atol=1e-9)
        gnorm = np.array(_joined(frames, run + "~torch", "gnorm"))
        np.testing.assert_allclose(gnorm, _joined(frames, run, "gnorm"), rtol=1e-6, atol=1e-10)
