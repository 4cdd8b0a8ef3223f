"""Plain-words notes on where a library's defaults or variants differ from ours, each with the
difference it makes, measured by running the library both ways on the same problem.

A default note is written for every keyword whose library default differs from the value the
mapping passes for our *default* hyperparameters (so a setting the user changed is not called a
default difference): it names both, says what we pass, and gives the largest coordinate
difference from our path when the library's own default is used instead. A variant note follows
each of the plan's ``why`` reasons: Keras' ε̂ and optax RAdam's eps (the path with a constant
eps) and Keras' decoupled ``weight_decay`` (the path with our L2 passed as ``weight_decay``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from server.libraries.plan import Arg, Call, PerStep, Plan, Value
from server.optim.base import Array

Runner = Callable[[Plan], Array]
"""Runs a plan on the request's problem, start, steps and noise: ``(n + 1, 3)`` points."""
MISSING: Any = object()
"""A keyword the mapping does not pass."""


def max_diff(a: Array, b: Array) -> float:
    """Largest coordinate difference over the steps both paths have (rows ``[*point, loss]``:
    x and y on a surface, every weight of a network)."""
    n = min(len(a), len(b))
    return float(np.max(np.abs(a[:n, :-1] - b[:n, :-1]))) if n else 0.0


def _differs(run: Runner, plan: Plan, ours: Array) -> str:
    path = run(plan)
    d = max_diff(path, ours)
    steps = min(len(path), len(ours)) - 1
    return f"the path differs from ours by {d:.3g} after {steps} steps"


def _owner(call: Call) -> str:
    """``Keras' `` or ``optax's ``."""
    return "Keras'" if call.name.startswith("keras.") else "optax's"


def _value(arg: Arg | None) -> Value:
    if arg is None:
        return MISSING  # type: ignore[no-any-return]
    return arg.value.base if isinstance(arg.value, PerStep) else arg.value


def _same(a: object, b: object) -> bool:
    zero = (None, 0.0, MISSING)
    if a in zero and b in zero:
        return True
    return a == b


def default_notes(
    plan: Plan,
    at_our_defaults: Plan,
    library_defaults: Callable[[str], Mapping[str, Value]],
    run: Runner,
    ours: Array,
) -> list[str]:
    """One note per keyword whose library default is not what we pass at our defaults."""
    notes = []
    for i, call in enumerate(plan.calls):
        base = next((c for c in at_our_defaults.calls if c.name == call.name), None)
        if base is None:
            continue
        for name, default in library_defaults(call.name).items():
            arg = call.arg(name)
            ours_default = _value(base.arg(name))
            if ours_default is MISSING or _same(default, ours_default):
                continue
            if default is None and name == "learning_rate":
                continue  # optax.adadelta's: no rate at all is no comparison
            lead = f"{call.name} defaults to {name}={default!r}"
            if arg is not None and arg.ours is not None:
                lead += f"; Gradscape's {plan.optimizer} defaults to {arg.ours}={ours_default!r}"
            passed = arg.value.text if arg is not None and isinstance(arg.value, PerStep) else None
            shown = passed if passed is not None else repr(_value(arg))
            if passed is None and _same(default, _value(arg)):
                notes.append(f"{lead}; this run passes {name}={shown}, the same value.")
                continue
            lead += f"; we pass {name}={shown}"
            variant = plan.replace_call(i, call.with_arg(name, default))
            notes.append(f"{lead}. With {_owner(call)} default {_differs(run, variant, ours)}.")
    return notes


def variant_notes(plan: Plan, run: Runner, ours: Array) -> list[str]:
    """The plan's ``why`` reasons, each with the difference the plain setting makes."""
    notes = []
    for reason in plan.why:
        note = reason[0].upper() + reason[1:]
        if "ε̂" in reason or "eps / √" in reason:
            i, arg = next(
                (i, a)
                for i, c in enumerate(plan.calls)
                for a in c.args
                if a.per_step and a.name != "learning_rate"
            )
            value = _value(arg)
            variant = plan.replace_call(i, plan.calls[i].with_arg(arg.name, value))
            note += f". With a constant {arg.name}={value!r} {_differs(run, variant, ours)}"
        elif "L2" in reason and plan.l2:
            call = plan.calls[-1].with_arg("weight_decay", plan.l2)
            variant = replace(plan.replace_call(len(plan.calls) - 1, call), l2=0.0)
            note += (
                f". With weight_decay={plan.l2!r} passed to {call.name} instead (decoupled), "
                f"{_differs(run, variant, ours)}"
            )
        notes.append(note + ".")
    return notes
