"""Learning-rate schedules against torch.optim.lr_scheduler, validation, vectorization.

The torch reference drives a real scheduler on a float64 SGD optimizer the usual way
(``optimizer.step()`` then ``scheduler.step()``) and records ``group["lr"]`` before each
``optimizer.step()``; entry t is the rate our ``learning_rate(schedule, lr, t)`` must give.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.optim.base import InvalidHyperparameter
from server.optim.schedules import (
    CONSTANT,
    SCHEDULES,
    Schedule,
    learning_rate,
    learning_rates,
    parse_schedule,
)

torch = pytest.importorskip("torch")
lr_scheduler = pytest.importorskip("torch.optim.lr_scheduler")

N_STEPS = 3000


def torch_scheduler(schedule: Schedule, opt: Any) -> Any:
    """The torch scheduler our schedule claims to equal, built from our parameter names."""
    p = dict(schedule.params)
    L = lr_scheduler
    if schedule.name == "constant":
        return L.LambdaLR(opt, lambda _: 1.0)
    if schedule.name == "step":
        return L.StepLR(opt, step_size=p["step_size"], gamma=p["gamma"])
    if schedule.name == "exponential":
        return L.ExponentialLR(opt, gamma=p["gamma"])
    if schedule.name == "cosine":
        cosine = L.CosineAnnealingLR(opt, T_max=p["T_max"], eta_min=p["eta_min"])
        if p["warmup"] == 0:
            return cosine
        warm = L.LinearLR(
            opt, start_factor=p["start_factor"], end_factor=1.0, total_iters=p["warmup"]
        )
        return L.SequentialLR(opt, [warm, cosine], milestones=[p["warmup"]])
    if schedule.name == "cyclical":
        lr = opt.param_groups[0]["lr"]
        return L.CyclicLR(
            opt,
            base_lr=lr,
            max_lr=p["max_lr"],
            step_size_up=p["step_size_up"],
            step_size_down=p["step_size_down"],
            mode=p["mode"],
            gamma=p["gamma"],
            cycle_momentum=False,
        )
    assert schedule.name == "one_cycle"
    return L.OneCycleLR(
        opt,
        max_lr=opt.param_groups[0]["lr"],
        total_steps=p["total_steps"],
        pct_start=float(p["pct_start"]),
        anneal_strategy=p["anneal_strategy"],
        div_factor=p["div_factor"],
        final_div_factor=p["final_div_factor"],
        three_phase=p["three_phase"],
        cycle_momentum=False,
    )


def torch_rates(schedule: Schedule, lr: float, n: int) -> np.ndarray:
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    sched = torch_scheduler(schedule, opt)
    out = []
    for t in range(n):
        out.append(opt.param_groups[0]["lr"])
        param.grad = torch.zeros_like(param)
        opt.step()
        if t < n - 1:  # the rate after the last recorded step is not needed (nor always defined)
            sched.step()
    return np.array(out, dtype=np.float64)


def ours(schedule: Schedule, lr: float, n: int) -> np.ndarray:
    return np.array([learning_rate(schedule, lr, t) for t in range(n)])


# (schedule JSON, run lr, steps): several non-default settings per schedule.
EXACT_CASES: list[tuple[dict[str, Any] | None, float, int]] = [
    (None, 0.05, 200),
    ({"name": "constant"}, 3.0, 200),
    ({"name": "step"}, 0.1, N_STEPS),
    ({"name": "step", "step_size": 7, "gamma": 0.9}, 0.02, N_STEPS),
    ({"name": "step", "step_size": 1, "gamma": 0.995}, 1.0, N_STEPS),
    ({"name": "step", "step_size": 250, "gamma": 1.5}, 1e-4, N_STEPS),
    ({"name": "step", "step_size": 10, "gamma": 0.0}, 0.3, 100),
    ({"name": "exponential"}, 0.1, N_STEPS),
    ({"name": "exponential", "gamma": 0.99}, 0.5, N_STEPS),
    ({"name": "exponential", "gamma": 1.001}, 1e-3, N_STEPS),
    ({"name": "exponential", "gamma": 0.0}, 0.1, 50),
    ({"name": "cyclical"}, 0.01, N_STEPS),
    ({"name": "cyclical", "max_lr": 0.1, "step_size_up": 200}, 0.01, N_STEPS),
    (
        {"name": "cyclical", "max_lr": 1.0, "step_size_up": 7, "step_size_down": 13},
        0.05,
        N_STEPS,
    ),
    ({"name": "cyclical", "max_lr": 1.0, "step_size_up": 150, "mode": "triangular2"}, 0.1, N_STEPS),
    (
        {
            "name": "cyclical",
            "max_lr": 0.5,
            "step_size_up": 100,
            "step_size_down": 40,
            "mode": "exp_range",
            "gamma": 0.999,
        },
        0.01,
        N_STEPS,
    ),
    ({"name": "cyclical", "max_lr": 0.001, "step_size_up": 50}, 0.01, N_STEPS),
    ({"name": "cyclical", "max_lr": 2.0, "step_size_up": 1, "step_size_down": 1}, 0.5, 500),
    ({"name": "one_cycle"}, 0.1, 1000),
    (
        {
            "name": "one_cycle",
            "total_steps": N_STEPS,
            "pct_start": 0.25,
            "anneal_strategy": "linear",
            "div_factor": 10.0,
            "final_div_factor": 100.0,
        },
        1.0,
        N_STEPS,
    ),
    ({"name": "one_cycle", "total_steps": 777, "pct_start": 0.4, "three_phase": True}, 0.3, 777),
    (
        {
            "name": "one_cycle",
            "total_steps": 500,
            "pct_start": 0.1,
            "three_phase": True,
            "anneal_strategy": "linear",
        },
        0.05,
        500,
    ),
    ({"name": "one_cycle", "total_steps": 400, "pct_start": 0.0}, 0.2, 400),
    ({"name": "one_cycle", "total_steps": 400, "pct_start": 1.0}, 0.2, 400),
    ({"name": "one_cycle", "total_steps": 300, "pct_start": 0.8, "three_phase": True}, 0.2, 300),
    ({"name": "one_cycle", "total_steps": 1}, 0.2, 1),
    ({"name": "one_cycle", "total_steps": 2, "anneal_strategy": "linear"}, 0.2, 2),
]

# Cosine goes through torch's recursive (chainable) update, which drifts from the closed form
# by rounding: measured up to 1.6e-12 relative over 3,000 steps, growing with each period.
# So: rtol 1e-10 against the recursive trajectory, 1e-12 against torch's own closed form.
COSINE_CASES: list[tuple[dict[str, Any], float, int]] = [
    ({"name": "cosine"}, 0.1, N_STEPS),
    ({"name": "cosine", "T_max": 7}, 1.0, N_STEPS),
    ({"name": "cosine", "T_max": 333, "eta_min": 1e-3}, 0.05, N_STEPS),
    ({"name": "cosine", "T_max": 1500, "eta_min": 0.01}, 0.3, N_STEPS),
    ({"name": "cosine", "T_max": 50, "eta_min": 0.2}, 0.1, N_STEPS),
    ({"name": "cosine", "T_max": 1}, 0.1, 100),
    ({"name": "cosine", "T_max": 500, "warmup": 100}, 0.1, N_STEPS),
    (
        {"name": "cosine", "T_max": 200, "warmup": 37, "start_factor": 0.01, "eta_min": 1e-4},
        0.02,
        N_STEPS,
    ),
    ({"name": "cosine", "T_max": 3, "warmup": 1, "start_factor": 1.0}, 0.5, 200),
    ({"name": "cosine", "T_max": 1000, "warmup": 1000, "start_factor": 1e-6}, 1.0, N_STEPS),
]


def case_id(case: tuple[dict[str, Any] | None, float, int]) -> str:
    obj, lr, _ = case
    if obj is None:
        return "null"
    args = ",".join(f"{k}={v}" for k, v in obj.items() if k != "name")
    return f"{obj['name']}({args})@{lr}"


@pytest.mark.parametrize("case", EXACT_CASES, ids=case_id)
def test_matches_torch(case: tuple[dict[str, Any] | None, float, int]) -> None:
    obj, lr, n = case
    schedule = parse_schedule(obj)
    np.testing.assert_allclose(ours(schedule, lr, n), torch_rates(schedule, lr, n), rtol=1e-12)


@pytest.mark.parametrize("case", COSINE_CASES, ids=case_id)
def test_cosine_matches_torch_recursive(case: tuple[dict[str, Any], float, int]) -> None:
    obj, lr, n = case
    schedule = parse_schedule(obj)
    np.testing.assert_allclose(ours(schedule, lr, n), torch_rates(schedule, lr, n), rtol=1e-10)


@pytest.mark.parametrize("case", [c for c in COSINE_CASES if "warmup" not in c[0]], ids=case_id)
def test_cosine_matches_torch_closed_form(case: tuple[dict[str, Any], float, int]) -> None:
    obj, lr, n = case
    schedule = parse_schedule(obj)
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    sched = torch_scheduler(schedule, opt)
    if not hasattr(sched, "_get_closed_form_lr"):
        pytest.skip("this torch has no CosineAnnealingLR._get_closed_form_lr")
    ref = []
    for t in range(n):
        sched.last_epoch = t
        ref.append(sched._get_closed_form_lr()[0])
    np.testing.assert_allclose(ours(schedule, lr, n), ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "obj",
    [
        {"name": "one_cycle", "total_steps": 100},
        {"name": "one_cycle", "total_steps": 100, "anneal_strategy": "linear"},
        {"name": "one_cycle", "total_steps": 37, "three_phase": True, "pct_start": 0.45},
        {"name": "one_cycle", "total_steps": 1},
    ],
)
def test_one_cycle_holds_final_rate_after_the_end(obj: dict[str, Any]) -> None:
    schedule = parse_schedule(obj)
    total = obj["total_steps"]
    final = learning_rate(schedule, 0.4, total - 1)
    assert final == pytest.approx(0.4 / 25 / 1e4, rel=1e-12)
    after = learning_rates(schedule, 0.4, np.arange(total, total + 5000))
    assert np.all(after == final)


def test_one_cycle_zero_length_rise_takes_the_peak() -> None:
    # pct_start * total_steps == 1 makes torch divide 0 by 0 at step 0; we give the phase's end.
    schedule = parse_schedule({"name": "one_cycle", "total_steps": 10, "pct_start": 0.1})
    assert learning_rate(schedule, 0.7, 0) == 0.7
    assert learning_rate(schedule, 0.7, 9) == pytest.approx(0.7 / 25 / 1e4)


@settings(max_examples=30, deadline=None)
@given(
    total=st.integers(1, 120),
    pct_start=st.floats(0.0, 1.0),
    linear=st.booleans(),
    three_phase=st.booleans(),
    div_factor=st.floats(1.0, 1e3),
    lr=st.floats(1e-4, 10.0),
)
def test_one_cycle_random_settings_match_torch(
    total: int, pct_start: float, linear: bool, three_phase: bool, div_factor: float, lr: float
) -> None:
    span = pct_start * total
    bounds = {span - 1, 2 * span - 2}
    if 0.0 in bounds or float(total) - 1 in bounds:
        return  # a zero-length phase: torch divides by zero there (see the test above)
    schedule = parse_schedule(
        {
            "name": "one_cycle",
            "total_steps": total,
            "pct_start": pct_start,
            "anneal_strategy": "linear" if linear else "cos",
            "three_phase": three_phase,
            "div_factor": div_factor,
        }
    )
    np.testing.assert_allclose(
        ours(schedule, lr, total), torch_rates(schedule, lr, total), rtol=1e-12
    )


@settings(max_examples=30, deadline=None)
@given(
    up=st.integers(1, 40),
    down=st.integers(1, 40),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.9, 1.0),
    max_lr=st.floats(1e-4, 10.0),
    lr=st.floats(1e-4, 10.0),
)
def test_cyclical_random_settings_match_torch(
    up: int, down: int, mode: str, gamma: float, max_lr: float, lr: float
) -> None:
    schedule = parse_schedule(
        {
            "name": "cyclical",
            "max_lr": max_lr,
            "step_size_up": up,
            "step_size_down": down,
            "mode": mode,
            "gamma": gamma,
        }
    )
    n = 3 * (up + down) + 1
    np.testing.assert_allclose(ours(schedule, lr, n), torch_rates(schedule, lr, n), rtol=1e-12)


# ---------------------------------------------------------------- vectorization


@pytest.mark.parametrize(
    "obj",
    [
        None,
        {"name": "step", "step_size": 3, "gamma": 0.5},
        {"name": "exponential", "gamma": 0.97},
        {"name": "cosine", "T_max": 20, "eta_min": 0.001, "warmup": 5},
        {"name": "cyclical", "max_lr": 0.3, "step_size_up": 4, "mode": "triangular2"},
        {"name": "one_cycle", "total_steps": 30, "three_phase": True},
    ],
)
def test_vectorized_equals_scalar(obj: dict[str, Any] | None) -> None:
    schedule = parse_schedule(obj)
    base = np.array([[0.01], [0.1], [1.0]])
    steps = np.arange(60)[None, :]
    table = learning_rates(schedule, base, steps)
    assert table.shape == (3, 60)
    assert table.dtype == np.float64
    for i, lr in enumerate(base[:, 0]):
        for t in range(60):
            assert table[i, t] == learning_rate(schedule, float(lr), t)
    # One row per run, each at its own step: the engine's shape (N, 1).
    runs = learning_rates(schedule, base, np.array([[0], [17], [59]]))
    assert runs.shape == (3, 1)
    assert runs[:, 0].tolist() == [table[0, 0], table[1, 17], table[2, 59]]
    # Whole floats count as steps; the result is a fresh, writable array.
    again = learning_rates(schedule, base, steps.astype(np.float64))
    np.testing.assert_array_equal(again, table)
    again[0, 0] = -1.0
    assert learning_rates(schedule, base, steps)[0, 0] == table[0, 0]


@pytest.mark.parametrize("steps", [[-1], [0.5], [np.nan], [True]])
def test_bad_steps_raise(steps: list[Any]) -> None:
    with pytest.raises(ValueError, match="steps"):
        learning_rates(parse_schedule({"name": "cosine"}), 0.1, np.array(steps))


@pytest.mark.parametrize(
    "obj",
    [
        {"name": "exponential", "gamma": 2.0},
        {"name": "step", "step_size": 1, "gamma": 2.0},
        {"name": "cyclical", "mode": "exp_range", "gamma": 0.0, "step_size_up": 1},
        {"name": "cosine", "T_max": 1, "eta_min": 1e3},
        {"name": "one_cycle", "total_steps": 1_000_000, "final_div_factor": 1e12},
    ],
)
def test_extreme_valid_settings_never_raise(obj: dict[str, Any]) -> None:
    schedule = parse_schedule(obj)
    steps = np.array([0, 1, 2, 10**4, 10**6, 10**9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = learning_rates(schedule, np.array([[1e-6], [1e3]]), steps)
        single = learning_rate(schedule, 1e3, 10**9)
    assert not np.any(np.isnan(out)) and np.all(out >= 0)
    assert single == out[1, -1]


# ---------------------------------------------------------------- parsing and validation


@pytest.mark.parametrize(
    ("obj", "field", "fragment"),
    [
        ("cosine", "schedule", "null or an object"),
        ([1, 2], "schedule", "null or an object"),
        ({}, "schedule.name", "no name"),
        ({"name": "cosinus"}, "schedule.name", "'cosinus'"),
        ({"name": 3}, "schedule.name", "3"),
        ({"name": "step", "gamma": -0.5}, "schedule.gamma", "-0.5"),
        ({"name": "exponential", "gamma": -1}, "schedule.gamma", "-1"),
        ({"name": "exponential", "gamma": 2.5}, "schedule.gamma", "2.5"),
        ({"name": "step", "step_size": 2.5}, "schedule.step_size", "integer"),
        ({"name": "step", "step_size": 0}, "schedule.step_size", "[1, 1e+06]"),
        ({"name": "step", "step_size": True}, "schedule.step_size", "number"),
        ({"name": "step", "step_size": "10"}, "schedule.step_size", "'10'"),
        ({"name": "exponential", "gamma": math.nan}, "schedule.gamma", "finite"),
        ({"name": "exponential", "gamma": math.inf}, "schedule.gamma", "finite"),
        ({"name": "cosine", "T_max": 1e300}, "schedule.T_max", "1e+300"),
        ({"name": "cosine", "T_max": 10**400}, "schedule.T_max", "must be an integer in"),
        ({"name": "cosine", "eta_min": -1.0}, "schedule.eta_min", "-1.0"),
        ({"name": "cosine", "warmup": -1}, "schedule.warmup", "-1"),
        ({"name": "cosine", "start_factor": 0.0}, "schedule.start_factor", "0.0"),
        ({"name": "cosine", "tmax": 10}, "schedule.tmax", "T_max"),
        ({"name": "one_cycle", "max_lr": 0.1}, "schedule.max_lr", "run's lr"),
        ({"name": "one_cycle", "anneal_strategy": "cosine"}, "schedule.anneal_strategy", "'cos'"),
        ({"name": "one_cycle", "three_phase": 1}, "schedule.three_phase", "true or false"),
        ({"name": "one_cycle", "pct_start": 1.5}, "schedule.pct_start", "1.5"),
        ({"name": "one_cycle", "total_steps": 0}, "schedule.total_steps", "0"),
        ({"name": "cyclical", "mode": "sine"}, "schedule.mode", "'triangular2'"),
        ({"name": "cyclical", "max_lr": 0}, "schedule.max_lr", "0"),
        ({"name": "cyclical", "step_size_down": 0.0}, "schedule.step_size_down", "0.0"),
        ({"name": "constant", "gamma": 0.5}, "schedule.gamma", "no parameters"),
    ],
)
def test_invalid_schedules_name_the_field(obj: object, field: str, fragment: str) -> None:
    with pytest.raises(InvalidHyperparameter) as info:
        parse_schedule(obj)
    assert info.value.field == field
    assert fragment in info.value.message
    assert str(info.value) == info.value.message


def test_null_and_defaults() -> None:
    assert parse_schedule(None) == CONSTANT == parse_schedule({"name": "constant"})
    cosine = parse_schedule({"name": "cosine", "eta_min": None})
    assert dict(cosine.params) == {
        "T_max": 1000,
        "eta_min": 0.0,
        "warmup": 0,
        "start_factor": 1.0 / 3.0,
    }
    step = parse_schedule({"name": "step", "step_size": 10.0, "gamma": 1})
    assert step.params["step_size"] == 10 and isinstance(step.params["step_size"], int)
    assert step.params["gamma"] == 1.0 and isinstance(step.params["gamma"], float)


def test_cyclical_step_size_down_follows_up_like_torch() -> None:
    assert parse_schedule({"name": "cyclical", "step_size_up": 40}).params["step_size_down"] == 40
    both = parse_schedule({"name": "cyclical", "step_size_up": 40, "step_size_down": 9})
    assert both.params["step_size_down"] == 9


def test_schedule_is_immutable_hashable_and_round_trips() -> None:
    seen = set()
    for name in SCHEDULES:
        schedule = parse_schedule({"name": name})
        assert parse_schedule(schedule.to_json()) == schedule
        seen.add(schedule)
        with pytest.raises(TypeError):
            schedule.params["x"] = 1.0  # type: ignore[index]
    assert len(seen) == len(SCHEDULES)
    a = parse_schedule({"name": "step", "gamma": 0.5})
    b = parse_schedule({"gamma": 0.5, "name": "step"})
    assert a == b and hash(a) == hash(b)


def test_specs_are_consistent() -> None:
    assert list(SCHEDULES) == ["constant", "step", "exponential", "cosine", "cyclical", "one_cycle"]
    for name, spec in SCHEDULES.items():
        assert spec.name == name
        data = spec.to_json()
        assert data["name"] == name and data["torch"] == spec.torch
        assert [p["name"] for p in data["params"]] == [p.name for p in spec.params]
        if spec.torch is not None:
            assert hasattr(lr_scheduler, spec.torch)
        # Defaults validate, and parsing them explicitly changes nothing.
        explicit = {"name": name, **{p.name: p.default for p in spec.params}}
        assert parse_schedule(explicit) == parse_schedule({"name": name})
        for p in spec.params:
            if p.kind in ("float", "int"):
                assert p.min is not None and p.max is not None and p.min <= p.max
                parse_schedule({"name": name, p.name: p.min})
                parse_schedule({"name": name, p.name: p.max})
                if p.scale == "log":
                    assert p.min > 0
