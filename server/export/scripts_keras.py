"""``--format keras``: a race as a standalone script that steps each run with a Keras 3
optimizer (on its JAX backend, float64; TensorFlow is not needed) and prints the race's CSV.

Each run's optimizer is the class and keywords of :func:`server.libraries.keras_plan.keras_plan`,
the mapping the parity panel runs. Its update is ``optimizer.stateless_apply`` jitted once per
run: the rate goes in as the optimizer's ``learning_rate`` variable, the other numbers (Adam's
epsilon set per update, anything changed live) are set on the optimizer while the step is
traced, so they are arguments too; our coupled ``weight_decay`` is added to the gradient
(``Plan.l2``). The rest is :mod:`server.export.library_runs`. Runs Keras cannot reproduce are
named on stderr and left out.
"""

from __future__ import annotations

from server.errors import FieldError
from server.export.library_runs import (
    LOOP_TOP,
    LibraryRun,
    docstring,
    library_runs,
    problem_parts,
    runs_table,
    schedule_fallback,
    skipped_table,
    values_lambda,
)
from server.export.race_spec import ScriptRace, literal
from server.export.scripts_numpy import About, header
from server.libraries.keras_plan import keras_plan
from server.libraries.keras_run import STATIC
from server.libraries.plan import Arg, PerStep, Plan, skeleton, traced

IMPORTS = """
from __future__ import annotations

import math
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"  # Keras 3 on JAX: TensorFlow is not needed
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import keras

keras.config.set_floatx("float64")  # optimizer variables in float64, as the live run
"""

STEPPER = '''
class Stepper:
    """One run's Keras optimizer; its stateless update jitted once, its numbers arguments."""

    def __init__(self, run, start):
        optimizer = run["make"]()
        optimizer.build([keras.Variable(np.asarray(start), dtype="float64")])
        self.variables = [v.value for v in optimizer.variables]
        paths = [v.path for v in optimizer.variables]
        self.lr_index = next(i for i, p in enumerate(paths) if p.endswith("/learning_rate"))
        self.params = [jnp.asarray(start)]
        self.names = names = run["traced"]
        self.fixed = run["fixed"]  # numbers Keras branches on: a new value traces the step again

        def update(variables, params, grads, numbers, fixed):
            values = [*zip(names, numbers), *fixed]
            saved = [(name, getattr(optimizer, name)) for name, _ in values]
            for name, value in values:
                setattr(optimizer, name, value)  # read while the step is traced
            try:
                return optimizer.stateless_apply(variables, grads, params)
            finally:
                for name, value in saved:
                    setattr(optimizer, name, value)

        self.update = jax.jit(update, static_argnums=4)

    def __call__(self, grad, point, numbers):
        if numbers["l2"]:
            grad = grad + numbers["l2"] * point  # our coupled weight_decay: L2 in the gradient
        self.variables[self.lr_index] = jnp.asarray(numbers["learning_rate"])
        fixed = tuple((name, numbers[name]) for name in self.fixed)
        traced = [numbers[name] for name in self.names]
        self.params, self.variables = self.update(
            self.variables, self.params, [jnp.asarray(grad)], traced, fixed
        )
        return np.asarray(self.params[0], dtype=np.float64)
'''


def _values(plan: Plan) -> str:
    """The numbers of each update; ``l2`` too, which a live weight_decay changes."""
    more = (f"'l2': {literal(float(plan.l2))}",)
    return values_lambda(plan, lambda i, a: a.name, frozenset(), more)


def _traced(plan: Plan) -> tuple[str, ...]:
    """The numbers set on the optimizer as traced values (the rate is its variable)."""
    (call,) = plan.calls
    return tuple(a.name for a in call.args if traced(a, STATIC) and a.name != "learning_rate")


def _fixed(plan: Plan) -> tuple[str, ...]:
    """The numbers Keras branches on in Python (momentum): set as they are, and the step is
    traced again when one changes."""
    (call,) = plan.calls
    return tuple(a.name for a in call.args if a.name in STATIC and traced(a))


def _same(a: Plan, b: Plan) -> bool:
    """One optimizer serves both: the same calls, and each number Keras branches on zero in
    both or in neither (a momentum switched on or off needs variables it did not build)."""
    (ca,), (cb,) = a.calls, b.calls
    return skeleton(a) == skeleton(b) and all(
        bool(ca.constant_kwargs()[n]) == bool(cb.constant_kwargs()[n]) for n in _fixed(a)
    )


def _make(lr: LibraryRun) -> str:
    plan = lr.segments[0].plan
    (call,) = plan.calls
    args = ", ".join(f"{a.name}={_start(a)}" for a in call.args)
    return (
        f"def keras_{lr.run.id}():\n"
        f"{docstring(f'Run {lr.run.id}, {lr.run.title}: {plan.source()}; its numbers are set each update.')}\n"
        f"    return {call.name}({args})\n"
    )


def _start(a: Arg) -> str:
    """The keyword as the optimizer is built (a per-step one at its base; the step sets it)."""
    return literal(a.value.base if isinstance(a.value, PerStep) else a.value)


def _extra(lr: LibraryRun) -> list[str]:
    plan = lr.segments[0].plan
    return [
        f"        'make': keras_{lr.run.id},",
        f"        'traced': {literal(_traced(plan))},",
        f"        'fixed': {literal(_fixed(plan))},",
    ]


def keras_script(race: ScriptRace) -> str:
    """The script's text (FieldError on ``run`` if Keras can reproduce none of the runs)."""
    runs = library_runs(race, keras_plan, "Keras", _same)
    if all(r.skipped for r in runs):
        why = "; ".join(f"run {r.run.id}: {r.skipped}" for r in runs)
        raise FieldError("run", f"Keras can reproduce none of these runs ({why})")
    kept = [r for r in runs if not r.skipped]
    parts = [
        header(
            About.of(race),
            "stepped by Keras 3 (JAX backend, float64)",
            "python this_file.py > path.csv; needs keras and jax; runs Keras cannot reproduce are "
            "named on stderr and left out",
        ),
        IMPORTS,
        f"SEED = {race.seed}\nSTEPS = {race.steps}",
        *problem_parts(race),
        *schedule_fallback(race),
        "# ---- each run's Keras optimizer (server/libraries/keras_plan.py) " + "-" * 11,
        *[_make(r) for r in kept],
        runs_table(kept, _extra, _values),
        skipped_table(runs),
        "# ---- the loop: our gradient in, Keras' step out " + "-" * 28,
        STEPPER,
        LOOP_TOP,
    ]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"
