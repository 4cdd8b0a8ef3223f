"""Plain words for a student about why a run stopped."""

from __future__ import annotations

import math

from server.engine import Race, RunConfig, RunStatus, Stop
from server.problems.factory import Built


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _stability_limit(run: RunConfig) -> tuple[float, str] | None:
    """Largest stable lr x lambda_max for heavy-ball / plain gradient descent, with its formula."""
    if run.optimizer not in ("sgd", "momentum") or run.hyper.get("nesterov", 0.0):
        return None
    beta = run.hyper.get("momentum", 0.0)
    if run.hyper.get("dampening", 0.0) or run.hyper.get("weight_decay", 0.0):
        return None
    if beta == 0.0:
        return 2.0, "2/λmax"
    return 2.0 * (1.0 + beta), f"2(1+momentum)/λmax with momentum {_fmt(beta)}"


def diverged(run: RunConfig, built: Built, step: int) -> str:
    lr = run.hyper.get("lr", math.nan)
    head = f"Diverged at step {step}: the values grew too large to represent."
    limit = _stability_limit(run)
    if built.lambda_max and limit:
        bound = limit[0] / built.lambda_max
        if lr > bound:
            return (
                f"{head} On this quadratic the steepest curvature is λmax = {_fmt(built.lambda_max)}, "
                f"and gradient descent is stable only for lr < {limit[1]} = {_fmt(bound)}. "
                f"This run used lr = {_fmt(lr)}, so every step overshoots the valley by more than "
                "it corrects. Lower the learning rate below that limit."
            )
    if built.kind == "expression":
        return (
            f"Stopped at step {step}: the run stepped where the formula is undefined or infinite "
            "(for example the log of a negative number or a division by zero). "
            "Try another start or a smaller learning rate."
        )
    return (
        f"{head} With lr = {_fmt(lr)} the steps overshoot and grow each time. "
        "Try a smaller learning rate."
    )


def explain(stop: Stop, race: Race, built: Built) -> str:
    run = race.configs[race.index_of(stop.run)]
    if stop.status is RunStatus.DIVERGED:
        return diverged(run, built, stop.step)
    if stop.status is RunStatus.FINISHED:
        return f"Finished: {stop.step} steps done (the race's max_steps)."
    return (
        f"Converged at step {stop.step}: the gradient is practically zero and the steps "
        "have stopped moving."
    )
