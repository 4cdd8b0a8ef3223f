"""Runs a Keras ``Plan`` in float64 on Keras 3's JAX backend (TensorFlow is not needed).

``KERAS_BACKEND`` is set to ``jax`` here before keras is imported. The optimizer is built with
``floatx`` float64 (so its ``learning_rate`` variable is float64, not Keras' float32 default),
and each update is ``optimizer.stateless_apply`` inside one jitted function: the rate goes in
as the ``learning_rate`` optimizer variable, other per-step keywords (``epsilon``) are set on the
optimizer while the function is traced, so they are traced arguments too.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.libraries.follow import StepFn
from server.libraries.plan import Plan, Value, signature_defaults, skeleton, traced
from server.optim.base import Array

_LOCK = threading.Lock()
_COMPILED: dict[tuple[tuple[object, ...], int], _Compiled] = {}
INSTALL = "keras is not installed on this server (pip install keras jax)."


class KerasBackendError(RuntimeError):
    """keras was already imported with another backend in this process."""


def available() -> bool:
    """Whether keras and jax can be imported (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("jax", "keras"))


def _keras() -> Any:
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "jax"
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    import keras

    if keras.backend.backend() != "jax":
        raise KerasBackendError(
            f"keras was imported with the {keras.backend.backend()} backend before Gradscape "
            "could choose jax (set KERAS_BACKEND=jax)."
        )
    return keras


def build(plan: Plan, t: int = 1, lr_t: float = 0.0) -> Any:
    """The Keras optimizer of ``plan`` with its per-step keywords at update ``t``, in float64."""
    keras = _keras()
    (call,) = plan.calls
    cls = getattr(keras.optimizers, call.name.removeprefix("keras.optimizers."))
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        return cls(**call.kwargs_at(t, lr_t))
    finally:
        keras.config.set_floatx(before)


STATIC = frozenset({"momentum"})
"""Numbers Keras branches on in Python (``if self.momentum != 0``): baked into the step."""


@dataclass(frozen=True)
class _Compiled:
    optimizer: Any
    jitted: Callable[..., Any]
    lr_index: int
    attributes: tuple[str, ...]


def _compile(plan: Plan, dim: int) -> _Compiled:
    keras = _keras()
    import jax

    (call,) = plan.calls
    optimizer = build(plan)
    optimizer.build([keras.Variable(np.zeros(dim), dtype="float64")])
    paths = [v.path for v in optimizer.variables]
    lr_index = next(i for i, p in enumerate(paths) if p.endswith("/learning_rate"))
    attributes = tuple(a.name for a in call.args if traced(a, STATIC) and a.name != "learning_rate")

    def update(opt_vars: list[Any], params: list[Any], grads: list[Any], values: list[Any]) -> Any:
        saved = [getattr(optimizer, name) for name in attributes]
        for name, value in zip(attributes, values, strict=True):
            setattr(optimizer, name, value)
        try:
            return optimizer.stateless_apply(opt_vars, grads, params)
        finally:
            for name, value in zip(attributes, saved, strict=True):
                setattr(optimizer, name, value)

    return _Compiled(optimizer, jax.jit(update), lr_index, attributes)


def _compiled(plan: Plan, dim: int) -> _Compiled:
    """The optimizer of ``plan``'s skeleton for ``dim`` parameters (built once:
    ``stateless_apply`` never changes it) and its jitted update, whose numbers are arguments
    (set as attributes while it is traced)."""
    key = (skeleton(plan, STATIC), dim)
    with _LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = _compile(plan, dim)
        return _COMPILED[key]


def stepper(plan: Plan, start: Array, lrs: list[float]) -> StepFn:
    """A ``follow`` step function running ``plan`` from ``start``; ``lrs[k]`` is the rate of
    update ``k + 1``; ``plan.l2 * θ`` is added to each gradient. ``start`` is ``(D,)``: a
    surface's x and y, or a network's flat weight vector (one Keras variable of D values)."""
    import jax.numpy as jnp

    (call,) = plan.calls
    compiled = _compiled(plan, len(start))
    opt_vars = [v.value for v in compiled.optimizer.variables]
    params = [jnp.asarray(np.asarray(start, dtype=np.float64))]
    l2 = plan.l2

    def step(k: int, point: Array, grad: Array) -> Array:
        nonlocal opt_vars, params
        kwargs = call.kwargs_at(k + 1, lrs[k])
        opt_vars[compiled.lr_index] = np.float64(kwargs["learning_rate"])
        g = grad + l2 * point if l2 else grad
        values = [float(kwargs[name]) for name in compiled.attributes]  # type: ignore[arg-type]
        with _LOCK:  # tracing swaps attributes of the shared optimizer
            params, opt_vars = compiled.jitted(opt_vars, params, [g], values)
        return np.asarray(params[0], dtype=np.float64)

    return step


def library_defaults(name: str) -> dict[str, Value]:
    """The keyword defaults of ``keras.optimizers.<name>``'s constructor."""
    keras = _keras()
    cls = getattr(keras.optimizers, name.removeprefix("keras.optimizers."))
    return signature_defaults(inspect.signature(cls.__init__).parameters)
