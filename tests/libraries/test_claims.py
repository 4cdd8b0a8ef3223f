"""Each "unavailable" reason is true: the library's closest call, run, follows the formula the
reason states (a few lines of numpy here) and not ours, or the library lacks the thing named."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from server.libraries import keras_run, optax_run
from server.libraries.follow import follow
from server.libraries.keras_plan import NO_KERAS, VELOCITY, keras_plan
from server.libraries.optax_plan import AMSGRAD, NO_OPTAX, optax_plan
from server.libraries.plan import Arg, Call, Plan, Unavailable, rate
from server.libraries.torch_run import stepper as torch_stepper
from server.optim.registry import validate_hyper
from server.problems.factory import build_surface
from tests.libraries.paths import PARAMS, START, STEPS, SURFACE, diff, formula, ours, theirs

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available()), reason="optax and keras are needed"
)


def plan(library: str, name: str, *args: Arg) -> Plan:
    return Plan(library, "claim", (Call(name, args),))


def unavailable(library: str, name: str, hyper: dict[str, Any], scheduled: bool = False) -> str:
    planner = optax_plan if library == "optax" else keras_plan
    out = planner(name, validate_hyper(name, hyper), scheduled)
    assert isinstance(out, Unavailable)
    return out.reason


def test_optax_adagrad_puts_eps_inside_the_root() -> None:
    assert unavailable("optax", "adagrad", {}) == NO_OPTAX["adagrad"]
    lr, eps = 0.1, 1e-2

    def claimed(t: int, p: np.ndarray, g: np.ndarray, s: dict[str, Any]) -> np.ndarray:
        s["G"] = s.get("G", 0.0) + g * g
        return p - lr * g / np.sqrt(s["G"] + eps)

    lib = theirs(plan("optax", "optax.adagrad", Arg("learning_rate", lr),
                      Arg("initial_accumulator_value", 0.0), Arg("eps", eps)))  # fmt: skip
    assert diff(lib, formula(claimed)) < 1e-12
    assert diff(lib, ours("adagrad", {"lr": lr, "eps": eps})) > 1e-4


def test_optax_amsgrad_keeps_the_largest_corrected_moment() -> None:
    assert unavailable("optax", "amsgrad", {}) == AMSGRAD
    assert unavailable("optax", "adam", {"amsgrad": True}) == AMSGRAD
    lr, b1, b2, eps = 0.05, 0.9, 0.99, 1e-8

    def claimed(t: int, p: np.ndarray, g: np.ndarray, s: dict[str, Any]) -> np.ndarray:
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"] / (1 - b2**t))
        return p - lr * (s["m"] / (1 - b1**t)) / (np.sqrt(s["vmax"]) + eps)

    lib = theirs(plan("optax", "optax.amsgrad", Arg("learning_rate", lr), Arg("b1", b1),
                      Arg("b2", b2), Arg("eps", eps)))  # fmt: skip
    assert diff(lib, formula(claimed)) < 1e-12
    assert diff(lib, ours("amsgrad", {"lr": lr, "beta2": b2})) > 1e-4


def _torch_nadam(momentum_decay: float, lr: float) -> np.ndarray:
    problem = build_surface(SURFACE, dict(PARAMS)).problem
    hyper = {**validate_hyper("nadam", {"lr": lr}), "momentum_decay": momentum_decay}
    step = torch_stepper("nadam", hyper, np.array(START), None)
    return follow(problem, np.array(START), STEPS, 0.0, 0, step)


@pytest.mark.parametrize(("library", "momentum_decay"), [("optax", 1e4), ("keras", 1.0)])
def test_the_libraries_nadam_is_torch_nadam_with_another_momentum_decay(
    library: str, momentum_decay: float
) -> None:
    pytest.importorskip("torch")
    reason = unavailable(library, "nadam", {})
    assert reason == (NO_OPTAX if library == "optax" else NO_KERAS)["nadam"]
    lr = 0.05
    if library == "optax":
        lib = theirs(plan("optax", "optax.nadam", Arg("learning_rate", lr)))
    else:
        lib = theirs(plan("keras", "keras.optimizers.Nadam", Arg("learning_rate", lr),
                          Arg("epsilon", 1e-8)))  # fmt: skip
    assert diff(lib, _torch_nadam(momentum_decay, lr)) < 1e-9
    assert diff(lib, ours("nadam", {"lr": lr})) > 1e-4


def test_optax_rprop_moves_one_update_late() -> None:
    assert unavailable("optax", "rprop", {}) == NO_OPTAX["rprop"]
    lr = 0.01
    lib = theirs(plan("optax", "optax.rprop", Arg("learning_rate", lr)))
    mine = ours("rprop", {"lr": lr})
    assert np.array_equal(lib[1, :2], lib[0, :2])  # the first update does not move
    assert np.allclose(lib[2, :2] - lib[1, :2], mine[1, :2] - mine[0, :2], rtol=0, atol=1e-15)
    assert diff(lib, mine) > 1e-3


@pytest.mark.parametrize("library", ["optax", "keras"])
def test_a_rate_folded_into_the_velocity_differs_under_a_schedule(library: str) -> None:
    schedule = {"name": "step", "step_size": 5, "gamma": 0.5}
    lr, mu = 0.01, 0.5
    if library == "optax":
        assert unavailable("optax", "rmsprop", {"momentum": mu}, True) == NO_OPTAX.get(
            "rmsprop", unavailable("optax", "rmsprop", {"momentum": mu}, True)
        )
        name, hyper = "rmsprop", {"lr": lr, "momentum": mu}
        call = plan("optax", "optax.rmsprop", Arg("learning_rate", rate(lr, True)),
                    Arg("decay", 0.99), Arg("eps", 1e-8), Arg("eps_in_sqrt", False),
                    Arg("momentum", mu))  # fmt: skip
    else:
        assert unavailable("keras", "momentum", {"momentum": mu}, True) == VELOCITY
        name, hyper = "momentum", {"lr": lr, "momentum": mu}
        call = plan("keras", "keras.optimizers.SGD", Arg("learning_rate", rate(lr, True)),
                    Arg("momentum", mu))  # fmt: skip
    assert "schedule" in unavailable(library, name, hyper, True)
    lib = theirs(call, lr, schedule=schedule)
    assert diff(lib, ours(name, hyper, schedule=schedule)) > 1e-4
    constant = theirs(call, lr, schedule=None)  # one rate throughout: the same path
    assert diff(constant, ours(name, hyper)) < 1e-9


@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_keras_puts_epsilon_inside_the_root(name: str) -> None:
    assert unavailable("keras", name, {}) == NO_KERAS[name]
    lr, eps, rho = 0.05, 1e-2, 0.9

    def claimed(t: int, p: np.ndarray, g: np.ndarray, s: dict[str, Any]) -> np.ndarray:
        if name == "adagrad":
            s["a"] = s.get("a", 0.0) + g * g
        else:
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g * g
        return p - lr * g / np.sqrt(s["a"] + eps)

    args = [Arg("learning_rate", lr), Arg("epsilon", eps)]
    args.append(Arg("initial_accumulator_value", 0.0) if name == "adagrad" else Arg("rho", rho))
    lib = theirs(plan("keras", f"keras.optimizers.{'Adagrad' if name == 'adagrad' else 'RMSprop'}",
                      *args))  # fmt: skip
    assert diff(lib, formula(claimed)) < 1e-12
    hyper = {"lr": lr, "eps": eps} | ({} if name == "adagrad" else {"alpha": rho})
    assert diff(lib, ours(name, hyper)) > 1e-4


def test_keras_adamax_adds_epsilon_after_the_maximum() -> None:
    assert unavailable("keras", "adamax", {}) == NO_KERAS["adamax"]
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 0.1

    def claimed(t: int, p: np.ndarray, g: np.ndarray, s: dict[str, Any]) -> np.ndarray:
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
        return p - lr * s["m"] / ((1 - b1**t) * (s["u"] + eps))

    lib = theirs(plan("keras", "keras.optimizers.Adamax", Arg("learning_rate", lr),
                      Arg("epsilon", eps)))  # fmt: skip
    assert diff(lib, formula(claimed)) < 1e-12
    assert diff(lib, ours("adamax", {"lr": lr, "eps": eps})) > 1e-5


def test_what_a_library_lacks_it_lacks() -> None:
    keras = keras_run._keras()
    _, optax = optax_run._modules()
    for name in ("radam", "rprop", "newton"):
        assert unavailable("keras", name, {}) == NO_KERAS[name]
    assert not any(hasattr(keras.optimizers, n) for n in ("RAdam", "Rprop", "Newton"))
    assert unavailable("optax", "newton", {}) == NO_OPTAX["newton"]
    assert not hasattr(optax, "newton")
    assert "dampening" not in inspect.signature(keras.optimizers.SGD).parameters
    assert "dampening" not in inspect.signature(optax.sgd).parameters
    assert "dampening" not in inspect.signature(optax.trace).parameters
    for library in ("optax", "keras"):
        assert "dampening" in unavailable(library, "momentum", {"dampening": 0.3})
