"""The PyTorch code equal to one of our runs: ``torch.optim`` with the run's values filled in.

Keywords come from ``torch_twin.torch_optimizer`` (the mapping the parity and twin tests use:
``beta1``/``beta2`` become ``betas=(...)`` and so on), the schedule becomes its
``torch.optim.lr_scheduler`` equivalent, and the loop is the usual autograd one.
Lion and damped Newton have no ``torch.optim`` class: their loops are written out in torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.optim.schedules import Schedule
from server.problems.nn.torch_twin import TORCH_OPTIMIZERS

# torch.optim's keywords per class, in its signature's order (torch is not needed at run time;
# tests check these against torch_twin.torch_optimizer, which inspects torch itself).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "SGD": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered"),
    "Adadelta": ("lr", "rho", "eps", "weight_decay"),
    "Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "AdamW": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "Adamax": ("lr", "betas", "eps", "weight_decay"),
    "NAdam": ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"),
    "RAdam": ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay"),
    "Rprop": ("lr", "etas", "step_sizes"),
}
TUPLES: dict[str, tuple[str, str]] = {
    "betas": ("beta1", "beta2"),
    "etas": ("eta_minus", "eta_plus"),
    "step_sizes": ("step_size_min", "step_size_max"),
}
FLAGS = frozenset({"nesterov", "amsgrad", "centered", "decoupled_weight_decay"})


def torch_kwargs(name: str, hyper: Mapping[str, float]) -> tuple[str, dict[str, Any]]:
    """The torch.optim class name and keywords for our optimizer ``name`` (validated ``hyper``)."""
    class_name, forced = TORCH_OPTIMIZERS[name]
    values = {**forced, **hyper}  # a flag given wins (nesterov off: plain momentum)
    kwargs: dict[str, Any] = {}
    for key in KEYWORDS[class_name]:
        if key in TUPLES:
            first, second = TUPLES[key]
            kwargs[key] = (float(values[first]), float(values[second]))
        elif key in FLAGS:
            kwargs[key] = bool(values[key])
        else:
            kwargs[key] = float(values[key])
    return class_name, kwargs


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, float):
        return repr(int(v)) + ".0" if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    return repr(v)


def _kwargs(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in values.items())


def _int(v: Any) -> int:
    return int(float(v))


def scheduler_code(schedule: Schedule | None, lr: float) -> str | None:
    """``torch.optim.lr_scheduler`` construction for ``schedule`` (None for constant)."""
    if schedule is None or schedule.name == "constant":
        return None
    p = dict(schedule.params)
    s = "torch.optim.lr_scheduler"
    if schedule.name == "step":
        return f"{s}.StepLR(optimizer, step_size={_int(p['step_size'])}, gamma={_value(float(p['gamma']))})"
    if schedule.name == "exponential":
        return f"{s}.ExponentialLR(optimizer, gamma={_value(float(p['gamma']))})"
    if schedule.name == "cosine":
        cosine = (
            f"{s}.CosineAnnealingLR(optimizer, T_max={_int(p['T_max'])}, "
            f"eta_min={_value(float(p['eta_min']))})"
        )
        warmup = _int(p["warmup"])
        if warmup == 0:
            return cosine
        return (
            f"{s}.SequentialLR(optimizer, [\n"
            f"    {s}.LinearLR(optimizer, start_factor={_value(float(p['start_factor']))}, "
            f"end_factor=1.0, total_iters={warmup}),\n"
            f"    {cosine},\n"
            f"], milestones=[{warmup}])"
        )
    if schedule.name == "cyclical":
        return (
            f"{s}.CyclicLR(optimizer, base_lr={_value(lr)}, max_lr={_value(float(p['max_lr']))}, "
            f"step_size_up={_int(p['step_size_up'])}, step_size_down={_int(p['step_size_down'])}, "
            f"mode={p['mode']!r}, gamma={_value(float(p['gamma']))}, cycle_momentum=False)"
        )
    if schedule.name == "one_cycle":
        return (
            f"{s}.OneCycleLR(optimizer, max_lr={_value(lr)}, total_steps={_int(p['total_steps'])}, "
            f"pct_start={_value(float(p['pct_start']))}, anneal_strategy={p['anneal_strategy']!r}, "
            f"div_factor={_value(float(p['div_factor']))}, "
            f"final_div_factor={_value(float(p['final_div_factor']))}, "
            f"three_phase={bool(p['three_phase'])!r}, cycle_momentum=False)"
        )
    return None


def _header(start: tuple[float, float], problem: str) -> list[str]:
    return [
        "import torch",
        "",
        f"# f(p): the loss, written with torch operations ({problem})",
        f"p = torch.tensor([{_value(float(start[0]))}, {_value(float(start[1]))}], "
        "dtype=torch.float64, requires_grad=True)",
    ]


def _manual(name: str, hyper: Mapping[str, float], steps: int) -> list[str]:
    lr = _value(hyper["lr"])
    if name == "lion":
        return [
            f"lr, beta1, beta2, weight_decay = {lr}, {_value(hyper['beta1'])}, "
            f"{_value(hyper['beta2'])}, {_value(hyper['weight_decay'])}",
            "m = torch.zeros_like(p)  # torch.optim has no Lion: the update by hand",
            f"for step in range({steps}):",
            "    loss = f(p)",
            "    (g,) = torch.autograd.grad(loss, p)",
            "    with torch.no_grad():",
            "        c = beta1 * m + (1 - beta1) * g",
            "        p -= lr * (torch.sign(c) + weight_decay * p)",
            "        m = beta2 * m + (1 - beta2) * g",
        ]
    return [
        f"lr, min_curvature = {lr}, {_value(hyper['min_curvature'])}",
        "# torch.optim has no Newton method: the damped step by hand, Hessian by autograd",
        f"for step in range({steps}):",
        "    (g,) = torch.autograd.grad(f(p), p)",
        "    H = torch.autograd.functional.hessian(f, p.detach())",
        "    lam, Q = torch.linalg.eigh(H)",
        "    H_abs = Q @ torch.diag(lam.abs().clamp(min=min_curvature)) @ Q.T",
        "    with torch.no_grad():",
        "        p -= lr * torch.linalg.solve(H_abs, g)",
    ]


def torch_code(
    name: str,
    hyper: Mapping[str, float],
    schedule: Schedule | None = None,
    start: tuple[float, float] = (0.0, 0.0),
    steps: int = 500,
    problem: str = "the surface",
) -> str:
    """Python source of the run in PyTorch; ``hyper`` is validated (every value present)."""
    lines = _header(start, problem)
    if name not in TORCH_OPTIMIZERS:
        return "\n".join([*lines, *_manual(name, hyper, steps)]) + "\n"
    class_name, kwargs = torch_kwargs(name, hyper)
    lines.append(f"optimizer = torch.optim.{class_name}([p], {_kwargs(kwargs)})")
    scheduler = scheduler_code(schedule, float(hyper["lr"]))
    if scheduler is not None:
        lines.append(f"scheduler = {scheduler}")
    lines += [
        f"for step in range({steps}):",
        "    optimizer.zero_grad()",
        "    loss = f(p)",
        "    loss.backward()  # autograd fills p.grad with the gradient of f at p",
        "    optimizer.step()",
    ]
    if scheduler is not None:
        lines.append("    scheduler.step()")
    return "\n".join(lines) + "\n"
