"""Gradscape in Python: race optimizers, get the paths as numpy arrays, draw or embed them.

>>> import gradscape
>>> result = gradscape.race("himmelblau", runs=[gradscape.Run("adam", lr=0.1)], steps=50)
>>> result.paths["a"].shape
(51, 3)
>>> "rosenbrock" in gradscape.surfaces() and "adam" in gradscape.optimizers()
True

The computation is the live server's own (``server/``), so a path here equals the path the
page streams for the same state, bit for bit. See docs/python.md.
"""

from __future__ import annotations

from typing import Any

from gradscape import optim
from gradscape.embed import Embed, embed, serve, stop
from gradscape.network import NetworkResult, train
from gradscape.race import Event, Result, Run, race
from gradscape.trajectory import Trajectory, trajectory
from server import __version__


def surfaces() -> dict[str, dict[str, Any]]:
    """Every surface by name: title, formula, domain, minima, default start, parameters."""
    from server.problems.surfaces import SURFACES

    return {name: spec.to_json() for name, spec in SURFACES.items()}


def optimizers() -> dict[str, dict[str, Any]]:
    """Every optimizer by name: title, update rule, reference and hyperparameter specs."""
    from server.optim.registry import OPTIMIZERS

    return {name: opt.spec.to_json() for name, opt in OPTIMIZERS.items()}


__all__ = [
    "Embed",
    "Event",
    "NetworkResult",
    "Result",
    "Run",
    "Trajectory",
    "__version__",
    "embed",
    "optim",
    "optimizers",
    "race",
    "serve",
    "stop",
    "surfaces",
    "train",
    "trajectory",
]
