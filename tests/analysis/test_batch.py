"""Batched runs against single ones: bit for bit what POST /api/trajectory gives each row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.analysis.basin import basin
from server.analysis.batch import Batch
from server.analysis.requests import BasinRequest, SweepRequest
from server.analysis.sweep import sweep
from server.optim.registry import OPTIMIZERS, get_optimizer, hyper_rows
from server.optim.schedules import parse_schedule
from server.problems.factory import build_expression, build_surface
from server.schemas import TrajectoryRequest
from server.trajectory import trajectory

STARTS = [(-1.5, 2.0), (0.3, -0.7), (1.2, 1.1), (-1.0, -1.0)]
FORMULA = "sin(x)*cos(y) + 0.1*(x^2+y^2)"


def single(**fields: Any) -> dict[str, Any]:
    return trajectory(TrajectoryRequest(until="max_steps", **fields), 10**6)


def assert_rows_equal(end: Any, bodies: list[dict[str, Any]]) -> None:
    for i, fields in enumerate(bodies):
        one = single(**fields)
        assert (end.diverged_at[i] >= 0) == (one["status"] == "diverged"), i
        if len(one["points"]):
            last = one["points"][-1]
            assert end.point[i].tobytes() == last[:2].tobytes(), i
            assert end.loss[i].tobytes() == np.float64(last[2]).tobytes(), i


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_batched_equals_its_single_runs(name: str) -> None:
    lrs = [1e-3, 1e-2, 1e-1, 1.0]  # per-row learning rates; the larger ones diverge for some
    surface = build_surface("himmelblau", {})
    rows = [{"lr": lr} for lr in lrs]
    end = Batch(surface.problem, get_optimizer(name), hyper_rows(name, rows), np.array(STARTS)).run(
        150
    )
    bodies = [
        {"surface": "himmelblau", "optimizer": name, "hyper": r, "start": s, "steps": 150}
        for r, s in zip(rows, STARTS, strict=True)
    ]
    assert_rows_equal(end, bodies)


@pytest.mark.parametrize("name", ["sgd", "adam", "newton"])
def test_formulas_and_schedules_batched_equal_single_runs(name: str) -> None:
    formula = build_expression(FORMULA)
    rows = hyper_rows(name, [{"lr": 0.05}] * len(STARTS))
    end = Batch(formula.problem, get_optimizer(name), rows, np.array(STARTS)).run(80)
    assert_rows_equal(
        end,
        [
            {
                "expression": FORMULA,
                "optimizer": name,
                "hyper": {"lr": 0.05},
                "start": s,
                "steps": 80,
            }
            for s in STARTS
        ],
    )
    schedule = {"name": "exponential", "gamma": 0.98}
    surface = build_surface("rosenbrock", {})
    rows = hyper_rows(name, [{"lr": 0.002}] * len(STARTS))
    end = Batch(
        surface.problem, get_optimizer(name), rows, np.array(STARTS), parse_schedule(schedule)
    ).run(80)
    assert_rows_equal(
        end,
        [
            {
                "surface": "rosenbrock",
                "optimizer": name,
                "hyper": {"lr": 0.002},
                "schedule": schedule,
                "start": s,
                "steps": 80,
            }
            for s in STARTS
        ],
    )


def test_basin_cells_are_the_single_runs_from_their_starts() -> None:
    body = BasinRequest(
        surface="himmelblau",
        optimizer="momentum",
        hyper={"lr": 0.01},
        n=7,
        steps=200,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
    )
    out = basin(body)
    minima = np.array(out["minima"])[:, :2]
    seen = set()
    for i, y in enumerate(out["y"]):
        for j, x in enumerate(out["x"]):
            one = single(
                surface="himmelblau",
                optimizer="momentum",
                hyper={"lr": 0.01},
                start=(float(x), float(y)),
                steps=200,
            )
            points = one["points"]
            if one["status"] == "diverged":
                assert out["minimum"][i][j] == -2 and out["steps"][i][j] is None
                continue
            distance = np.sqrt(((points[:, None, :2] - minima[None]) ** 2).sum(-1))
            within = distance <= 1e-3
            expected = int(np.flatnonzero(within[-1])[0]) if within[-1].any() else -1
            assert out["minimum"][i][j] == expected, (i, j)
            seen.add(expected)
            if expected >= 0:
                outside = np.flatnonzero(~within[:, expected])
                first = int(outside[-1]) + 1 if outside.size else 0
                assert out["steps"][i][j] == first, (i, j)
            else:
                assert out["steps"][i][j] is None
    assert seen >= {0, 1, 2, 3}  # Himmelblau's four minima are all reached from this grid


def test_sweep_rows_are_single_runs_with_their_learning_rates() -> None:
    lrs = [1e-4, 1e-3, 1e-2, 0.03]
    out = sweep(
        SweepRequest(surface="rosenbrock", optimizer="sgd", lrs=lrs, start=(-1.5, 2.0), steps=300)
    )
    for k, lr in enumerate(lrs):
        one = single(
            surface="rosenbrock", optimizer="sgd", hyper={"lr": lr}, start=(-1.5, 2.0), steps=300
        )
        assert out["diverged"][k] == (one["status"] == "diverged")
        assert out["final_loss"][k] == one["points"][-1][2]
