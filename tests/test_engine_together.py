"""advance_together: many races stepped as shared columns give what each gives alone, bit for bit."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from server.engine import Chunk, Mode, Race, RunConfig, Stop, advance_together
from server.engine.together import SharedColumns
from server.optim.registry import OPTIMIZERS, validate_hyper
from server.optim.schedules import parse_schedule
from server.problems.surfaces import get_surface

Result = tuple[dict[str, Chunk], list[Stop]]


def config(run_id: str, optimizer: str, start: Sequence[float], **hyper: Any) -> RunConfig:
    return RunConfig(run_id, optimizer, validate_hyper(optimizer, hyper), np.array(start))


def races(mode: Mode) -> list[Race]:
    """Every optimizer, several surfaces and starts, runs that diverge or converge mid-tick, a
    race that reaches max_steps mid-tick, and races that must go alone (newton's numpy group,
    noise, a schedule)."""
    rosenbrock = get_surface("rosenbrock")
    quadratic = get_surface("quadratic", {"kappa": 10.0})
    made: list[Race] = []
    new = functools.partial(Race, mode=mode)
    for s, start in enumerate([(-1.5, 2.0), (0.5, -0.3), (1.2, 1.1)]):
        runs = [
            config(f"{name}{s}", name, start) for name in sorted(OPTIMIZERS) if name != "newton"
        ]
        made.append(new(rosenbrock, runs, seed=s, max_steps=500))
    made.append(new(rosenbrock, [config("newton", "newton", (-1.5, 2.0), lr=0.5)]))
    made.append(
        new(
            quadratic,
            [
                config("blowup", "sgd", (1.0, 1.0), lr=3.0),  # far beyond 2/lambda_max
                config("slow", "sgd", (1.0, 1.0), lr=0.01),
                config("fast", "sgd", (0.001, 0.001), lr=0.19),  # converges within the test
                config("adam", "adam", (1.0, -1.0), lr=0.1),
            ],
            max_steps=400,
        )
    )
    made.append(new(quadratic, [config("short", "momentum", (1.0, 0.5), lr=0.01)], max_steps=7))
    noisy = config("noisy", "adam", (-1.0, 1.0), lr=0.01)
    made.append(
        new(
            rosenbrock,
            [
                RunConfig(noisy.id, noisy.optimizer, noisy.hyper, noisy.start, noise=0.5),
                RunConfig(
                    "cosine",
                    "sgd",
                    validate_hyper("sgd", {"lr": 1e-3}),
                    np.array([0.0, 0.0]),
                    schedule=parse_schedule({"name": "cosine", "T_max": 50}),
                ),
            ],
            seed=3,
        )
    )
    return made


def same(mine: Sequence[Result], theirs: Sequence[Result]) -> None:
    for (chunks, stops), (ref_chunks, ref_stops) in zip(mine, theirs, strict=True):
        assert stops == ref_stops
        assert chunks.keys() == ref_chunks.keys()
        for run_id, chunk in chunks.items():
            ref = ref_chunks[run_id]
            assert chunk.step == ref.step, run_id
            for a, b in ((chunk.params, ref.params), (chunk.loss, ref.loss)):
                assert a.shape == b.shape, run_id
                np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64), run_id)
            np.testing.assert_array_equal(chunk.gnorm.view(np.uint64), ref.gnorm.view(np.uint64))


def play(
    advance: Callable[[list[Race], list[int]], list[Result]], mode: Mode
) -> list[list[Result]]:
    every = races(mode)
    ticks = [[2] * len(every), [1, 3, 2, 2, 5, 2, 1], [2] * len(every)] * 60  # mixed counts too
    return [advance(every, counts) for counts in ticks]


@pytest.mark.parametrize("mode", ["auto", "arrays"])
def test_together_equals_alone_tick_by_tick(monkeypatch: pytest.MonkeyPatch, mode: Mode) -> None:
    built: list[object] = []
    gather = SharedColumns.__init__

    def counted(shared: Any, *args: Any) -> None:
        built.append(shared)
        gather(shared, *args)

    monkeypatch.setattr(SharedColumns, "__init__", counted)
    alone = play(lambda rs, counts: [r.advance(n) for r, n in zip(rs, counts, strict=True)], mode)
    together = play(lambda rs, c: advance_together(list(zip(rs, c, strict=True))), mode)
    # the runs' state stays in columns from tick to tick, gathered again only when they change;
    # races on numpy arrays advance alone
    assert 0 < len(built) < 60 if mode == "auto" else not built
    for mine, theirs in zip(together, alone, strict=True):
        same(mine, theirs)
    stops = [s for tick in alone for _, tick_stops in tick for s in tick_stops]
    assert {s.status.value for s in stops} == {"diverged", "converged", "finished"}


@pytest.mark.parametrize("mode", ["auto", "arrays"])
def test_changes_between_ticks_apply_the_same_way(mode: Mode) -> None:
    """Between ticks, races are changed, reset, read and advanced alone (a step message): the
    state kept in shared columns is handed back first."""

    def make() -> list[Race]:
        runs = [config("a", "adam", (-1.5, 2.0), lr=0.01), config("m", "momentum", (1, 1))]
        return [Race(get_surface("himmelblau"), runs, seed=i, mode=mode) for i in range(3)]

    def tick(rs: list[Race], k: int, together: bool) -> list[Result]:
        extra: list[Result] = []
        if k == 3:
            extra.append(rs[0].advance(3))
        if k == 5:
            rs[1].set("a", hyper=validate_hyper("adam", {"lr": 0.05}))
        if k == 9:
            rs[2].reset()
        counts = [0, 2, 1] if k % 4 == 2 else [2, 2, 2]
        if together:
            ticked = advance_together(list(zip(rs, counts, strict=True)))
        else:
            ticked = [r.advance(n) for r, n in zip(rs, counts, strict=True)]
        return extra + ticked

    a, b = make(), make()
    for k in range(24):
        same(tick(a, k, True), tick(b, k, False))
        for mine, theirs in zip(a, b, strict=True):
            for run in ("a", "m"):
                np.testing.assert_array_equal(mine.params(run), theirs.params(run))
