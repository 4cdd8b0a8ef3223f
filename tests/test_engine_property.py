"""Property: for any hyperparameters, every compiled way of advancing a run gives the bits of a
plain loop over the optimizer's numpy ``update`` and the surface's ``value`` and ``grad``.

The compiled ways are the rows mode (per update, and the loop a run alone takes for long
advances) and the columns mode (with settings shared by the group compiled in, and not).
Hyperparameters are drawn over each one's whole range (log-scaled ones by exponent), booleans
both ways, defaults (often zeros that switch a branch off) now and then.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.engine import Mode, Race, RunConfig, RunStatus
from server.optim.base import InvalidHyperparameter
from server.optim.registry import OPTIMIZERS, get_optimizer, hyper_rows, validate_hyper
from server.problems.surfaces import get_surface

COMPILED = sorted(set(OPTIMIZERS) - {"newton"})  # newton needs the Hessian: numpy only
SURFACES = ("rosenbrock", "beale", "ackley", "rastrigin")  # power, exp and cos among them
STEPS = 40
PIECES = (3, 37)  # the first updates one by one, then a long advance (the compiled loop)


@st.composite
def hyperparameters(draw: st.DrawFn, optimizer: str) -> dict[str, float]:
    values: dict[str, Any] = {}
    for h in get_optimizer(optimizer).spec.hyper:
        if h.kind == "bool":
            values[h.name] = draw(st.booleans())
        elif h.kind == "float" and draw(st.integers(0, 3)) > 0:
            low = h.min if h.min is not None else -10.0
            high = h.max if h.max is not None else 10.0
            if h.scale == "log":
                low = max(low, 1e-12)
                values[h.name] = 10.0 ** draw(st.floats(math.log10(low), math.log10(high)))
            else:
                values[h.name] = draw(st.floats(low, high))
    if "lr" in values:
        values["lr"] = min(values["lr"], 0.05)  # a path that goes somewhere before it blows up
    try:
        return validate_hyper(optimizer, values)
    except InvalidHyperparameter:
        assume(False)
        raise


def plain_loop(surface_name: str, optimizer: str, hyper: dict[str, float], start: Any) -> Any:
    """The points and losses of STEPS updates by the numpy code alone."""
    surface = get_surface(surface_name)
    opt = get_optimizer(optimizer)
    rows = hyper_rows(optimizer, [hyper])
    p = np.asarray(np.array([start], dtype=np.float64), order="F")
    state = opt.init(p, rows)
    points, losses = [p[0].copy()], [surface.value(p)[0]]
    with np.errstate(all="ignore"):
        for _ in range(STEPS):
            updates, state = opt.update(surface.grad(p), state, p, rows, None)
            p = p + updates
            points.append(p[0].copy())
            losses.append(surface.value(p)[0])
    return np.array(points), np.array(losses)


def paths(race: Race) -> dict[str, tuple[Any, Any]]:
    parts = {k: [(c.params, c.loss)] for k, c in race.initial_chunks().items()}
    for n in PIECES:
        for k, c in race.advance(n)[0].items():
            parts[k].append((c.params, c.loss))
    return {
        k: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
        for k, v in parts.items()
    }


def same_bits(mine: Any, theirs: Any) -> None:
    np.testing.assert_array_equal(
        np.ascontiguousarray(mine).view(np.uint64), np.ascontiguousarray(theirs).view(np.uint64)
    )


@settings(
    max_examples=6 * len(COMPILED),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_compiled_modes_equal_a_plain_update_loop(data: st.DataObject) -> None:
    optimizer = data.draw(st.sampled_from(COMPILED), label="optimizer")
    surface = data.draw(st.sampled_from(SURFACES), label="surface")
    a = data.draw(hyperparameters(optimizer), label="a")
    b = data.draw(hyperparameters(optimizer), label="b")
    spec = get_surface(surface).spec
    starts = [spec.start, (spec.start[0] * 0.8 + 0.05, spec.start[1] * 0.9 - 0.1)]
    # two runs sharing every setting (compiled in by the columns mode), one with its own
    configs = [
        RunConfig("a0", optimizer, a, np.array(starts[0])),
        RunConfig("a1", optimizer, a, np.array(starts[1])),
        RunConfig("b0", optimizer, b, np.array(starts[0])),
    ]
    expected = {c.id: plain_loop(surface, optimizer, dict(c.hyper), c.start) for c in configs}
    modes: tuple[Mode, ...] = ("arrays", "rows", "columns")
    for mode in modes:
        race = Race(get_surface(surface), configs, max_steps=STEPS, mode=mode, until="max_steps")
        for run_id, (points, losses) in paths(race).items():
            ref_points, ref_losses = expected[run_id]
            k = len(points)  # a diverged run ends before its first non-finite value
            status = race.status[race.index_of(run_id)]
            assert k == STEPS + 1 or status is RunStatus.DIVERGED, (mode, run_id)
            same_bits(points, ref_points[:k])
            same_bits(losses, ref_losses[:k])
