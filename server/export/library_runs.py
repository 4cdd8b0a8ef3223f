"""What the optax and Keras scripts share: each run's library calls over its timeline, and the
loop around them.

A run is written with the library's calls of :mod:`server.libraries` (``optax_plan``,
``keras_plan``: the mapping the parity runners execute), one ``Plan`` for its start and one for
each live change, built from the hyperparameters and schedule in effect from that change on. The
numbers of a plan are handed to the library's step each update (``values(t, lr_t)``), so a live
change of a number needs no new optimizer and keeps its state. A run the library cannot
reproduce is left out of the CSV, and the script says why on stderr: its optimizer (or a setting
it takes, at the start or after a live change) has no exact counterpart in the library, or a live
change alters the calls themselves (a momentum switched on adds a trace to optax's chain, and
Keras' SGD builds its momentum variables only for a non-zero momentum), which no state carries
across.

The gradient is the problem's closed form, written out as the numpy script writes it, with the
same noise draws (``default_rng([seed, run])``): the library steps the optimizer, the rest is
the live run's own arithmetic, so the paths differ only where the optimizers round differently.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from server.export.problem_code import numpy_problem
from server.export.race_spec import ScriptRace, ScriptRun, literal, schedule_literal
from server.export.scripts_numpy import schedule_parts
from server.libraries.plan import Arg, PerStep, Plan, Unavailable, skeleton, traced
from server.optim.schedules import CONSTANT, Schedule

PlanFn = Callable[[str, dict[str, float], bool], Plan | Unavailable]


@dataclass(frozen=True)
class Segment:
    """The plan in effect from update ``first`` (1-based) on, until the next segment."""

    first: int
    plan: Plan


@dataclass(frozen=True)
class LibraryRun:
    run: ScriptRun
    segments: list[Segment]  # empty when the run is skipped
    skipped: str | None  # why the library cannot reproduce it


def same_calls(a: Plan, b: Plan) -> bool:
    """Whether ``b`` is ``a`` with other numbers (one jitted step, one state, serves both)."""
    return skeleton(a) == skeleton(b)


def library_runs(
    race: ScriptRace, plan_of: PlanFn, library: str, same: Callable[[Plan, Plan], bool] = same_calls
) -> list[LibraryRun]:
    """Each run's plans over its timeline, or the reason it is left out."""
    out = []
    for run in race.runs:
        hyper, schedule = dict(run.hyper), run.schedule
        points: list[tuple[int, dict[str, float], Schedule]] = [(1, hyper, schedule)]
        for c in run.changes:
            hyper = dict(c.hyper) if c.hyper is not None else hyper
            schedule = c.schedule if c.schedule is not None else schedule
            if c.hyper is not None or c.schedule is not None:
                points.append((c.step, hyper, schedule))
        segments: list[Segment] = []
        skipped = None
        for first, h, s in points:
            plan = plan_of(run.optimizer, h, s != CONSTANT)
            if isinstance(plan, Unavailable):
                after = "" if first == 1 else f" (after its live change at step {first})"
                skipped = f"{plan.reason}{after}"
                break
            if segments and not same(segments[0].plan, plan):
                skipped = (
                    f"its live change at step {first} changes the {library} calls themselves "
                    f"({segments[0].plan.source()} -> {plan.source()}), which no optimizer "
                    "state carries across"
                )
                break
            segments.append(Segment(first, plan))
        out.append(LibraryRun(run, [] if skipped else segments, skipped))
    return out


def docstring(text: str) -> str:
    """A function's docstring of ``text``, wrapped to the scripts' 96 columns."""
    lines = textwrap.wrap(text, 92, break_long_words=False, break_on_hyphens=False)
    body = "\n    ".join(lines)
    return f'    """{body}"""' if len(lines) == 1 else f'    """{body}\n    """'


def value_text(arg: Arg) -> str:
    """The keyword's value as code in ``t`` and ``lr_t``."""
    return arg.value.text if isinstance(arg.value, PerStep) else literal(arg.value)


def values_lambda(
    plan: Plan, key: Callable[[int, Arg], str], static: frozenset[str], more: tuple[str, ...] = ()
) -> str:
    """``lambda t, lr_t: {...}``: the plan's traced numbers for update ``t`` at rate ``lr_t``
    (and the items ``more``, as code)."""
    items = [
        f"{key(i, a)!r}: {value_text(a)}"
        for i, call in enumerate(plan.calls)
        for a in call.args
        if traced(a, static)
    ]
    return "lambda t, lr_t: {" + ", ".join([*items, *more]) + "}"


def runs_table(
    runs: list[LibraryRun], extra: Callable[[LibraryRun], list[str]], values: Callable[[Plan], str]
) -> str:
    """``RUNS = [...]``: the reproduced runs with their numbers per segment and their live
    changes by acked step (``extra``: the library's own fields of a run)."""
    rows = []
    for lr in runs:
        if lr.skipped:
            continue
        r = lr.run
        changes: dict[int, list[str]] = {}
        seg_at = {s.first: s for s in lr.segments[1:]}
        for c in r.changes:
            fields = []
            if c.hyper is not None:
                fields.append(f"'lr': {literal(float(c.hyper['lr']))}")
            if c.schedule is not None:
                fields.append(f"'schedule': {schedule_literal(c.schedule)}")
            if c.noise is not None:
                fields.append(f"'noise': {literal(c.noise)}")
            if c.step in seg_at and (c.hyper is not None or c.schedule is not None):
                fields.append(f"'values': {values(seg_at.pop(c.step).plan)}")
            changes.setdefault(c.step, []).append("{" + ", ".join(fields) + "}")
        by_step = ", ".join(f"{k}: [{', '.join(v)}]" for k, v in changes.items())
        rows.append(
            "\n".join(
                [
                    "    {",
                    f"        'id': {r.id!r},",
                    f"        'optimizer': {r.optimizer!r},  # {r.title}",
                    f"        'index': {r.index},  # its noise generator: default_rng([SEED, index])",
                    f"        'start': {literal(list(r.start))},",
                    *extra(lr),
                    f"        'lr': {literal(float(r.hyper['lr']))},",
                    f"        'schedule': {schedule_literal(r.schedule)},",
                    f"        'noise': {literal(r.noise)},",
                    f"        'values': {values(lr.segments[0].plan)},",
                    f"        'changes': {{{by_step}}},",
                    "    },",
                ]
            )
        )
    return "RUNS = [\n" + "\n".join(rows) + "\n]"


def skipped_table(runs: list[LibraryRun]) -> str:
    """``SKIPPED``: the runs left out, with why (printed to stderr)."""
    rows = [
        f"    ({lr.run.id!r}, {lr.run.optimizer!r}, {lr.skipped!r})," for lr in runs if lr.skipped
    ]
    return "SKIPPED = [\n" + "\n".join(rows) + "\n]" if rows else "SKIPPED = []"


def problem_parts(race: ScriptRace) -> list[str]:
    """The problem's closed forms in numpy (the numpy script's), and the schedules'."""
    pieces, problem = numpy_problem(race)
    parts = ["# ---- the problem: its closed forms, as the numpy script has them " + "-" * 11]
    if pieces.blocks or pieces.constants:
        parts.append(pieces.text())
    parts.append(problem)
    return parts + schedule_parts(race.schedules())


LOOP_TOP = '''
CONVERGED_GNORM = 1e-8  # a run stops once its gradient norm and its step are this small
CONVERGED_STEP = 1e-12


def norm(g):
    """Each row's Euclidean norm, summed coordinate by coordinate as the engine does."""
    squares = g[:, 0] * g[:, 0]
    for d in range(1, g.shape[1]):
        squares += g[:, d] * g[:, d]
    return np.sqrt(squares)


def follow(run):
    """The points [x, y, loss] of one run, from its start to where it stops."""
    rng = np.random.default_rng([SEED, run["index"]])  # the live run's noise draws
    lr, schedule, noise, values = run["lr"], run["schedule"], run["noise"], run["values"]
    p = np.array([run["start"]], dtype=np.float64)
    loss, grad = f(p), grad_f(p)
    if not np.isfinite(loss[0] + norm(grad)[0]):
        return []  # the start itself is undefined: no point at all
    points = [[float(p[0, 0]), float(p[0, 1]), float(loss[0])]]
    step_with = Stepper(run, p[0])
    for step in range(1, STEPS + 1):
        for change in run["changes"].get(step, []):  # what a live `set` acked at this step did
            values = change.get("values", values)
            lr = change.get("lr", lr)
            schedule = change["schedule"] if "schedule" in change else schedule
            noise = change.get("noise", noise)
        lr_t = lr if schedule is None else learning_rate(schedule, lr, step - 1)
        g = grad[0]
        if noise > 0.0:
            g = g + noise * rng.standard_normal(g.shape[0])
        new = step_with(g, p[0], values(step, lr_t))[None, :]
        loss, grad = f(new), grad_f(new)
        gnorm = norm(grad)
        if not np.isfinite(loss[0] + gnorm[0]):
            break  # diverged: the point that left the floats is not kept
        points.append([float(new[0, 0]), float(new[0, 1]), float(loss[0])])
        moved = np.abs(new - p).max()
        p = new
        if gnorm[0] <= CONVERGED_GNORM and moved <= CONVERGED_STEP * (1.0 + np.abs(p).max()):
            break  # converged
    for k, point in enumerate(points):
        if not all(math.isfinite(v) for v in point):
            return points[:k]
    return points


def main():
    for run_id, optimizer, why in SKIPPED:
        print(f"run {run_id} ({optimizer}) is not in the CSV: {why}", file=sys.stderr)
    print("run,optimizer,step,x,y,loss")
    with np.errstate(all="ignore"):
        for run in RUNS:
            for k, (x, y, loss) in enumerate(follow(run)):
                print(f"{run['id']},{run['optimizer']},{k},{x!r},{y!r},{loss!r}")


if __name__ == "__main__":
    main()
'''
NO_SCHEDULES = """
def learning_rate(schedule, base_lr, done):
    raise AssertionError("no run of this race has a schedule")
"""


def schedule_fallback(race: ScriptRace) -> list[str]:
    """``learning_rate`` for a race without schedules (the loop names it)."""
    return [] if race.schedules() else [NO_SCHEDULES]
