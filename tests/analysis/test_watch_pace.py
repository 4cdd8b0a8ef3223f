"""How often the stability watch samples a live race: sparsely while every run is quiet, often
once a run's lr nears its limit or its loss rises, and never so late that a crossing goes unsaid."""

from __future__ import annotations

import itertools
import math

import numpy as np

from server.analysis.watch import CHECK_EVERY, QUIET_EVERY, QUIET_SHARE, StabilityWatch
from server.engine import Race, RunConfig
from server.optim.registry import validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.factory import build_surface

KAPPA = 10.0  # the quadratic's λmax: SGD's limit is 2/κ = 0.2
LR, GAMMA = 0.01, 1.01  # an exponential schedule that grows the lr through the limit


def growing_race() -> Race:
    problem = build_surface("quadratic", {"kappa": KAPPA}).problem
    config = RunConfig(
        "a",
        "sgd",
        validate_hyper("sgd", {"lr": LR}),
        np.array([1.0, 1.0]),
        parse_schedule({"name": "exponential", "gamma": GAMMA}),
    )
    return Race(problem, [config], max_steps=2000, until="max_steps")


def sampled_steps(race: Race, watch_: StabilityWatch, frames: int, per_frame: int) -> list[int]:
    """Play ``frames`` frames of ``per_frame`` steps; the steps at which the watch sampled."""
    steps: list[int] = []
    for _ in range(frames):
        chunks, _ = race.advance(per_frame)
        watch_.observe(chunks)
        due = watch_._due
        watch_.events()
        if watch_._due != due:
            steps.append(race.step)
    return steps


def test_a_quiet_run_is_sampled_sparsely_and_more_often_as_its_lr_nears_the_limit() -> None:
    race = growing_race()
    stream_watch = StabilityWatch(race)
    steps = sampled_steps(race, stream_watch, frames=200, per_frame=2)
    near = math.log(QUIET_SHARE * 2 / KAPPA / LR) / math.log(GAMMA)  # lr = QUIET_SHARE · limit
    gaps_quiet = {b - a for a, b in itertools.pairwise(steps) if b < near - 1}
    gaps_near = {b - a for a, b in itertools.pairwise(steps) if a > near + 1}
    assert gaps_quiet == {QUIET_EVERY}
    assert gaps_near == {CHECK_EVERY}


def test_a_run_growing_through_its_limit_is_warned_within_a_dense_sample() -> None:
    race = growing_race()
    stream_watch = StabilityWatch(race)
    crossing = math.log(2 / KAPPA / LR) / math.log(GAMMA)  # the update whose lr passes 2/κ
    warned: list[int] = []
    for _ in range(400):
        chunks, _ = race.advance(2)
        stream_watch.observe(chunks)
        warned += [e["step"] for e in stream_watch.events() if e["cause"] == "lr_limit"]
    assert len(warned) == 1
    assert crossing <= warned[0] <= crossing + CHECK_EVERY + 2
