"""The named optimizers, looked up and fed validated hyperparameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from server.optim import sgd
from server.optim.adadelta import ADADELTA
from server.optim.adagrad import ADAGRAD
from server.optim.adam import ADAM, ADAMW, AMSGRAD
from server.optim.adamax import ADAMAX
from server.optim.base import Array, InvalidHyperparameter, Optimizer
from server.optim.lion import LION
from server.optim.nadam import NADAM
from server.optim.newton import NEWTON
from server.optim.radam import RADAM
from server.optim.rmsprop import RMSPROP
from server.optim.rprop import RPROP
from server.optim.rprop import check as check_rprop
from server.optim.validation import CrossCheck, check_values

OPTIMIZERS: dict[str, Optimizer] = {
    opt.spec.name: opt
    for opt in (
        sgd.SGD,
        sgd.MOMENTUM,
        sgd.NESTEROV,
        ADAGRAD,
        RMSPROP,
        ADADELTA,
        ADAM,
        ADAMW,
        AMSGRAD,
        ADAMAX,
        NADAM,
        RADAM,
        RPROP,
        LION,
        NEWTON,
    )
}

_CROSS_CHECKS: dict[str, CrossCheck] = {
    "sgd": sgd.check,
    "momentum": sgd.check,
    "nesterov": sgd.check,
    "rprop": check_rprop,
}


def get_optimizer(name: str) -> Optimizer:
    """The optimizer called ``name``, or ``InvalidHyperparameter("optimizer", ...)``."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise InvalidHyperparameter(
            "optimizer", f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}"
        ) from None


def validate_hyper(name: str, values: Mapping[str, object]) -> dict[str, float]:
    """All hyperparameters of ``name`` as floats: defaults filled in, every value checked."""
    return check_values(get_optimizer(name).spec, values, _CROSS_CHECKS.get(name))


def hyper_rows(name: str, rows: Sequence[Mapping[str, object]]) -> dict[str, Array]:
    """Per-run hyperparameters (each validated) stacked into ``(N, 1)`` columns, one row per run."""
    spec = get_optimizer(name).spec
    checked = [validate_hyper(name, row) for row in rows]
    return {
        h.name: np.array([row[h.name] for row in checked], dtype=np.float64).reshape(-1, 1)
        for h in spec.hyper
    }
