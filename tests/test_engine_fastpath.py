"""The engine's three ways of advancing a group give the same bits.

``arrays`` is the reference: one ``optimizer.update`` call per step, then the surface's numpy
``value`` and ``grad`` (what tests/test_engine.py checks against a plain loop, and what the
conformance tests check against torch). ``rows`` runs the traced code in Python floats, one run at
a time; ``columns`` runs it over whole columns of a large group. Trajectories, losses and gradient
norms are compared bit for bit (signed zeros included), and so are the stops.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from server.engine import Mode, Race, RunConfig, RunStatus, Stop, Until, columns, model
from server.engine.columns import ColumnsStepper
from server.engine.rows import RowsStepper
from server.fastpath import Untraceable, compile_step
from server.fastpath.trace import Ref, Sym, Tape
from server.optim.base import Optimizer
from server.optim.registry import OPTIMIZERS, validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.factory import build_expression
from server.problems.surfaces import SURFACES, get_surface

MODES: tuple[Mode, ...] = ("arrays", "rows", "columns")
STEPS = 150

# Every setting off its default, so that each branch of each update is the one taken.
SETTINGS: dict[str, dict[str, float]] = {
    "sgd": {"lr": 2e-4, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01},
    "momentum": {"lr": 1e-4, "nesterov": True, "weight_decay": 0.1},
    "nesterov": {"lr": 1e-4, "momentum": 0.7},
    "adagrad": {
        "lr": 0.05,
        "lr_decay": 0.01,
        "initial_accumulator_value": 0.1,
        "weight_decay": 0.01,
        "eps": 1e-6,
    },
    "rmsprop": {"lr": 2e-3, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
    "adadelta": {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-6},
    "amsgrad": {"lr": 0.02, "eps": 1e-6, "beta2": 0.95},
    "adamax": {"lr": 0.01, "beta1": 0.7, "weight_decay": 0.01},
    "nadam": {
        "lr": 0.01,
        "momentum_decay": 0.01,
        "decoupled_weight_decay": True,
        "weight_decay": 0.01,
    },
    "radam": {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.01},
    "rprop": {
        "lr": 0.01,
        "eta_minus": 0.4,
        "eta_plus": 1.3,
        "step_size_min": 1e-5,
        "step_size_max": 0.5,
    },
    "lion": {"lr": 1e-3, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.1},
    "newton": {"lr": 0.5, "min_curvature": 0.1},
}
STARTS = ((-1.5, 2.0), (-1.2, 1.1), (0.3, -0.8))

Result = tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], list[Stop], list[Any]]


def config(
    run_id: str,
    optimizer: str,
    start: Sequence[float],
    hyper: Mapping[str, float],
    **extra: Any,
) -> RunConfig:
    return RunConfig(run_id, optimizer, validate_hyper(optimizer, hyper), np.array(start), **extra)


def play(
    make: Callable[[Mode], Race],
    mode: Mode = "auto",
    pieces: Sequence[int] = (STEPS,),
    between: Callable[[Race, int], None] | None = None,
) -> Result:
    """Advance a fresh race by ``pieces``; the whole path of every run, the stops, the status."""
    race = make(mode)
    parts: dict[str, list[Any]] = {
        run_id: [(c.params, c.loss, c.gnorm)] for run_id, c in race.initial_chunks().items()
    }
    stops: list[Stop] = []
    for k, n in enumerate(pieces):
        if between is not None:
            between(race, k)
        chunks, new = race.advance(n)
        stops += new
        for run_id, c in chunks.items():
            parts.setdefault(run_id, []).append((c.params, c.loss, c.gnorm))
    paths = {
        run_id: tuple(np.concatenate([p[j] for p in chunks]) for j in range(3))
        for run_id, chunks in parts.items()
    }
    for i, run_id in enumerate(race.ids):  # every point up to the stop, and nothing else
        status = race.status[i]
        end = race.step if status is RunStatus.RUNNING else race.stopped_at[i]
        assert len(paths[run_id][0]) == end + (status is not RunStatus.DIVERGED), run_id
        assert all(np.isfinite(a).all() for a in paths[run_id]), run_id
    return paths, stops, [race.status, race.stopped_at, race.step]  # type: ignore[return-value]


def assert_same(result: Result, reference: Result) -> None:
    paths, stops, end = result
    ref_paths, ref_stops, ref_end = reference
    assert paths.keys() == ref_paths.keys()
    for run_id, arrays in paths.items():
        for mine, theirs in zip(arrays, ref_paths[run_id], strict=True):
            assert mine.shape == theirs.shape, run_id
            # bit patterns: -0.0 and 0.0 differ here
            np.testing.assert_array_equal(
                np.ascontiguousarray(mine).view(np.uint64),
                np.ascontiguousarray(theirs).view(np.uint64),
                err_msg=run_id,
            )
    assert stops == ref_stops
    assert end == ref_end


def in_every_mode(make: Callable[[Mode], Race], **kwargs: Any) -> None:
    results = {name: play(make, name, **kwargs) for name in MODES}
    assert_same(results["rows"], results["arrays"])
    assert_same(results["columns"], results["arrays"])


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_off_its_defaults(optimizer: str) -> None:
    surface = get_surface("rosenbrock")
    settings = SETTINGS[optimizer]
    tweaked = {**settings, "lr": settings["lr"] * 0.5}

    def make(mode: Mode = "auto") -> Race:
        runs = [config(f"r{i}", optimizer, s, settings) for i, s in enumerate(STARTS)]
        runs.append(config("other", optimizer, STARTS[0], tweaked))  # a group not all alike
        return Race(surface, runs, max_steps=STEPS, mode=mode)

    in_every_mode(make)


def test_shared_settings_are_compiled_in() -> None:
    """A group whose runs share every hyperparameter runs code specialized to their values."""

    def make(mode: Mode = "auto") -> Race:
        return Race(
            get_surface("himmelblau"),
            [config(f"r{i}", "rmsprop", s, SETTINGS["rmsprop"]) for i, s in enumerate(STARTS)],
            max_steps=STEPS,
            mode=mode,
        )

    in_every_mode(make)
    race = make("columns")
    race.advance(1)
    group = race._groups[0]
    assert isinstance(group.stepper, ColumnsStepper) and group.stepper.step_fn is not group.fast


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_surface(surface: str) -> None:
    spec = SURFACES[surface]
    starts = [spec.start, (spec.start[0] * 0.5 + 0.1, spec.start[1] * 0.7 - 0.2)]

    def make(mode: Mode = "auto") -> Race:
        runs = [config(f"a{i}", "adam", s, {"lr": 0.02}) for i, s in enumerate(starts)]
        runs += [config(f"m{i}", "momentum", s, {"lr": 1e-3}) for i, s in enumerate(starts)]
        return Race(get_surface(surface), runs, max_steps=100, mode=mode)

    in_every_mode(make, pieces=(100,))


def test_every_optimizer_has_a_fast_path_except_newton() -> None:
    surface = get_surface("rosenbrock")
    for name, optimizer in OPTIMIZERS.items():
        compiled = compile_step(optimizer, surface)
        assert (compiled is None) == (name == "newton"), name


@pytest.mark.parametrize("optimizer", sorted(set(OPTIMIZERS) - {"newton"}))
def test_generic_column_code_never_returns_a_work_buffer(optimizer: str) -> None:
    """With no setting compiled in and every value shared by the rows (single floats), a
    ``where`` picks one operand itself: what the code returns must still not live in the work
    buffers ``w``, which the next step overwrites."""
    opt = OPTIMIZERS[optimizer]
    fast = compile_step(opt, get_surface("rosenbrock"))
    assert fast is not None
    race = Race(
        get_surface("rosenbrock"),
        [config("a", optimizer, (-1.5, 2.0), SETTINGS[optimizer])],
        mode="rows",
    )
    race.advance(1)  # into the rows mode, past the first update's special cases
    stepper = race._groups[0].stepper
    assert isinstance(stepper, RowsStepper)
    row = stepper.rows[0]
    m = 3
    params = [np.full(m, v) for v in row.params]
    grad = [np.full(m, v) for v in row.grad]
    work = [np.empty(m) for _ in range(fast.buffers)]
    out = [np.empty(m) for _ in range(2 + 2 + fast.carried)]
    step = fast.columns_fn(params, grad, list(row.state), list(row.hyper), work, out)
    returned = [*step[2], *step[5]]
    assert not any(r is w for r in returned for w in work)


def test_code_that_does_not_trace_keeps_numpy() -> None:
    """A Python branch on a value cannot be traced: the engine then stays on numpy arrays."""
    sgd = OPTIMIZERS["sgd"]

    def branchy(grads: Any, state: Any, params: Any, hyper: Any, hessian: Any = None) -> Any:
        if (grads > 0).all():  # data-dependent Python control flow
            return -hyper["lr"] * grads, state
        return -2.0 * hyper["lr"] * grads, state

    spec = dataclasses.replace(sgd.spec, name="branchy-sgd")
    optimizer = Optimizer(spec, sgd.init, branchy)
    assert compile_step(optimizer, get_surface("booth")) is None
    with pytest.raises(Untraceable):
        bool(Sym(Tape(), Ref("x", True, False)) > 0)


def test_noise_schedules_and_live_changes() -> None:
    cosine = parse_schedule({"name": "cosine", "T_max": 120})

    def make(mode: Mode = "auto") -> Race:
        runs = [
            config(f"n{i}", "adam", s, {"lr": 0.02}, noise=0.3, schedule=cosine)
            for i, s in enumerate(STARTS)
        ]
        runs += [config(f"q{i}", "sgd", s, {"lr": 5e-4}) for i, s in enumerate(STARTS)]
        return Race(get_surface("rosenbrock"), runs, seed=5, max_steps=200, mode=mode)

    def change(race: Race, piece: int) -> None:
        if piece == 1:
            race.set("n1", hyper=validate_hyper("adam", {"lr": 0.05, "amsgrad": True}))
            race.set("q0", noise=0.5)
        if piece == 2:
            race.set("q2", hyper=validate_hyper("sgd", {"lr": 1e-4, "momentum": 0.9}))
            race.set("n0", schedule=parse_schedule(None))

    in_every_mode(make, pieces=(30, 1, 50, 119), between=change)


def test_stops_shrink_groups_between_and_within_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs diverge and converge at different steps; groups shrink, change mode, keep going."""
    monkeypatch.setattr(model, "BLOCK_VALUES", 600)  # several blocks per call as well
    quadratic = get_surface("quadratic", {"kappa": 10.0})
    starts = [(1.0, 1.0), (-0.5, 0.8), (0.2, -1.0), (2.0, 0.5)]
    lrs = [0.3, 0.25, 0.1, 0.05, 0.19]  # 0.3 and 0.25 diverge; the rest converge in turn

    def make(mode: Mode = "auto") -> Race:
        runs = [
            config(f"s{i}{j}", "sgd", s, {"lr": lr})
            for i, lr in enumerate(lrs)
            for j, s in enumerate(starts)
        ]
        return Race(quadratic, runs, max_steps=3000, mode=mode)

    reference = play(make, "arrays", pieces=(7, 300, 3000))
    statuses = {s.status for s in reference[1]}
    assert statuses == {RunStatus.DIVERGED, RunStatus.CONVERGED}
    for name in ("rows", "columns"):
        assert_same(play(make, name, pieces=(7, 300, 3000)), reference)
    # the real choice: 20 runs start by columns and end by rows as they stop
    assert_same(play(make, pieces=(7, 300, 3000)), reference)


def test_a_step_python_floats_refuse_is_done_by_numpy() -> None:
    """0 / 0 raises in Python where numpy says NaN: that update falls back to numpy."""

    def make(mode: Mode = "auto") -> Race:
        at_minimum = config("m", "adagrad", (1.0, 3.0), {"eps": 0.0})  # booth's minimum
        elsewhere = config("e", "adagrad", (0.0, 0.0), {"eps": 0.0})
        return Race(get_surface("booth"), [at_minimum, elsewhere], max_steps=50, mode=mode)

    reference = play(make, "arrays", pieces=(50,))
    assert reference[1][0] == Stop("m", RunStatus.DIVERGED, 1)
    assert_same(play(make, "rows", pieces=(50,)), reference)


def test_a_failing_column_step_falls_back_without_drawing_noise_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = [0]
    real = compile_step

    def failing(*args: Any, **kwargs: Any) -> Any:
        compiled = real(*args, **kwargs)
        if compiled is None:
            return None

        def columns_fn(*a: Any) -> Any:
            calls[0] += 1
            if calls[0] % 7 == 3:
                raise ZeroDivisionError
            return compiled.columns_fn(*a)

        failing = copy.copy(compiled)
        failing.columns_fn = columns_fn
        return failing

    def make(mode: Mode = "auto") -> Race:
        return Race(
            get_surface("rosenbrock"),
            [config(f"r{i}", "adam", s, {"lr": 0.01}, noise=0.2) for i, s in enumerate(STARTS)],
            seed=2,
            max_steps=60,
            mode=mode,
        )

    reference = play(make, "arrays", pieces=(20, 40))
    monkeypatch.setattr(columns, "compile_step", failing)  # the columns mode's specialized step
    assert_same(play(make, "columns", pieces=(20, 40)), reference)
    assert calls[0] > 3


def test_params_and_reset_in_every_mode() -> None:
    def make(mode: Mode = "auto") -> Race:
        return Race(
            get_surface("beale"),
            [config(f"r{i}", "nadam", s, {"lr": 0.01}) for i, s in enumerate(STARTS)],
            max_steps=40,
            mode=mode,
        )

    points = {}
    for name in MODES:
        race = make(name)
        race.advance(25)
        first = race.params("r1")
        race.reset()
        race.advance(25)
        assert first is not None
        np.testing.assert_array_equal(race.params("r1"), first)
        points[name] = first
    np.testing.assert_array_equal(points["rows"], points["arrays"])
    np.testing.assert_array_equal(points["columns"], points["arrays"])


@pytest.mark.parametrize("mode", ["arrays", "columns"])
def test_chunks_do_not_change_when_the_race_goes_on(mode: Mode) -> None:
    """Recorded points live in reused memory only once no chunk refers to them."""
    race = Race(
        get_surface("rosenbrock"),
        [config(f"r{i}", "adam", s, {"lr": 0.01}) for i, s in enumerate(STARTS * 4)],
        max_steps=200,
        mode=mode,
    )
    kept, _ = race.advance(50)
    copy = {k: c.params.copy() for k, c in kept.items()}
    for _ in range(5):
        race.advance(30)
    for k, c in kept.items():
        np.testing.assert_array_equal(c.params, copy[k])


def test_a_block_cut_short_when_every_run_has_stopped() -> None:
    quadratic = get_surface("quadratic", {"kappa": 2.0})

    def make(mode: Mode = "auto") -> Race:
        runs = [config(f"r{i}", "sgd", (1.0 - 0.1 * i, 0.5), {"lr": 0.3}) for i in range(12)]
        return Race(quadratic, runs, max_steps=500, mode=mode)

    _, stops, _ = play(make, "arrays", pieces=(500,))
    assert len(stops) == 12 and all(s.status is RunStatus.CONVERGED for s in stops)
    assert max(s.step for s in stops) < 400
    in_every_mode(make, pieces=(500,))


def test_until_max_steps_goes_past_convergence_in_every_mode() -> None:
    """The runs that stop converged by default keep going with until="max_steps", the same bits
    in every mode, the block loop included (one run alone)."""
    quadratic = get_surface("quadratic", {"kappa": 2.0})

    def make(mode: Mode = "auto", until: Until = "max_steps") -> Race:
        runs = [config(f"r{i}", "sgd", (1.0 - 0.1 * i, 0.5), {"lr": 0.3}) for i in range(3)]
        return Race(quadratic, runs, max_steps=400, mode=mode, until=until)

    stopped = play(lambda mode: make(mode, "converged"), "arrays", pieces=(400,))
    assert {s.status for s in stopped[1]} == {RunStatus.CONVERGED}
    in_every_mode(make, pieces=(5, 395))
    going = play(make, "rows", pieces=(5, 395))
    assert [s.status for s in going[1]] == [RunStatus.FINISHED] * 3
    for run_id, (points, _, _) in going[0].items():
        ended = stopped[0][run_id][0]
        assert len(points) == 401 > len(ended)
        np.testing.assert_array_equal(points[: len(ended)], ended)


def test_a_point_that_overflows_under_a_finite_loss_diverges_in_every_mode() -> None:
    """On a flat formula the loss and gradient stay finite while weight decay sends the point
    off to infinity (x -> -4x each step): the run diverges at the first non-finite
    coordinate, which is never recorded, the same in every mode."""
    flat = build_expression("2").problem

    def make(mode: Mode = "auto") -> Race:
        runs = [
            config("decayed", "sgd", (0.5, -0.25), {"lr": 1.0, "weight_decay": 5.0}),
            config("calm", "sgd", (0.5, -0.25), {"lr": 0.1}),
        ]
        return Race(flat, runs, max_steps=1000, mode=mode)

    in_every_mode(make, pieces=(100, 900))
    _, _, (status, stopped_at, _) = play(make, "rows", pieces=(1000,))
    assert status == [RunStatus.DIVERGED, RunStatus.CONVERGED]
    assert 500 < stopped_at[0] < 520  # 0.5 * 4**k passes 1.8e308 at k = 512
