"""Every torch-backed optimizer against torch.optim: 1,000 steps on three surfaces, in float64.

Our optimizer is driven by closed-form numpy gradients written here; torch.optim by autograd on
the same functions written in torch (single-tensor path; default dtype float64 so that torch's
scalar state, such as NAdam's ``mu_product``, is float64 too). Whole trajectories must agree to
a relative 1e-9 (``max |ours - torch| / max(1, |torch|)``).

Torch's kernels fuse some multiply-adds (``lerp``, ``add(alpha=)``), numpy cannot, so the two
differ in the last bit now and then; the settings below keep clear of limit cycles (e.g. centered
RMSprop with alpha 0.9 circling a minimum) where such differences grow chaotically.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from server.optim.base import Array, Optimizer
from server.optim.registry import OPTIMIZERS, hyper_rows, validate_hyper

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

STEPS = 1000
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Surface:
    name: str
    start: tuple[float, float]
    grad: Callable[[Array], Array]
    """Closed-form gradient of rows ``(M, 2) -> (M, 2)``."""
    torch_value: Callable[[Any, Any], Any]
    """The function in torch, elementwise on tensors of x and y."""


def _rotated_quadratic(kappa: float, degrees: float) -> Array:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    rotation = np.array([[c, -s], [s, c]])
    out: Array = rotation @ np.diag([1.0, kappa]) @ rotation.T
    return out


QUADRATIC = _rotated_quadratic(10.0, 30.0)
(Q_XX, Q_XY), (_, Q_YY) = QUADRATIC.tolist()


def _quadratic_grad(p: Array) -> Array:
    return p @ QUADRATIC


def _rosenbrock_grad(p: Array) -> Array:
    x, y = p[:, 0], p[:, 1]
    inner = y - x * x
    return np.stack([-2.0 * (1.0 - x) - 400.0 * x * inner, 200.0 * inner], axis=1)


def _himmelblau_grad(p: Array) -> Array:
    x, y = p[:, 0], p[:, 1]
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return np.stack([4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b], axis=1)


SURFACES = [
    Surface(
        "quadratic",
        (2.0, 1.5),
        _quadratic_grad,
        lambda x, y: 0.5 * (Q_XX * x**2 + 2.0 * Q_XY * x * y + Q_YY * y**2),
    ),
    Surface(
        "rosenbrock",
        (-1.2, 1.0),
        _rosenbrock_grad,
        lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2,
    ),
    Surface(
        "himmelblau",
        (0.5, -0.5),
        _himmelblau_grad,
        lambda x, y: (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2,
    ),
]
"""A run's rows are laid out surface after surface: row r is on SURFACES[r % 3]."""
K = len(SURFACES)
STARTS = np.array([s.start for s in SURFACES])


def grad_rows(params: Array) -> Array:
    out = np.empty_like(params)
    for j, surface in enumerate(SURFACES):
        out[j::K] = surface.grad(params[j::K])
    return out


@dataclass(frozen=True)
class Case:
    id: str
    optimizer: str
    hyper: Mapping[str, float | bool] = field(default_factory=dict)


CASES = [
    Case("sgd", "sgd", {"lr": 5e-4}),
    Case("sgd-weight_decay", "sgd", {"lr": 5e-4, "weight_decay": 0.1}),
    Case("momentum", "momentum", {"lr": 2e-4}),
    Case("momentum-dampening", "momentum", {"lr": 2e-4, "momentum": 0.8, "dampening": 0.3}),
    Case("nesterov", "nesterov", {"lr": 2e-4}),
    Case("nesterov-weight_decay", "nesterov", {"lr": 2e-4, "weight_decay": 0.05}),
    Case("adagrad", "adagrad", {"lr": 0.1}),
    Case(
        "adagrad-decay-accumulator",
        "adagrad",
        {"lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.01},
    ),
    Case("rmsprop", "rmsprop", {"lr": 1e-3}),
    Case("rmsprop-centered", "rmsprop", {"lr": 1e-3, "centered": True}),
    Case("rmsprop-momentum", "rmsprop", {"lr": 1e-3, "momentum": 0.5, "weight_decay": 0.01}),
    Case(
        "rmsprop-centered-momentum",
        "rmsprop",
        {"lr": 5e-4, "centered": True, "momentum": 0.7, "eps": 1e-6},
    ),
    Case("adadelta", "adadelta", {"lr": 0.3}),
    Case("adadelta-rho", "adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01}),
    Case("adam", "adam", {"lr": 0.01}),
    Case("adam-weight_decay", "adam", {"lr": 0.01, "weight_decay": 0.1, "beta1": 0.8}),
    Case("amsgrad", "amsgrad", {"lr": 0.01}),
    Case("amsgrad-betas", "amsgrad", {"lr": 0.02, "beta2": 0.99, "eps": 1e-6}),
    Case("adamw", "adamw", {"lr": 0.01}),
    Case("adamw-amsgrad", "adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    Case("adamax", "adamax", {"lr": 0.01}),
    Case("adamax-weight_decay", "adamax", {"lr": 0.01, "weight_decay": 0.05}),
    Case("nadam", "nadam", {"lr": 0.01}),
    Case("nadam-momentum_decay", "nadam", {"lr": 0.01, "momentum_decay": 0.02}),
    Case("nadam-weight_decay", "nadam", {"lr": 0.01, "weight_decay": 0.05}),
    Case(
        "nadam-decoupled",
        "nadam",
        {"lr": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True},
    ),
    Case("radam", "radam", {"lr": 1e-3}),
    Case("radam-weight_decay", "radam", {"lr": 2e-3, "weight_decay": 0.05, "beta2": 0.99}),
    Case(
        "radam-decoupled",
        "radam",
        {"lr": 2e-3, "weight_decay": 0.05, "beta2": 0.99, "decoupled_weight_decay": True},
    ),
    Case("rprop", "rprop", {"lr": 0.01}),
    Case(
        "rprop-etas-step_sizes",
        "rprop",
        {
            "lr": 0.05,
            "eta_minus": 0.3,
            "eta_plus": 1.5,
            "step_size_min": 1e-4,
            "step_size_max": 0.5,
        },
    ),
]
CASES_BY_ID = {case.id: case for case in CASES}
TORCH_BACKED = [name for name, opt in OPTIMIZERS.items() if opt.spec.torch is not None]

_SPLIT = {
    "beta1": ("betas", 0),
    "beta2": ("betas", 1),
    "eta_minus": ("etas", 0),
    "eta_plus": ("etas", 1),
    "step_size_min": ("step_sizes", 0),
    "step_size_max": ("step_sizes", 1),
}


def torch_kwargs(name: str, values: Mapping[str, float]) -> dict[str, Any]:
    """Our validated hyperparameters as torch.optim keywords (tuples rejoined, bools restored)."""
    kinds = {h.name: h.kind for h in OPTIMIZERS[name].spec.hyper}
    out: dict[str, Any] = {}
    pairs: dict[str, list[float]] = {}
    for key, value in values.items():
        if key in _SPLIT:
            tuple_name, index = _SPLIT[key]
            pairs.setdefault(tuple_name, [0.0, 0.0])[index] = value
        else:
            out[key] = bool(value) if kinds[key] == "bool" else value
    out.update({key: tuple(pair) for key, pair in pairs.items()})
    return out


@contextlib.contextmanager
def float64_default() -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


Changes = Mapping[int, Mapping[str, float]]
"""Step index -> the validated hyperparameters in force from that update on (0 = the start)."""


def run_torch(jobs: Sequence[tuple[str, Changes]]) -> Array:
    """torch.optim trajectories, shape (STEPS + 1, jobs, surfaces, 2).

    Each job is one torch optimizer over one (surfaces, 2) leaf tensor whose row j sits on
    surface j; every algorithm here is elementwise, so row j follows exactly the run on surface j
    alone. All jobs share one autograd pass per step (losses are summed; no row's gradient depends
    on another row). Changes are written into the param group before their step, as an
    lr_scheduler, or a person editing ``optimizer.param_groups``, does.
    """
    with float64_default():
        leaves = [torch.tensor(STARTS, requires_grad=True) for _ in jobs]
        opts = [
            getattr(torch.optim, OPTIMIZERS[name].spec.torch or "")(
                [leaf], foreach=False, **torch_kwargs(name, changes[0])
            )
            for leaf, (name, changes) in zip(leaves, jobs, strict=True)
        ]
        path = np.empty((STEPS + 1, len(jobs), K, 2))
        path[0] = STARTS
        for k in range(STEPS):
            for opt, (name, changes) in zip(opts, jobs, strict=True):
                if k and k in changes:
                    opt.param_groups[0].update(torch_kwargs(name, changes[k]))
                opt.zero_grad()
            rows = torch.cat(leaves)
            loss = sum(
                s.torch_value(rows[j::K, 0], rows[j::K, 1]).sum() for j, s in enumerate(SURFACES)
            )
            loss.backward()
            for opt in opts:
                opt.step()
            path[k + 1] = torch.stack(leaves).detach().numpy()
    return path


@functools.cache
def torch_case_paths() -> dict[str, Array]:
    """Every case of the table in one torch pass: case id -> (STEPS + 1, surfaces, 2)."""
    jobs = [(c.optimizer, {0: validate_hyper(c.optimizer, c.hyper)}) for c in CASES]
    paths = run_torch(jobs)
    return {case.id: paths[:, i] for i, case in enumerate(CASES)}


def run_ours(
    opt: Optimizer,
    rows: Sequence[Mapping[str, float]],
    changes: Mapping[int, Sequence[Mapping[str, float]]] | None = None,
) -> Array:
    """Our trajectories, shape (STEPS + 1, len(rows), surfaces, 2), from ONE batched run.

    Each hyperparameter row is repeated once per surface, so the batch has len(rows) * 3 runs;
    ``changes`` maps a step to new rows, as the engine's live `set` and schedules do.
    """
    name = opt.spec.name
    hyper = hyper_rows(name, [row for row in rows for _ in SURFACES])
    params = np.tile(STARTS, (len(rows), 1))
    state = opt.init(params, hyper)
    path = np.empty((STEPS + 1, *params.shape))
    path[0] = params
    for k in range(STEPS):
        if changes and k and k in changes:
            hyper = hyper_rows(name, [row for row in changes[k] for _ in SURFACES])
        updates, state = opt.update(grad_rows(params), state, params, hyper, None)
        params = params + updates
        path[k + 1] = params
    return path.reshape(STEPS + 1, len(rows), K, 2)


def assert_same(ours: Array, reference: Array, label: str) -> float:
    """Per surface: the torch run stayed on the surface and moved, and ours equals it."""
    worst = 0.0
    for j, surface in enumerate(SURFACES):
        theirs, mine = reference[:, j], ours[:, j]
        assert np.abs(theirs).max() < 10.0, f"{label} {surface.name}: torch run left the surface"
        assert np.abs(theirs[-1] - theirs[0]).max() > 1e-3, f"{label} {surface.name}: no motion"
        diff = float(np.max(np.abs(mine - theirs) / np.maximum(1.0, np.abs(theirs))))
        assert diff < TOLERANCE, f"{label} on {surface.name}: relative difference {diff:.2e}"
        worst = max(worst, diff)
    return worst


def test_every_torch_backed_optimizer_is_covered() -> None:
    assert {case.optimizer for case in CASES} == set(TORCH_BACKED)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_trajectory_matches_torch(case: Case) -> None:
    values = validate_hyper(case.optimizer, case.hyper)
    ours = run_ours(OPTIMIZERS[case.optimizer], [values])[:, 0]
    assert_same(ours, torch_case_paths()[case.id], case.id)


def _batches() -> list[list[Case]]:
    """Cases grouped by update function: sgd/momentum/nesterov share one, adam/amsgrad another."""
    groups: dict[int, list[Case]] = {}
    for case in CASES:
        groups.setdefault(id(OPTIMIZERS[case.optimizer].update), []).append(case)
    return list(groups.values())


@pytest.mark.parametrize("cases", _batches(), ids=lambda cases: cases[0].optimizer)
def test_batched_rows_each_match_their_own_torch_run(cases: list[Case]) -> None:
    """One batched call per step advances every setting of the group; each row is its own run."""
    assert len(cases) >= 2
    rows = [validate_hyper(case.optimizer, case.hyper) for case in cases]
    ours = run_ours(OPTIMIZERS[cases[0].optimizer], rows)
    for i, case in enumerate(cases):
        assert_same(ours[:, i], torch_case_paths()[case.id], case.id)


def _cosine_lr(name: str) -> Changes:
    case = next(case for case in CASES if case.optimizer == name)
    values = validate_hyper(name, case.hyper)
    lrs = values["lr"] * 0.5 * (1.0 + np.cos(np.pi * np.arange(STEPS) / STEPS))
    return {k: {**values, "lr": float(lr)} for k, lr in enumerate(lrs)}


def _edits(name: str, edits: Mapping[int, Mapping[str, float]]) -> Changes:
    given: dict[str, object] = {}
    changes = {}
    for step, edit in edits.items():
        given.update(edit)
        changes[step] = validate_hyper(name, given)
    return changes


EDITED_RUNS: dict[str, tuple[str, Changes]] = {
    **{
        f"cosine-lr-{name}": (name, _cosine_lr(name))
        for name in ("momentum", "adagrad", "rmsprop", "adam", "nadam")
    },
    # Momentum switched on, off and on again: like torch, the buffer starts at the gradient the
    # first time and is kept (stale) while momentum is 0.
    "edit-sgd-momentum": (
        "sgd",
        _edits(
            "sgd",
            {
                0: {"lr": 5e-4},
                300: {"momentum": 0.9},
                600: {"momentum": 0.0},
                800: {"momentum": 0.5},
            },
        ),
    ),
    "edit-rmsprop": (
        "rmsprop",
        _edits(
            "rmsprop",
            {0: {"lr": 1e-3, "momentum": 0.5}, 300: {"momentum": 0.0}, 600: {"momentum": 0.7}},
        ),
    ),
    "edit-adam": (
        "adam",
        _edits(
            "adam",
            {0: {"lr": 0.01}, 300: {"beta1": 0.8, "beta2": 0.99}, 600: {"weight_decay": 0.1}},
        ),
    ),
    "edit-nadam": (
        "nadam",
        _edits("nadam", {0: {"lr": 0.01}, 400: {"momentum_decay": 0.01, "beta1": 0.8}}),
    ),
    # Rprop reads lr once, at the start; later edits of lr change nothing, in torch as here.
    "edit-rprop": (
        "rprop",
        _edits(
            "rprop",
            {0: {"lr": 0.01}, 300: {"lr": 0.5, "eta_plus": 1.5}, 600: {"step_size_max": 0.01}},
        ),
    ),
}


@functools.cache
def torch_edited_paths() -> dict[str, Array]:
    paths = run_torch(list(EDITED_RUNS.values()))
    return {key: paths[:, i] for i, key in enumerate(EDITED_RUNS)}


@pytest.mark.parametrize("key", list(EDITED_RUNS))
def test_hyperparameters_changed_mid_run_match_torch(key: str) -> None:
    """The engine passes each step's hyperparameters (a schedule's lr, a live `set`), exactly
    as an lr_scheduler or an edit of torch's param group takes effect at the next step."""
    name, changes = EDITED_RUNS[key]
    ours = run_ours(OPTIMIZERS[name], [changes[0]], {k: [v] for k, v in changes.items()})
    assert_same(ours[:, 0], torch_edited_paths()[key], key)


OVERRIDDEN_DEFAULTS = {
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": 1.0},
    "amsgrad": {"amsgrad": 1.0},
}


@pytest.mark.parametrize("name", TORCH_BACKED)
def test_defaults_are_torchs(name: str) -> None:
    cls = getattr(torch.optim, OPTIMIZERS[name].spec.torch or "")
    signature = inspect.signature(cls.__init__).parameters
    ours = {**validate_hyper(name, {}), **OVERRIDDEN_DEFAULTS.get(name, {})}
    assert validate_hyper(name, {}) == ours, "overrides must be the spec's own defaults"
    kwargs = torch_kwargs(name, ours)
    assert set(kwargs) <= set(signature)
    for key, value in kwargs.items():
        if key in OVERRIDDEN_DEFAULTS.get(name, {}):
            continue
        theirs = signature[key].default
        assert (tuple(theirs) == value) if isinstance(value, tuple) else (theirs == value), key


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_does_not_mutate_its_inputs(name: str) -> None:
    opt = OPTIMIZERS[name]
    rng = np.random.default_rng(0)
    params, grads = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    hessian = np.array([[[2.0, 0.5], [0.5, -1.0]]] * 3)
    hyper = hyper_rows(name, [{}, {}, {}])
    state = opt.init(params, hyper)
    for _ in range(2):
        before = [a.copy() for a in (params, grads, hessian, *state, *hyper.values())]
        updates, new_state = opt.update(grads, state, params, hyper, hessian)
        after = (params, grads, hessian, *state, *hyper.values())
        assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))
        assert updates.shape == params.shape and np.isfinite(updates).all()
        assert type(new_state) is type(state)
        np.testing.assert_array_equal(new_state.count, state.count + 1.0)
        state = new_state
