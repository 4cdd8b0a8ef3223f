"""The engine: bookkeeping of steps, live changes, stops, noise and batching."""

from __future__ import annotations

import numpy as np
import pytest

from server.engine import Race, RunConfig, RunStatus
from server.optim.registry import get_optimizer, hyper_rows, validate_hyper
from server.optim.schedules import learning_rate, parse_schedule
from server.problems.surfaces import get_surface

START = np.array([-1.5, 2.0])


def run(
    run_id: str,
    optimizer: str,
    start: np.ndarray = START,
    noise: float = 0.0,
    schedule: dict[str, object] | None = None,
    **hyper: float,
) -> RunConfig:
    return RunConfig(
        run_id, optimizer, validate_hyper(optimizer, hyper), start, parse_schedule(schedule), noise
    )


def reference(
    surface_name: str,
    optimizer: str,
    hypers: list[dict[str, float]],
    start: np.ndarray,
    schedule: dict[str, object] | None = None,
) -> np.ndarray:
    """The path by a plain loop over the optimizer; ``hypers[k]`` is used by update k + 1."""
    surface = get_surface(surface_name)
    opt = get_optimizer(optimizer)
    sched = parse_schedule(schedule)
    p = start[None, :].astype(np.float64)
    state = opt.init(p, hyper_rows(optimizer, [hypers[0]]))
    path = [p[0].copy()]
    for k, h in enumerate(hypers):
        rows = hyper_rows(optimizer, [h])
        rows["lr"] = np.array([[learning_rate(sched, rows["lr"][0, 0], k)]])
        upd, state = opt.update(surface.grad(p), state, p, rows, None)
        p = p + upd
        path.append(p[0].copy())
    return np.array(path)


def full_path(race: Race, run_id: str, steps: int) -> np.ndarray:
    pts = [race.initial_chunks()[run_id].params]
    chunks, _ = race.advance(steps)
    pts.append(chunks[run_id].params)
    return np.concatenate(pts)


def test_path_equals_plain_loop_with_schedule() -> None:
    race = Race(
        get_surface("rosenbrock"),
        [run("a", "adam", lr=0.02, schedule={"name": "cosine", "T_max": 300})],
        max_steps=300,
    )
    path = full_path(race, "a", 300)
    ref = reference(
        "rosenbrock",
        "adam",
        [validate_hyper("adam", {"lr": 0.02})] * 300,
        START,
        {"name": "cosine", "T_max": 300},
    )
    assert path.shape == (301, 2)
    np.testing.assert_array_equal(path, ref)


def test_set_takes_effect_from_the_acked_step() -> None:
    race = Race(get_surface("rosenbrock"), [run("a", "momentum", lr=1e-4)], max_steps=100)
    first, _ = race.advance(40)
    acked = race.set("a", hyper=validate_hyper("momentum", {"lr": 5e-4}))
    assert acked == 41
    rest, _ = race.advance(60)
    path = np.concatenate([race.initial_chunks()["a"].params, first["a"].params, rest["a"].params])
    slow, fast = validate_hyper("momentum", {"lr": 1e-4}), validate_hyper("momentum", {"lr": 5e-4})
    ref = reference("rosenbrock", "momentum", [slow] * 40 + [fast] * 60, START)
    np.testing.assert_array_equal(path, ref)
    unchanged = reference("rosenbrock", "momentum", [slow] * 100, START)
    np.testing.assert_array_equal(path[:41], unchanged[:41])
    assert not np.allclose(path[41:], unchanged[41:])


def test_runs_of_one_optimizer_share_a_batch_but_keep_their_own_values() -> None:
    lrs = [1e-4, 3e-4, 1e-3]
    together = Race(
        get_surface("himmelblau"),
        [run(f"r{i}", "rmsprop", lr=lr, centered=True) for i, lr in enumerate(lrs)],
        max_steps=200,
    )
    chunks, _ = together.advance(200)
    for i, lr in enumerate(lrs):
        alone = Race(
            get_surface("himmelblau"), [run("x", "rmsprop", lr=lr, centered=True)], max_steps=200
        )
        np.testing.assert_array_equal(chunks[f"r{i}"].params, alone.advance(200)[0]["x"].params)


def test_divergence_stops_at_the_first_non_finite_step() -> None:
    surface = get_surface("quadratic", {"kappa": 10.0})
    start = np.array([1.0, 1.0])
    race = Race(
        surface,
        [run("a", "sgd", start=start, lr=0.3), run("b", "sgd", start=start, lr=0.1)],
        max_steps=5000,
    )
    chunks, stops = race.advance(5000)
    a = [s for s in stops if s.run == "a"]
    assert len(a) == 1 and a[0].status is RunStatus.DIVERGED
    assert race.status[1] is RunStatus.CONVERGED
    # the plain loop: the first update whose loss or squared gradient norm overflows is reported
    p, k = start.copy(), 0
    with np.errstate(all="ignore"):
        while np.isfinite(surface.value(p) + np.sum(surface.grad(p) ** 2)):
            p, k = p - 0.3 * surface.grad(p), k + 1
    assert a[0].step == k
    assert chunks["a"].step == 1 and len(chunks["a"].loss) == k - 1
    assert np.isfinite(chunks["a"].params).all() and np.isfinite(chunks["a"].loss).all()


def test_finished_and_converged() -> None:
    surface = get_surface("quadratic", {"kappa": 4.0})
    race = Race(
        surface,
        [
            run("n", "newton", start=np.array([2.0, -1.0])),
            run("s", "sgd", start=np.array([2.0, -1.0]), lr=0.01),
        ],
        max_steps=50,
    )
    chunks, stops = race.advance(50)
    by_run = {s.run: s for s in stops}
    assert by_run["n"].status is RunStatus.CONVERGED
    assert by_run["s"].status is RunStatus.FINISHED and by_run["s"].step == 50
    assert np.allclose(chunks["n"].params[-1], [0.0, 0.0], atol=1e-12)
    assert race.done


def test_noise_is_seeded_per_run() -> None:
    surface = get_surface("booth")

    def path(seed: int, noise: float) -> np.ndarray:
        race = Race(
            surface,
            [run("a", "sgd", noise=noise, lr=0.01), run("b", "adam", noise=noise)],
            seed=seed,
            max_steps=100,
        )
        return race.advance(100)[0]["a"].params

    np.testing.assert_array_equal(path(3, 0.5), path(3, 0.5))
    assert not np.allclose(path(3, 0.5), path(4, 0.5))
    assert not np.allclose(path(3, 0.5), path(3, 0.0))


def test_reset_replays_the_same_path_with_current_settings() -> None:
    race = Race(get_surface("beale"), [run("a", "adam", noise=0.2, lr=0.01)], seed=7, max_steps=80)
    first = race.advance(80)[0]["a"].params
    race.reset()
    assert race.step == 0
    np.testing.assert_array_equal(race.advance(80)[0]["a"].params, first)


@pytest.mark.parametrize("name", ["sgd", "adam", "rprop", "lion", "nadam"])
def test_advance_in_pieces_equals_one_call(name: str) -> None:
    def make() -> Race:
        return Race(get_surface("himmelblau"), [run("a", name)], max_steps=90)

    whole = make().advance(90)[0]["a"].params
    pieces = make()
    parts = [pieces.advance(n)[0]["a"].params for n in (1, 9, 30, 50)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_mini_batch_races_use_the_batch_of_each_update() -> None:
    from server.problems.nn.problem import NetworkConfig, NetworkProblem

    net = NetworkProblem(NetworkConfig.from_json({"dataset": "moons", "n": 120, "batch_size": 16}))
    init = net.init_params(1)
    race = Race(
        net, [RunConfig("a", "adam", validate_hyper("adam", {"lr": 0.01}), init)], max_steps=30
    )
    got = race.advance(30)[0]["a"].params
    opt = get_optimizer("adam")
    rows = hyper_rows("adam", [validate_hyper("adam", {"lr": 0.01})])
    p = init[None, :]
    state = opt.init(p, rows)
    for k in range(30):  # update k + 1 uses batch k
        upd, state = opt.update(net.grad_batch(p, k), state, p, rows, None)
        p = p + upd
        np.testing.assert_array_equal(got[k], p[0])
