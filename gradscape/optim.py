"""The optimizers, from scratch in numpy, usable on your own arrays.

Each is a pair of pure functions in the optax style, bound to its hyperparameters:
``state = opt.init(params)`` and ``updates, state = opt.update(grads, state, params)``; the new
parameters are ``params + updates``. They are the very functions the server runs (torch.optim's
variants and defaults, checked against torch in float64), here for one parameter array of any
shape. Hyperparameters use torch.optim's names (``betas`` split into ``beta1``, ``beta2``) and
are validated as on the server. Schedules are not applied here: pass the ``lr`` you want to
``with_hyper`` between steps.

>>> import numpy as np
>>> opt = sgd(lr=0.1)
>>> params = np.array([1.0, -2.0])
>>> state = opt.init(params)
>>> updates, state = opt.update(2 * params, state, params)   # the gradient of |p|^2
>>> params + updates
array([ 0.8, -1.6])
>>> adam(lr=0.05, beta1=0.8).hyper["beta1"]
0.8
>>> adam(lr=-1)
Traceback (most recent call last):
...
ValueError: Invalid learning rate: -1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from server.optim.base import InvalidHyperparameter, Optimizer
from server.optim.registry import OPTIMIZERS, get_optimizer, validate_hyper

Array = npt.NDArray[np.float64]


class OptState(NamedTuple):
    """The optimizer's own state (rows of shape ``(1, size)``) and the parameters' shape."""

    inner: Any
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Transform:
    """One optimizer with its hyperparameters (all of them, defaults filled in)."""

    name: str
    hyper: dict[str, float]

    @property
    def optimizer(self) -> Optimizer:
        return get_optimizer(self.name)

    def _rows(self) -> dict[str, Array]:
        return {k: np.full((1, 1), v, dtype=np.float64) for k, v in self.hyper.items()}

    def init(self, params: npt.ArrayLike) -> OptState:
        p = np.asarray(params, dtype=np.float64)
        return OptState(self.optimizer.init(p.reshape(1, -1), self._rows()), p.shape)

    def update(
        self,
        grads: npt.ArrayLike,
        state: OptState,
        params: npt.ArrayLike,
        hessian: npt.ArrayLike | None = None,
    ) -> tuple[Array, OptState]:
        """``(updates, new_state)``; ``hessian`` (size x size) only for ``newton``."""
        p = np.asarray(params, dtype=np.float64)
        g = np.asarray(grads, dtype=np.float64)
        if p.shape != state.shape or g.shape != state.shape:
            raise ValueError(f"params and grads must have the shape {state.shape} of init")
        h = None
        if self.optimizer.spec.needs_hessian:
            if hessian is None:
                raise ValueError(f"{self.name} needs the Hessian: update(..., hessian=H)")
            h = np.asarray(hessian, dtype=np.float64).reshape(1, p.size, p.size)
        updates, inner = self.optimizer.update(
            g.reshape(1, -1), state.inner, p.reshape(1, -1), self._rows(), h
        )
        return updates.reshape(state.shape), OptState(inner, state.shape)

    def with_hyper(self, **hyper: float | bool) -> Transform:
        """The same optimizer with some hyperparameters changed (the state carries over)."""
        return named(self.name, **{**self.hyper, **hyper})


def named(name: str, **hyper: float | bool) -> Transform:
    """The optimizer ``name`` (``gradscape.optimizers()``); ``ValueError`` for a bad value.

    >>> named("rmsprop", lr=0.01, centered=True).hyper["centered"]
    1.0
    """
    try:
        return Transform(name, validate_hyper(name, hyper))
    except InvalidHyperparameter as exc:
        raise ValueError(exc.message) from None


def _factory(name: str) -> Callable[..., Transform]:
    spec = OPTIMIZERS[name].spec

    def make(**hyper: float | bool) -> Transform:
        return named(name, **hyper)

    make.__name__ = make.__qualname__ = name
    params = ", ".join(f"{h.name}={h.default!r}" for h in spec.hyper)
    make.__doc__ = f"{spec.title}: {spec.summary}\n\nHyperparameters (defaults): {params}."
    return make


sgd = _factory("sgd")
momentum = _factory("momentum")
nesterov = _factory("nesterov")
adagrad = _factory("adagrad")
rmsprop = _factory("rmsprop")
adadelta = _factory("adadelta")
adam = _factory("adam")
adamw = _factory("adamw")
amsgrad = _factory("amsgrad")
adamax = _factory("adamax")
nadam = _factory("nadam")
radam = _factory("radam")
rprop = _factory("rprop")
lion = _factory("lion")
newton = _factory("newton")

__all__ = [
    "OptState",
    "Transform",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "amsgrad",
    "lion",
    "momentum",
    "nadam",
    "named",
    "nesterov",
    "newton",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
]
