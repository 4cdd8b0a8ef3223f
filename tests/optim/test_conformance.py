"""Every torch-backed optimizer against torch.optim: 1,000 steps on three surfaces, in float64.

Our optimizer is driven by closed-form numpy gradients written here; torch.optim by autograd on
the same function written in torch (single-tensor path, default dtype float64 so that torch's
scalar state such as NAdam's ``mu_product`` is float64 too). Whole trajectories must agree to a
relative 1e-9.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Mapping
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
    torch_loss: Callable[[Any], Any]


def _rotated_quadratic(kappa: float, degrees: float) -> Array:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    rotation = np.array([[c, -s], [s, c]])
    return rotation @ np.diag([1.0, kappa]) @ rotation.T


QUADRATIC = _rotated_quadratic(10.0, 30.0)
QUADRATIC_T = torch.tensor(QUADRATIC, dtype=torch.float64)


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


SURFACES = {
    s.name: s
    for s in (
        Surface("quadratic", (2.0, 1.5), _quadratic_grad, lambda p: 0.5 * p @ QUADRATIC_T @ p),
        Surface(
            "rosenbrock",
            (-1.2, 1.0),
            _rosenbrock_grad,
            lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2,
        ),
        Surface(
            "himmelblau",
            (0.5, -0.5),
            _himmelblau_grad,
            lambda p: (p[0] ** 2 + p[1] - 11.0) ** 2 + (p[0] + p[1] ** 2 - 7.0) ** 2,
        ),
    )
}


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


def run_torch(name: str, values: Mapping[str, float], lrs: Array | None = None) -> Array:
    """torch.optim on all surfaces at once: trajectories of shape (STEPS + 1, surfaces, 2).

    Every algorithm here is elementwise, so row i of one (surfaces, 2) parameter tensor, whose
    loss is the sum of each row's surface, follows exactly the run on surface i alone.
    ``lrs`` sets ``group["lr"]`` before each step, as an lr_scheduler does.
    """
    surfaces = list(SURFACES.values())
    with float64_default():
        p = torch.tensor([s.start for s in surfaces], dtype=torch.float64, requires_grad=True)
        cls = getattr(torch.optim, OPTIMIZERS[name].spec.torch or "")
        opt = cls([p], foreach=False, **torch_kwargs(name, values))
        path = np.empty((STEPS + 1, len(surfaces), 2))
        path[0] = p.detach().numpy()
        for k in range(STEPS):
            if lrs is not None:
                opt.param_groups[0]["lr"] = float(lrs[k])
            opt.zero_grad()
            sum(s.torch_loss(p[i]) for i, s in enumerate(surfaces)).backward()
            opt.step()
            path[k + 1] = p.detach().numpy()
    return path


@functools.cache
def torch_paths(case_id: str) -> dict[str, Array]:
    case = CASES_BY_ID[case_id]
    path = run_torch(case.optimizer, validate_hyper(case.optimizer, case.hyper))
    return {name: path[:, i] for i, name in enumerate(SURFACES)}


def run_ours(
    opt: Optimizer, hyper: Mapping[str, Array], surface: Surface, lrs: Array | None = None
) -> Array:
    """Trajectories (STEPS + 1, N, 2) of N runs advanced together, one batched call per step."""
    n = len(next(iter(hyper.values())))
    params = np.tile(np.array(surface.start), (n, 1))
    state = opt.init(params, hyper)
    path = np.empty((STEPS + 1, n, 2))
    path[0] = params
    for k in range(STEPS):
        step_hyper = hyper if lrs is None else {**hyper, "lr": np.full((n, 1), lrs[k])}
        updates, state = opt.update(surface.grad(params), state, params, step_hyper, None)
        params = params + updates
        path[k + 1] = params
    return path


def relative_difference(ours: Array, reference: Array) -> float:
    assert np.abs(reference).max() < 10.0, "the torch run left the surface: pick a smaller lr"
    return float(np.max(np.abs(ours - reference) / np.maximum(1.0, np.abs(reference))))


def test_every_torch_backed_optimizer_is_covered() -> None:
    assert {case.optimizer for case in CASES} == set(TORCH_BACKED)


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_trajectory_matches_torch(case: Case, surface: str) -> None:
    hyper = hyper_rows(case.optimizer, [case.hyper])
    ours = run_ours(OPTIMIZERS[case.optimizer], hyper, SURFACES[surface])[:, 0]
    reference = torch_paths(case.id)[surface]
    assert np.linalg.norm(reference[-1] - reference[0]) > 1e-3, "the run should move"
    assert relative_difference(ours, reference) < TOLERANCE


def _batches() -> Iterator[tuple[str, list[Case]]]:
    """Cases grouped by update function: sgd/momentum/nesterov share one, adam/amsgrad another."""
    groups: dict[int, list[Case]] = {}
    for case in CASES:
        groups.setdefault(id(OPTIMIZERS[case.optimizer].update), []).append(case)
    for cases in groups.values():
        yield cases[0].optimizer, cases


BATCHES = list(_batches())


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize(("name", "cases"), BATCHES, ids=[name for name, _ in BATCHES])
def test_batched_rows_each_match_their_own_torch_run(
    name: str, cases: list[Case], surface: str
) -> None:
    assert len(cases) >= 2
    rows = [validate_hyper(case.optimizer, case.hyper) for case in cases]
    ours = run_ours(OPTIMIZERS[name], hyper_rows(name, rows), SURFACES[surface])
    for i, case in enumerate(cases):
        assert relative_difference(ours[:, i], torch_paths(case.id)[surface]) < TOLERANCE, case.id


SCHEDULED = ["momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam"]


@pytest.mark.parametrize("name", SCHEDULED)
def test_lr_changed_every_step_matches_torch_scheduler(name: str) -> None:
    """The engine passes the scheduled lr each step, as an lr_scheduler rewrites group["lr"]."""
    values = validate_hyper(name, {})
    base = {"momentum": 2e-4, "adagrad": 0.1, "rmsprop": 1e-3}.get(name, values["lr"] * 10)
    lrs = base * 0.5 * (1.0 + np.cos(np.pi * np.arange(STEPS) / STEPS))
    reference = run_torch(name, values, lrs)
    hyper = hyper_rows(name, [values])
    for i, surface in enumerate(SURFACES.values()):
        ours = run_ours(OPTIMIZERS[name], hyper, surface, lrs)[:, 0]
        assert relative_difference(ours, reference[:, i]) < TOLERANCE, surface.name
