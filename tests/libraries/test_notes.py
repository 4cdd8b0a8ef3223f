"""Each note's claim, checked by running both settings: the library defaults it names are the
installed library's, its measured difference is what running the default gives, and the
variants it describes (Keras' ε̂, Keras' decoupled weight_decay, torch Adam vs AdamW) are true."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.libraries import keras_run, optax_run
from server.libraries.parity import NOTE_STEPS, plan_for
from server.libraries.plan import Arg, Call, Plan
from server.optim.schedules import parse_schedule
from server.settings import Settings
from tests.libraries.paths import PARAMS, SURFACE, diff, formula, ours, theirs

pytestmark = pytest.mark.skipif(
    not (optax_run.available() and keras_run.available()), reason="optax and keras are needed"
)
CONSTANT = parse_schedule(None)

# library, optimizer, call, keyword, the library's default (as its documentation states)
DEFAULTS = [
    ("keras", "adam", "keras.optimizers.Adam", "epsilon", 1e-7),
    ("keras", "adamw", "keras.optimizers.AdamW", "weight_decay", 0.004),
    ("keras", "adadelta", "keras.optimizers.Adadelta", "learning_rate", 0.001),
    ("keras", "adadelta", "keras.optimizers.Adadelta", "rho", 0.95),
    ("keras", "adadelta", "keras.optimizers.Adadelta", "epsilon", 1e-7),
    ("keras", "sgd", "keras.optimizers.SGD", "learning_rate", 0.01),
    ("keras", "lion", "keras.optimizers.Lion", "learning_rate", 0.001),
    ("optax", "rmsprop", "optax.rmsprop", "decay", 0.9),
    ("optax", "rmsprop", "optax.rmsprop", "eps_in_sqrt", True),
    ("optax", "adamw", "optax.adamw", "weight_decay", 1e-4),
    ("optax", "lion", "optax.lion", "weight_decay", 1e-3),
]
STEPS = 60


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(create_app(Settings(allowed_origins=["http://testserver"]))) as c:
        yield c


def _measured(note: str) -> float:
    return float(note.split("differs from ours by ")[1].split()[0])


@pytest.mark.parametrize(("library", "name", "call", "keyword", "default"), DEFAULTS)
def test_a_default_note_names_the_default_and_measures_it(
    client: TestClient, library: str, name: str, call: str, keyword: str, default: object
) -> None:
    runner = keras_run if library == "keras" else optax_run
    assert runner.library_defaults(call)[keyword] == default
    body = {"surface": SURFACE, "surface_params": PARAMS, "optimizer": name, "steps": STEPS,
            "start": [3.0, -2.0], "until": "max_steps"}  # fmt: skip
    entry = client.post("/api/parity", json=body).json()["libraries"][library]
    assert entry["max_diff"] < 1e-9
    lead = f"{call} defaults to {keyword}={default!r}"
    (note,) = [n for n in entry["notes"] if n.startswith(lead)]
    plan = plan_for(library, name, {}, CONSTANT)
    assert isinstance(plan, Plan)
    (index,) = [i for i, c in enumerate(plan.calls) if c.name == call]
    variant = plan.replace_call(index, plan.calls[index].with_arg(keyword, default))  # type: ignore[arg-type]
    lr = float(plan.calls[-1].constant_kwargs().get("learning_rate") or 0.0)
    d = diff(theirs(variant, lr, steps=STEPS), ours(name, {}, steps=STEPS))
    assert d > 1e-9  # the default really changes the path
    assert _measured(note) == pytest.approx(d, rel=1e-2)
    assert f"after {min(STEPS, NOTE_STEPS)} steps" in note


def test_keras_adds_epsilon_to_the_uncorrected_root() -> None:
    """keras.optimizers.Adam with a constant epsilon is θ −= γ√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε)."""
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-3

    def claimed(t: int, p: np.ndarray, g: np.ndarray, s: dict[str, Any]) -> np.ndarray:
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        return p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * s["m"] / (np.sqrt(s["v"]) + eps)

    constant = Plan("keras", "adam", (Call("keras.optimizers.Adam",
                    (Arg("learning_rate", lr), Arg("epsilon", eps))),))  # fmt: skip
    assert diff(theirs(constant), formula(claimed)) < 1e-12
    assert diff(theirs(constant), ours("adam", {"lr": lr, "eps": eps})) > 1e-4
    exact = plan_for("keras", "adam", {"lr": lr, "eps": eps}, CONSTANT)
    assert isinstance(exact, Plan)
    assert diff(theirs(exact, lr), ours("adam", {"lr": lr, "eps": eps})) < 1e-9


def test_the_eps_notes_measure_the_constant_eps(client: TestClient) -> None:
    body = {"surface": SURFACE, "surface_params": PARAMS, "optimizer": "adam", "steps": STEPS,
            "hyper": {"lr": 0.05, "eps": 1e-3}, "start": [3.0, -2.0], "until": "max_steps"}  # fmt: skip
    keras = client.post("/api/parity", json=body).json()["libraries"]["keras"]
    (note,) = [n for n in keras["notes"] if "ε̂" in n]
    assert "With a constant epsilon=0.001" in note
    constant = Plan("keras", "adam", (Call("keras.optimizers.Adam", (Arg("learning_rate", 0.05),
                    Arg("epsilon", 1e-3))),))  # fmt: skip
    d = diff(theirs(constant, steps=STEPS), ours("adam", body["hyper"], steps=STEPS))
    assert _measured(note) == pytest.approx(d, rel=1e-2)
    body = {**body, "optimizer": "radam"}
    optax = client.post("/api/parity", json=body).json()["libraries"]["optax"]
    (note,) = [n for n in optax["notes"] if "eps / √" in n]
    assert optax["max_diff"] < 1e-9 and _measured(note) > 1e-6


def test_keras_weight_decay_is_adamw_and_our_l2_goes_into_the_gradient(
    client: TestClient,
) -> None:
    hyper = {"lr": 0.05, "weight_decay": 0.1}
    decoupled = Plan("keras", "adam", (Call("keras.optimizers.Adam", (Arg("learning_rate", 0.05),
                     Arg("epsilon", 0.0), Arg("weight_decay", 0.1))),))  # fmt: skip
    assert diff(theirs(decoupled), ours("adamw", {**hyper, "eps": 1e-12})) < 1e-9
    body = {"surface": SURFACE, "surface_params": PARAMS, "optimizer": "adam", "hyper": hyper,
            "steps": STEPS, "start": [3.0, -2.0], "until": "max_steps"}  # fmt: skip
    libraries = client.post("/api/parity", json=body).json()["libraries"]
    keras = libraries["keras"]
    assert keras["max_diff"] < 1e-9
    (note,) = [n for n in keras["notes"] if "decoupled (AdamW's)" in n]
    assert _measured(note) > 1e-3
    (torch_note,) = [n for n in libraries["torch"]["notes"] if "AdamW(weight_decay=0.1)" in n]
    assert _measured(torch_note) == pytest.approx(
        diff(ours("adamw", hyper, steps=STEPS), ours("adam", hyper, steps=STEPS)), rel=1e-2
    )


def test_a_default_the_run_already_uses_is_named_not_measured(client: TestClient) -> None:
    body = {"surface": "beale", "optimizer": "lion", "hyper": {"lr": 0.001}, "steps": 20}
    keras = client.post("/api/parity", json=body).json()["libraries"]["keras"]
    (note,) = [n for n in keras["notes"] if "defaults to learning_rate=0.001" in n]
    assert note.endswith("this run passes learning_rate=0.001, the same value.")
    body["hyper"] = {"lr": 0.002}
    keras = client.post("/api/parity", json=body).json()["libraries"]["keras"]
    (note,) = [n for n in keras["notes"] if "defaults to learning_rate=0.001" in n]
    assert "With Keras' default the path differs from ours by" in note
