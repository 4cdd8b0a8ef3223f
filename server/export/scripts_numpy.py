"""``--format numpy``: a race as a standalone numpy script that prints the race's CSV.

The script holds the project's own code (read from it, :mod:`server.export.pysource`): the
surface's closed forms (or the formula's evaluator written out, :mod:`server.export.exprcode`),
each optimizer's ``init`` and ``update``, the schedules' closed forms; and, around them, the
engine's loop for one run: the same ``(1, 2)`` arrays and ``(1, 1)`` hyperparameter columns, the
noise drawn from ``default_rng([seed, run])``, the live changes applied before the update they
were acked at, and the same stopping rules. It imports numpy and the standard library only.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from server.export.problem_code import numpy_problem
from server.export.pysource import Pieces, collect, optimizer_code
from server.export.race_spec import CSV_DOC, ScriptRace, ScriptRun, literal, schedule_literal
from server.optim import schedules as schedule_module
from server.optim.registry import get_optimizer

SCHEDULE_WRAPPER = '''
RATES = {rates}


def learning_rate(schedule, base_lr, done):
    """The rate of the next update of a run whose lr is base_lr, after ``done`` updates."""
    name, params = schedule
    base, t = np.broadcast_arrays(
        np.asarray(base_lr, dtype=np.float64), np.asarray(done).astype(np.int64)
    )
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = RATES[name](params, base, t)
    return float(np.array(out, dtype=np.float64))
'''

STEP_SETTINGS = """
        for change in run["changes"].get(step, []):  # what a live `set` acked at this step did
            if "hyper" in change:
                hyper = columns(change["hyper"])
            if "schedule" in change:
                schedule = change["schedule"]
            if "noise" in change:
                noise = change["noise"]
        g = grad
        if noise > 0.0:
            g = grad.copy(order="K")
            g[0] += noise * rng.standard_normal(g.shape[1])
        rates = hyper
        if schedule is not None:
            lr = learning_rate(schedule, float(hyper["lr"][0, 0]), step - 1)
            rates = {**hyper, "lr": np.array([lr])[:, None]}
"""
"""The top of each step of a run's loop: its live changes, its noise and its rate (shared by
the surface and the network scripts)."""

LOOP = (
    '''
CONVERGED_GNORM = 1e-8  # a run stops once its gradient norm and its step are this small
CONVERGED_STEP = 1e-12


def columns(hyper):
    """Hyperparameters as the engine hands them to update: (1, 1) columns, flags 0.0 / 1.0."""
    return {name: np.array([[float(value)]]) for name, value in hyper.items()}


def norm(g):
    """Each row's Euclidean norm, summed coordinate by coordinate as the engine does."""
    squares = g[:, 0] * g[:, 0]
    for d in range(1, g.shape[1]):
        squares += g[:, d] * g[:, d]
    return np.sqrt(squares)


def follow(index, run):
    """The points [x, y, loss] of one run, from its start to where it stops."""
    init, update = OPTIMIZERS[run["optimizer"]]
    needs_hessian = run["optimizer"] in NEEDS_HESSIAN
    rng = np.random.default_rng([SEED, index])
    hyper, schedule, noise = columns(run["hyper"]), run["schedule"], run["noise"]
    params = np.asarray(np.array([run["start"]], dtype=np.float64), order="F")
    loss, grad = f(params), grad_f(params)
    if not np.isfinite(loss[0] + norm(grad)[0]):
        return []  # the start itself is undefined: no point at all
    points = [[float(params[0, 0]), float(params[0, 1]), float(loss[0])]]
    state = init(params, hyper)
    for step in range(1, STEPS + 1):'''
    + STEP_SETTINGS
    + """        hessian = hess_f(params) if needs_hessian else None
        updates, state = update(g, state, params, rates, hessian)
        params = params + updates
        loss, grad = f(params), grad_f(params)
        gnorm = norm(grad)
        if not np.isfinite(loss[0] + gnorm[0]):
            break  # diverged: the point that left the floats is not kept
        points.append([float(params[0, 0]), float(params[0, 1]), float(loss[0])])
        steps = np.broadcast_to(updates, params.shape)
        if gnorm[0] <= CONVERGED_GNORM and np.abs(steps).max() <= CONVERGED_STEP * (
            1.0 + np.abs(params).max()
        ):
            break  # converged
    for k, point in enumerate(points):
        if not all(math.isfinite(v) for v in point):
            return points[:k]
    return points


def main():
    print("run,optimizer,step,x,y,loss")
    with np.errstate(all="ignore"):
        for index, run in enumerate(RUNS):
            for k, (x, y, loss) in enumerate(follow(index, run)):
                print(f"{run['id']},{run['optimizer']},{k},{x!r},{y!r},{loss!r}")


if __name__ == "__main__":
    main()
"""
)


def runs_literal(runs: list[ScriptRun]) -> str:
    """``RUNS = [...]``: each run's start, settings and live changes by acked step."""
    rows = []
    for r in runs:
        changes: dict[int, list[dict[str, object]]] = {}
        for c in r.changes:
            item: dict[str, object] = {}
            if c.hyper is not None:
                item["hyper"] = dict(c.hyper)
            if c.schedule is not None:
                item["schedule"] = _Raw(schedule_literal(c.schedule))
            if c.noise is not None:
                item["noise"] = c.noise
            changes.setdefault(c.step, []).append(item)
        lines = [
            "    {",
            f"        'id': {r.id!r},",
            f"        'optimizer': {r.optimizer!r},  # {r.title}",
            *([f"        'start': {literal(r.start)},"] if r.start else []),
            f"        'hyper': {literal(dict(r.hyper))},",
            f"        'schedule': {schedule_literal(r.schedule)},",
            f"        'noise': {literal(r.noise)},",
            f"        'changes': {_changes(changes)},",
            "    },",
        ]
        rows.append("\n".join(lines))
    return "RUNS = [\n" + "\n".join(rows) + "\n]\n"


class _Raw(str):
    """Text to write as it is (already a literal)."""


def _changes(changes: dict[int, list[dict[str, object]]]) -> str:
    if not changes:
        return "{}"
    parts = []
    for step, items in changes.items():
        texts = []
        for item in items:
            fields = [f"{k!r}: {v if isinstance(v, _Raw) else literal(v)}" for k, v in item.items()]
            texts.append("{" + ", ".join(fields) + "}")
        parts.append(f"{step}: [{', '.join(texts)}]")
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class About:
    """What a script's docstring says about its race."""

    problem: str
    runs: list[ScriptRun]
    seed: int
    steps: int
    hash: str
    csv: str = CSV_DOC

    @staticmethod
    def of(race: ScriptRace) -> About:
        return About(race.problem_title, race.runs, race.seed, race.steps, race.hash)


def header(about: About, what: str, run_line: str) -> str:
    return (
        f'"""Gradscape race, {what}.\n\n'
        f"Problem: {about.problem}\n"
        f"Runs: {', '.join(f'{r.id} {r.title}' for r in about.runs)}; "
        f"seed {about.seed}, {about.steps} steps.\n"
        f"Link state: #{about.hash}\n\n"
        + textwrap.fill(f"Run it with no arguments ({run_line}); it prints {about.csv}.", 96)
        + "\n"
        '"""\n'
    )


def schedule_parts(names: list[str]) -> list[str]:
    """The closed forms of these schedules and ``learning_rate`` (nothing for none)."""
    if not names:
        return []
    rates = [schedule_module._RATES[name] for name in names]
    table = ", ".join(f"{n!r}: {fn.__name__}" for n, fn in zip(names, rates, strict=True))
    return [
        "# ---- the schedules (server/optim/schedules.py) " + "-" * 30,
        collect(rates).text(),
        SCHEDULE_WRAPPER.format(rates="{" + table + "}"),
    ]


def with_npt(text: str) -> str:
    """``import numpy.typing as npt`` where an annotation names it."""
    if "npt." not in text:
        return text
    return text.replace(
        "import numpy as np\n", "import numpy as np\nimport numpy.typing as npt\n", 1
    )


IMPORTS = (
    "from __future__ import annotations\n\nimport math\nfrom typing import NamedTuple\n\n"
    "import numpy as np\n\n\n"
    "Array = Hyper = Params = Component = np.ndarray  # names the annotations use"
)


def optimizer_table(optimizers: list[str], shared: Pieces) -> list[str]:
    """Each optimizer's factory (one per distinct init and update: momentum and nesterov share
    SGD's), then ``OPTIMIZERS`` naming the (init, update) of each name the race uses."""
    parts = []
    made: dict[tuple[object, object], str] = {}
    table = []
    for name in optimizers:
        opt = get_optimizer(name)
        key = (opt.init, opt.update)
        if key not in made:
            made[key] = f"{name}_code"
            parts.append(optimizer_code(name, shared).factory)
        table.append(f"    {name!r}: {made[key]}(),")
    hessian = [n for n in optimizers if get_optimizer(n).spec.needs_hessian]
    parts.append("OPTIMIZERS = {\n" + "\n".join(table) + "\n}\nNEEDS_HESSIAN = " + literal(hessian))
    return parts


def numpy_script(race: ScriptRace) -> str:
    """The script's text."""
    pieces, problem = numpy_problem(race)
    shared = Pieces()
    factories = optimizer_table(race.optimizers, shared)
    parts = [
        header(About.of(race), "reproduced with numpy alone", "python this_file.py > path.csv"),
        IMPORTS,
        f"SEED = {race.seed}\nSTEPS = {race.steps}",
        "# ---- the problem " + "-" * 60,
    ]
    if pieces.blocks or pieces.constants:
        parts.append(pieces.text())
    parts += [problem, "# ---- the optimizers: the project's own code (server/optim/) " + "-" * 20]
    parts += [shared.text(), *factories, *schedule_parts(race.schedules())]
    parts += ["# ---- the race: each run as it started, and its live changes " + "-" * 16]
    parts += [runs_literal(race.runs), "# ---- the engine's loop for one run " + "-" * 42, LOOP]
    return with_npt("\n\n\n".join(p.strip("\n") for p in parts) + "\n")
