"""Plain words for a student about why a run stopped.

A divergence is explained by what the loss did before the numbers left the floats: rising while
the steps grew (an overshoot: the learning rate is too large for the curvature), or falling
without bound (the surface has no bottom that way: no learning rate fixes that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from server.analysis.stability import edge
from server.analysis.watch import Crossing
from server.engine import Race, RunConfig, RunStatus, Stop
from server.live.streams import Stream, SurfaceStream
from server.problems.factory import Built

Samples = Sequence[tuple[int, float]]  # (step, loss), oldest first


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _lowest_minimum(built: Built) -> float | None:
    minima = built.info.get("minima") or []
    values = [float(m[2]) for m in minima if len(m) >= 3]
    return min(values) if values else None


def _trend(recent: Samples) -> tuple[str, tuple[int, float], tuple[int, float]] | None:
    """``("falling" | "rising", earlier, last)`` over the last samples, or None if unclear."""
    finite = [(s, v) for s, v in recent if math.isfinite(v)]
    if len(finite) < 2:
        return None
    earlier, last = finite[-2], finite[-1]
    if last[1] < earlier[1] and last[1] < finite[0][1]:
        return "falling", finite[0], last
    if last[1] > earlier[1]:
        return "rising", finite[0], last
    return None


def _falling(built: Built, step: int, earlier: tuple[int, float], last: tuple[int, float]) -> str:
    where = (
        "This surface has no minimum"
        if built.kind == "surface"
        else "This formula has no lowest point"
    )
    return (
        f"Diverged at step {step}: the loss fell without bound, from {_fmt(earlier[1])} at step "
        f"{earlier[0]} to {_fmt(last[1])} at step {last[0]}, until the numbers overflowed. "
        f"{where} in that direction: the run did what gradient descent should, and this is not "
        "an overshoot (a smaller learning rate only takes longer to get there). Start elsewhere "
        "or choose a surface with a bottom."
    )


def _quadratic(run: RunConfig, built: Built, head: str, lr: float) -> str | None:
    found = edge(run.optimizer, run.hyper)
    if not built.lambda_max or found is None:
        return None
    bound = found.limit(built.lambda_max)
    if bound is None or not lr > bound:
        return None
    return (
        f"{head} On this quadratic the steepest curvature is λmax = {_fmt(built.lambda_max)}, "
        f"and this method is stable only for lr < {found.formula} = {_fmt(bound)}. "
        f"This run used lr = {_fmt(lr)}, {_fmt(lr / bound)}x that limit, so every step "
        "overshoots the valley by more than it corrects. Lower the learning rate below that limit."
    )


def _crossed(head: str, crossed: Crossing) -> str:
    return (
        f"{head} At step {crossed.step} lr = {_fmt(crossed.lr)} was {_fmt(crossed.lr / crossed.limit)}x "
        f"the local stability limit there, {crossed.formula} = {_fmt(crossed.limit)} (λmax = "
        f"{_fmt(crossed.lambda_max)} of the Hessian): every step overshot along the steepest "
        "direction by more than it corrected. Lower the learning rate below that limit."
    )


def diverged(
    run: RunConfig,
    built: Built,
    step: int,
    recent: Samples = (),
    crossed: Crossing | None = None,
) -> str:
    lr = run.hyper.get("lr", math.nan)
    trend = _trend(recent)
    if trend is not None and trend[0] == "falling":
        floor = _lowest_minimum(built)
        if floor is None or trend[2][1] < floor:
            return _falling(built, step, trend[1], trend[2])
    head = f"Diverged at step {step}: the values grew too large to represent."
    if trend is not None and trend[0] == "rising":
        (s0, l0), (s1, l1) = trend[1], trend[2]
        head = (
            f"Diverged at step {step}: the steps overshot and grew each time while the loss "
            f"rose, from {_fmt(l0)} at step {s0} to {_fmt(l1)} at step {s1}, until the values "
            "grew too large to represent."
        )
    quadratic = _quadratic(run, built, head, lr)
    if quadratic is not None:
        return quadratic
    if crossed is not None:
        return _crossed(head, crossed)
    if built.kind == "expression" and trend is None:
        return (
            f"Stopped at step {step}: the run stepped where the formula is undefined or infinite "
            "(for example the log of a negative number or a division by zero). "
            "Try another start or a smaller learning rate."
        )
    if trend is not None:
        return (
            f"{head} With lr = {_fmt(lr)} the learning rate is too large here: try a smaller one."
        )
    return f"{head} With lr = {_fmt(lr)}, try a smaller learning rate."


def explain(
    stop: Stop,
    race: Race,
    built: Built,
    recent: Samples = (),
    crossed: Crossing | None = None,
) -> str:
    """Why ``stop`` happened; ``recent`` are the run's last (step, loss) samples, ``crossed``
    its last crossing of the local stability limit, if known."""
    run = race.configs[race.index_of(stop.run)]
    if stop.status is RunStatus.DIVERGED:
        return diverged(run, built, stop.step, recent, crossed)
    if stop.status is RunStatus.FINISHED:
        return f"Finished: {stop.step} steps done (the race's max_steps)."
    return (
        f"Converged at step {stop.step}: the gradient is practically zero and the steps "
        "have stopped moving."
    )


def stop_event(stop: Stop, stream: Stream, built: Built) -> dict[str, Any]:
    """The ``event`` message of a stopped run, with plain words on why."""
    recent: Samples = ()
    crossed = None
    if isinstance(stream, SurfaceStream):
        recent, crossed = stream.watch.recent(stop.run), stream.watch.crossing(stop.run)
    return {
        "type": "event",
        "run": stop.run,
        "event": stop.status.value,
        "step": stop.step,
        "message": explain(stop, stream.race, built, recent, crossed),
    }
