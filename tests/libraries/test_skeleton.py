"""Plans share a compiled step only when they are the same calls with other numbers."""

from __future__ import annotations

from server.libraries.plan import Arg, Call, Plan, skeleton


def test_a_traced_number_and_a_keyword_left_at_none_are_different_steps() -> None:
    traced = Plan("optax", "momentum", (Call("optax.sgd", (Arg("momentum", 0.9),)),))
    default = Plan("optax", "momentum", (Call("optax.sgd", (Arg("momentum", None),)),))
    other = Plan("optax", "momentum", (Call("optax.sgd", (Arg("momentum", 0.5),)),))
    assert skeleton(traced) != skeleton(default)
    assert skeleton(traced) == skeleton(other)


def test_momentum_runs_in_optax_beside_its_notes_variant_with_the_default_momentum() -> None:
    # the notes run optax.sgd with its own default (momentum=None) after the mapped plan: the
    # two once shared a compiled step, and the run failed with KeyError '0.momentum'
    from fastapi.testclient import TestClient

    from server.app import create_app

    body = {"surface": "rosenbrock", "optimizer": "momentum", "hyper": {"lr": 0.001}, "steps": 60}
    for _ in range(2):  # the second time, every step is compiled already
        optax = TestClient(create_app()).post("/api/parity", json=body).json()["libraries"]["optax"]
        assert "unavailable" not in optax, optax
        assert optax["max_diff"] < 1e-9
