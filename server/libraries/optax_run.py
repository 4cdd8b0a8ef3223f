"""Runs an optax ``Plan`` in float64 on CPU (jax with ``jax_enable_x64``).

The chain is built inside one jitted step from the plan's calls, with the per-step keywords
(the scheduled rate, RAdam's eps) as traced arguments, so a plan compiles once per process and
each update is one call. jax and optax are imported on first use: this module imports without.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from server.libraries.follow import StepFn
from server.libraries.plan import Plan, Value, signature_defaults, skeleton, traced
from server.optim.base import Array

_LOCK = threading.Lock()
_JITS: dict[tuple[object, ...], Callable[..., Any]] = {}
INSTALL = "optax is not installed on this server (pip install optax jax)."


def available() -> bool:
    """Whether jax and optax can be imported (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("jax", "optax"))


def _modules() -> tuple[Any, Any]:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    import optax

    return jax, optax


def _key(index: int, name: str) -> str:
    return f"{index}.{name}"


def build(plan: Plan, values: dict[str, Any]) -> Any:
    """The ``optax.GradientTransformation`` of ``plan``, its numbers taken from ``values``
    (keyed ``"<call index>.<keyword>"``, as ``values_at`` makes them)."""
    _, optax = _modules()
    parts = []
    for i, call in enumerate(plan.calls):
        fn = getattr(optax, call.name.removeprefix("optax."))
        kwargs = {a.name: values[_key(i, a.name)] if traced(a) else a.value for a in call.args}
        parts.append(fn(**kwargs))
    return parts[0] if len(parts) == 1 else optax.chain(*parts)


def values_at(plan: Plan, t: int, lr_t: float) -> dict[str, float]:
    """Every number of ``plan`` at update ``t`` (1-based), keyed as ``build`` reads them."""
    return {
        _key(i, name): float(value)  # type: ignore[arg-type]
        for i, call in enumerate(plan.calls)
        for name, value in call.kwargs_at(t, lr_t).items()
        if traced(call.arg(name))  # type: ignore[arg-type]
    }


def _jitted(plan: Plan) -> Callable[..., Any]:
    jax, optax = _modules()

    def step(params: Any, state: Any, grad: Any, values: dict[str, Any]) -> Any:
        updates, state = build(plan, values).update(grad, state, params)
        return optax.apply_updates(params, updates), state

    return jax.jit(step)  # type: ignore[no-any-return]


def _compiled(plan: Plan) -> Callable[..., Any]:
    """One jitted step per skeleton: the numbers are arguments, so new values do not compile."""
    shape = skeleton(plan)
    with _LOCK:
        if shape not in _JITS:
            _JITS[shape] = _jitted(plan)
        return _JITS[shape]


def stepper(plan: Plan, start: Array, lrs: list[float]) -> StepFn:
    """A ``follow`` step function running ``plan`` from ``start``; ``lrs[k]`` is the rate of
    update ``k + 1``."""
    _, _ = _modules()
    import jax.numpy as jnp

    params = jnp.asarray(np.asarray(start, dtype=np.float64))
    first = lrs[0] if lrs else 0.0
    state = build(plan, values_at(plan, 1, first)).init(params)
    jitted = _compiled(plan)

    def step(k: int, point: Array, grad: Array) -> Array:
        nonlocal params, state
        values = values_at(plan, k + 1, lrs[k])
        params, state = jitted(params, state, grad, values)
        return np.asarray(params, dtype=np.float64)

    return step


def library_defaults(name: str) -> dict[str, Value]:
    """The keyword defaults of ``optax.<name>`` (``name`` as in ``Call.name``)."""
    _, optax = _modules()
    fn = getattr(optax, name.removeprefix("optax."))
    return signature_defaults(inspect.signature(fn).parameters)
