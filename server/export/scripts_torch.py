"""``--format torch``: a race as a standalone PyTorch script that prints the race's CSV.

Each run is a float64 tensor ``p`` stepped by the ``torch.optim`` class and keywords the code
panel shows (:func:`server.inside.torchcode.torch_kwargs`), its gradient by autograd through the
surface written with torch operations, its schedule a ``torch.optim.lr_scheduler``
(:func:`server.inside.torchcode.scheduler_code`). Lion and damped Newton, which torch.optim
lacks, are small ``torch.optim.Optimizer`` classes written out. Live changes go into
``optimizer.param_groups`` at their acked steps. Where torch's schedulers cannot follow the run
(its lr or schedule changed live, or a one-cycle run outlasts ``total_steps``, past which torch
raises), the script sets each step's rate from the schedule's closed form instead and says so.
The noise draws are numpy's ``default_rng([seed, run])``, as the live run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from server.export.problem_code import torch_problem
from server.export.pysource import collect
from server.export.race_spec import ScriptRace, ScriptRun, literal, schedule_literal
from server.export.scripts_numpy import SCHEDULE_WRAPPER, About, header
from server.inside.torchcode import scheduler_code, torch_kwargs
from server.optim import schedules as schedule_module
from server.optim.schedules import CONSTANT
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS

RateMode = Literal["none", "scheduler", "closed"]
Kind = Literal["surface", "network"]

_HANDWRITTEN = {
    "lion": '''
class Lion(torch.optim.Optimizer):
    """torch.optim has no Lion (Chen et al. 2023, Algorithm 2): the step is the sign of an
    interpolation of momentum and gradient; decoupled weight decay; no bias correction."""

    def __init__(self, params, lr, beta1, beta2, weight_decay):
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                m = self.state[p].setdefault("m", torch.zeros_like(p))
                g = p.grad
                c = m + (g - m) * (1.0 - group["beta1"])
                p += (torch.sign(c) + group["weight_decay"] * p) * -group["lr"]
                m += (g - m) * (1.0 - group["beta2"])
''',
    "newton": '''
class Newton(torch.optim.Optimizer):
    """torch.optim has no Newton method: the damped step -lr |H|^-1 g, with H by autograd and
    each eigenvalue replaced by max(|lambda|, min_curvature) (a descent direction always)."""

    def __init__(self, params, f, lr, min_curvature):
        super().__init__(params, dict(lr=lr, min_curvature=min_curvature))
        self.f = f

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                with torch.enable_grad():
                    H = torch.autograd.functional.hessian(self.f, p.detach())
                if not torch.isfinite(H).all():
                    p.fill_(float("nan"))
                    continue
                lam, Q = torch.linalg.eigh(H)
                lam = lam.abs().clamp(min=group["min_curvature"])
                p += (Q @ ((Q.T @ p.grad) / lam)) * -group["lr"]
''',
}
_CLASSES = {"lion": "Lion", "newton": "Newton"}

LOOP_HELPERS = """
CONVERGED_GNORM = 1e-8  # a run stops once its gradient norm and its step are this small
CONVERGED_STEP = 1e-12
"""
LOOP = '''

def loss_and_grad(p):
    loss = f(p)
    (g,) = torch.autograd.grad(loss, p)  # autograd: the gradient of f at p
    return loss.detach().item(), g


def follow(index, run):
    """The points [x, y, loss] of one run, from its start to where it stops."""
    p, optimizer, scheduler = run["make"]()
    rng = np.random.default_rng([SEED, index])  # the live run's noise draws
    lr, schedule, noise = run["lr"], run["schedule"], run["noise"]
    loss, g = loss_and_grad(p)
    gx, gy = g.tolist()
    if not math.isfinite(loss + math.sqrt(gx * gx + gy * gy)):
        return []  # the start itself is undefined: no point at all
    points = [[*p.tolist(), loss]]
    for step in range(1, STEPS + 1):
        for change in run["changes"].get(step, []):  # what a live `set` acked at this step did
            for group in optimizer.param_groups:
                group.update(change.get("torch", {}))
            lr = change.get("lr", lr)
            schedule = change["schedule"] if "schedule" in change else schedule
            noise = change.get("noise", noise)
        if run["rate"] == "closed":  # torch's schedulers cannot follow this run: set the rate
            rate = lr if schedule is None else learning_rate(schedule, lr, step - 1)
            for group in optimizer.param_groups:
                group["lr"] = rate
        grad = g
        if noise > 0.0:
            grad = g + noise * torch.from_numpy(rng.standard_normal(2))
        before = p.detach().clone()
        p.grad = grad
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss, g = loss_and_grad(p)
        gx, gy = g.tolist()
        gnorm = math.sqrt(gx * gx + gy * gy)
        x, y = p.tolist()
        if not math.isfinite(loss + gnorm):
            break  # diverged: the point that left the floats is not kept
        points.append([x, y, loss])
        moved = (p.detach() - before).abs().max().item()
        if gnorm <= CONVERGED_GNORM and moved <= CONVERGED_STEP * (1.0 + max(abs(x), abs(y))):
            break  # converged
    for k, point in enumerate(points):
        if not all(math.isfinite(v) for v in point):
            return points[:k]
    return points


def main():
    torch.set_num_threads(1)  # tiny tensors: one thread is the fastest
    print("run,optimizer,step,x,y,loss")
    for index, run in enumerate(RUNS):
        for k, (x, y, loss) in enumerate(follow(index, run)):
            print(f"{run['id']},{run['optimizer']},{k},{x!r},{y!r},{loss!r}")


if __name__ == "__main__":
    main()
'''


def rate_mode(steps: int, run: ScriptRun) -> RateMode:
    """How a run's learning rate is set: by torch.optim alone (a constant rate), by a
    ``torch.optim.lr_scheduler``, or each step from the schedule's closed form."""
    rebased = any(c.schedule is not None for c in run.changes)
    lr = run.hyper["lr"]
    for c in run.changes:
        if c.hyper is not None and c.hyper["lr"] != lr:
            rebased = rebased or run.schedule != CONSTANT
            lr = c.hyper["lr"]
    if rebased:
        return "closed"
    if run.schedule == CONSTANT:
        return "none"
    p = run.schedule.params
    if run.schedule.name == "one_cycle" and steps > int(float(p["total_steps"])):
        return "closed"
    return "scheduler"


def _optimizer_kwargs(name: str, hyper: Mapping[str, float]) -> tuple[str, dict[str, Any]]:
    if name in TORCH_OPTIMIZERS:
        class_name, kwargs = torch_kwargs(name, hyper)
        return f"torch.optim.{class_name}", kwargs
    return _CLASSES[name], {k: float(v) for k, v in hyper.items()}


def _make(run: ScriptRun, mode: RateMode, kind: Kind) -> str:
    cls, kwargs = _optimizer_kwargs(run.optimizer, run.hyper)
    args = ", ".join(f"{k}={literal(v)}" for k, v in kwargs.items())
    lines = [f"def make_{run.id}():", f'    """Run {run.id}: {run.title}."""']
    if kind == "surface":
        start = literal(list(run.start))
        lines.append(f"    p = torch.tensor({start}, dtype=torch.float64, requires_grad=True)")
        extra = "f, " if run.optimizer == "newton" else ""
        lines.append(f"    optimizer = {cls}([p], {extra}{args})")
    else:
        lines.append("    model = network()")
        lines.append(f"    optimizer = {cls}(model.parameters(), {args})")
    scheduler = (
        scheduler_code(run.schedule, float(run.hyper["lr"])) if mode == "scheduler" else None
    )
    text = scheduler.replace("\n", "\n    ") if scheduler else "None"
    lines.append(f"    scheduler = {text}")
    lines.append(f"    return {'p' if kind == 'surface' else 'model'}, optimizer, scheduler")
    return "\n".join(lines)


def _change(run: ScriptRun, mode: RateMode, index: int) -> str:
    c = run.changes[index]
    fields = []
    if c.hyper is not None:
        _, kwargs = _optimizer_kwargs(run.optimizer, c.hyper)
        if mode != "none":
            kwargs.pop("lr")
        fields.append(f"'torch': {literal(kwargs)}")
        fields.append(f"'lr': {literal(float(c.hyper['lr']))}")
    if c.schedule is not None:
        fields.append(f"'schedule': {schedule_literal(c.schedule)}")
    if c.noise is not None:
        fields.append(f"'noise': {literal(c.noise)}")
    return "{" + ", ".join(fields) + "}"


def _runs(runs: list[ScriptRun], modes: list[RateMode]) -> str:
    rows = []
    for run, mode in zip(runs, modes, strict=True):
        by_step: dict[int, list[str]] = {}
        for j, c in enumerate(run.changes):
            by_step.setdefault(c.step, []).append(_change(run, mode, j))
        changes = "{" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in by_step.items()) + "}"
        rows.append(
            "    {\n"
            f"        'id': {run.id!r},\n"
            f"        'optimizer': {run.optimizer!r},\n"
            f"        'make': make_{run.id},\n"
            f"        'lr': {literal(float(run.hyper['lr']))},\n"
            f"        'schedule': {schedule_literal(run.schedule)},\n"
            f"        'rate': {mode!r},\n"
            f"        'noise': {literal(run.noise)},\n"
            f"        'changes': {changes},\n"
            "    },"
        )
    return "RUNS = [\n" + "\n".join(rows) + "\n]"


def handwritten(names: list[str]) -> list[str]:
    """The classes of the optimizers torch.optim lacks, among ``names``."""
    found = [n for n in names if n in _HANDWRITTEN]
    if not found:
        return []
    return ["# ---- optimizers torch.optim lacks " + "-" * 43, *[_HANDWRITTEN[n] for n in found]]


def run_parts(runs: list[ScriptRun], steps: int, kind: Kind) -> tuple[list[str], str, list[str]]:
    """Each run's ``make_<id>()``, the ``RUNS`` table, and the closed forms of the schedules
    the runs whose rate the script sets use."""
    modes = [rate_mode(steps, r) for r in runs]
    names = {s for r, m in zip(runs, modes, strict=True) if m == "closed" for s in _schedules_of(r)}
    closed = sorted(names)
    parts = []
    if closed:
        rates = [schedule_module._RATES[n] for n in closed]
        table = ", ".join(f"{n!r}: {fn.__name__}" for n, fn in zip(closed, rates, strict=True))
        parts = [
            "# ---- schedules' closed forms, for runs torch's schedulers cannot follow " + "-" * 4,
            collect(rates).text(),
            SCHEDULE_WRAPPER.format(rates="{" + table + "}"),
        ]
    made = [_make(r, m, kind) for r, m in zip(runs, modes, strict=True)]
    return made, _runs(runs, modes), parts


def torch_script(race: ScriptRace) -> str:
    """The script's text."""
    pieces, problem = torch_problem(race)
    made, table, closed = run_parts(race.runs, race.steps, "surface")
    parts = [
        header(
            About.of(race), "reproduced with PyTorch", "python this_file.py > path.csv; needs torch"
        ),
        "from __future__ import annotations\n\nimport math\n\nimport numpy as np\nimport torch",
        f"SEED = {race.seed}\nSTEPS = {race.steps}",
        "# ---- the problem, in torch operations (autograd differentiates it) " + "-" * 10,
    ]
    if pieces.blocks or pieces.constants:
        parts.append(pieces.text())
    parts += [problem, *handwritten(race.optimizers), *closed]
    parts.append("# ---- the runs: optimizer and scheduler, and their live changes " + "-" * 12)
    parts += [*made, table, "# ---- the loop " + "-" * 62, LOOP_HELPERS + LOOP]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _schedules_of(run: ScriptRun) -> list[str]:
    names = [run.schedule.name] + [c.schedule.name for c in run.changes if c.schedule is not None]
    return [n for n in names if n != CONSTANT.name]
