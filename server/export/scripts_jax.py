"""``--format jax``: a race as a standalone script that steps each run with optax (jax in
float64 on the CPU) and prints the race's CSV.

Each run's optimizer is the optax chain of :func:`server.libraries.optax_plan.optax_plan`, the
mapping the parity panel runs; its numbers (the rate of each update, RAdam's corrected eps, any
hyperparameter changed live) are arguments of one jitted step per run, so the state carries
through live changes. The rest is :mod:`server.export.library_runs`: the closed-form gradient,
the noise draws, the stop rules. Runs optax cannot reproduce are named on stderr and left out.
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
from server.export.race_spec import ScriptRace
from server.export.scripts_numpy import About, header
from server.libraries.optax_plan import optax_plan
from server.libraries.plan import Arg, Plan, traced

IMPORTS = """
from __future__ import annotations

import math
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_enable_x64", True)  # float64, as the live run
"""

STEPPER = '''
class Stepper:
    """One run's optax transformation, its update jitted once: the numbers are its arguments."""

    def __init__(self, run, start):
        make = run["make"]
        self.params = jnp.asarray(start)
        self.state = make(run["values"](1, run["lr"])).init(self.params)

        def step(params, state, grad, numbers):
            updates, state = make(numbers).update(grad, state, params)
            return optax.apply_updates(params, updates), state

        self.step = jax.jit(step)

    def __call__(self, grad, point, numbers):
        self.params, self.state = self.step(self.params, self.state, jnp.asarray(grad), numbers)
        return np.asarray(self.params, dtype=np.float64)
'''


def _keys(plan: Plan) -> dict[tuple[int, str], str]:
    """The name of each traced number: the keyword, or ``<call>.<keyword>`` if two calls share it."""
    names = [a.name for c in plan.calls for a in c.args if traced(a)]
    dup = {n for n in names if names.count(n) > 1}
    return {
        (i, a.name): f"{i}.{a.name}" if a.name in dup else a.name
        for i, c in enumerate(plan.calls)
        for a in c.args
        if traced(a)
    }


def _values(plan: Plan) -> str:
    keys = _keys(plan)
    return values_lambda(plan, lambda i, a: keys[(i, a.name)], frozenset())


def _make(lr: LibraryRun) -> str:
    plan = lr.segments[0].plan
    keys = _keys(plan)

    def arg(i: int, a: Arg) -> str:
        return f"{a.name}=v[{keys[(i, a.name)]!r}]" if traced(a) else f"{a.name}={a.value!r}"

    calls = [f"{c.name}({', '.join(arg(i, a) for a in c.args)})" for i, c in enumerate(plan.calls)]
    body = (
        calls[0]
        if len(calls) == 1
        else "optax.chain(\n        " + ",\n        ".join(calls) + ",\n    )"
    )
    return (
        f"def optax_{lr.run.id}(v):\n"
        f"{docstring(f'Run {lr.run.id}, {lr.run.title}: {plan.source()}, its numbers from v.')}\n"
        f"    return {body}\n"
    )


def jax_script(race: ScriptRace) -> str:
    """The script's text (FieldError on ``run`` if optax can reproduce none of the runs)."""
    runs = library_runs(race, optax_plan, "optax")
    if all(r.skipped for r in runs):
        why = "; ".join(f"run {r.run.id}: {r.skipped}" for r in runs)
        raise FieldError("run", f"optax can reproduce none of these runs ({why})")
    kept = [r for r in runs if not r.skipped]
    parts = [
        header(
            About.of(race),
            "stepped by optax (JAX, float64)",
            "python this_file.py > path.csv; needs jax and optax; runs optax cannot reproduce are "
            "named on stderr and left out",
        ),
        IMPORTS,
        f"SEED = {race.seed}\nSTEPS = {race.steps}",
        *problem_parts(race),
        *schedule_fallback(race),
        "# ---- each run's optax chain (server/libraries/optax_plan.py) " + "-" * 15,
        *[_make(r) for r in kept],
        runs_table(kept, lambda r: [f"        'make': optax_{r.run.id},"], _values),
        skipped_table(runs),
        "# ---- the loop: our gradient in, optax's step out " + "-" * 27,
        STEPPER,
        LOOP_TOP,
    ]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"
