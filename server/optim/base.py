"""Types shared by every optimizer: specs, hyperparameter rows and the (init, update) pair.

Arrays carry a leading batch axis: ``params`` and ``grads`` have shape ``(N, D)`` (N runs of
dimension D) and every hyperparameter is an array of shape ``(N, 1)``, one row per run, so one
call advances N runs that may use different hyperparameter values. Booleans are 0.0 / 1.0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Hyper = Mapping[str, Array]
State = Any

Scale = Literal["linear", "log"]
Kind = Literal["float", "int", "bool", "choice"]


class InvalidHyperparameter(ValueError):
    """A hyperparameter value out of its domain; ``field`` names it (``"lr"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class HyperSpec:
    name: str
    default: float | bool | str
    min: float | None
    max: float | None
    scale: Scale
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "scale": self.scale,
            "kind": self.kind,
            "doc": self.doc,
        }
        if self.choices:
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    title: str
    summary: str
    rule: str
    reference: str
    torch: str | None
    hyper: tuple[HyperSpec, ...]
    needs_hessian: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "rule": self.rule,
            "reference": self.reference,
            "torch": self.torch,
            "needs_hessian": self.needs_hessian,
            "hyper": [h.to_json() for h in self.hyper],
            **self.extra,
        }


InitFn = Callable[[Array, Hyper], State]
# update(grads, state, params, hyper, hessian) -> (updates, new_state); new params = params + updates.
# ``hessian`` has shape (N, D, D) and is passed only to optimizers whose spec says needs_hessian.
UpdateFn = Callable[[Array, State, Array, Hyper, "Array | None"], tuple[Array, State]]


class Optimizer(NamedTuple):
    spec: OptimizerSpec
    init: InitFn
    update: UpdateFn
