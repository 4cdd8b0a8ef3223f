"""Digits and sequence data, the CNN/RNN problems, and their torch twins after a real run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.optim.registry import get_optimizer, hyper_rows
from server.problems.base import Array
from server.problems.nn.datasets import InvalidConfig
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import DeepConfig
from server.problems.nn.digits import load_digits, split
from server.problems.nn.sequences import make_sequences


def test_committed_digits_equal_scikit_learns_copy() -> None:
    sklearn = pytest.importorskip("sklearn.datasets")
    bunch = sklearn.load_digits()
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8, 1) and labels.shape == (1797,)
    np.testing.assert_array_equal(images[..., 0] * 16.0, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)


def test_digits_split_is_seeded_disjoint_and_complete() -> None:
    images, labels = load_digits()
    a = split(images, labels, 0.2, seed=4)
    b = split(images, labels, 0.2, seed=4)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert a.x_test.shape[0] == 359 and a.x_train.shape[0] == 1438
    assert set(np.unique(a.y_test)) == set(range(10))
    c = split(images, labels, 0.2, seed=5)
    assert not np.array_equal(a.y_test, c.y_test)


def test_adding_problem_marks_one_step_in_each_half() -> None:
    x, y = make_sequences("adding", 300, 20, seed=1)
    assert x.shape == (300, 20, 2) and y.shape == (300, 1)
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :10].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1))
    again, _ = make_sequences("adding", 300, 20, seed=1)
    np.testing.assert_array_equal(x, again)


def test_sine_sequence_targets_are_the_clean_wave_ahead() -> None:
    x, y = make_sequences("sine_seq", 50, 30, seed=2, noise=0.0, ahead=3)
    np.testing.assert_allclose(x[:, 3:, 0], y[:, :-3], atol=1e-12)
    noisy, _ = make_sequences("sine_seq", 50, 30, seed=2, noise=0.2, ahead=3)
    assert 0.1 < np.std(noisy[:, :, 0] - x[:, :, 0]) < 0.3


def _train(problem: DeepProblem, name: str, hyper: dict[str, float], steps: int) -> Array:
    opt = get_optimizer(name)
    h = hyper_rows(name, [hyper])
    params = problem.init_params(0)[None]
    state = opt.init(params, h)
    for k in range(1, steps + 1):
        updates, state = opt.update(problem.grad_batch(params, k - 1), state, params, h, None)
        params = params + updates
    return params[0]


TWIN_CASES: list[tuple[dict[str, Any], str, dict[str, float]]] = [
    ({"model": "cnn", "n": 400, "filters": 4, "batch_size": 50, "l2": 0.01}, "adam", {"lr": 0.01}),
    ({"model": "cnn", "n": 300, "kernel": 5, "padding": 2, "pool": 1}, "nesterov", {"lr": 0.05}),
    (
        {"model": "rnn", "dataset": "adding", "n": 200, "hidden": 6, "steps": 15, "clip": 0.3},
        "rmsprop",
        {"lr": 0.01},
    ),
    (
        {"model": "rnn", "dataset": "sine_seq", "n": 200, "hidden": 5, "steps": 10},
        "adamw",
        {"lr": 0.02},
    ),
]


@pytest.mark.parametrize(("network", "name", "hyper"), TWIN_CASES)
def test_torch_twin_weights_equal_ours_after_a_run(
    network: dict[str, Any], name: str, hyper: dict[str, float]
) -> None:
    pytest.importorskip("torch")
    from server.problems.nn.deep_twin import DeepTwin

    problem = DeepProblem(DeepConfig.from_json(network))
    ours = _train(problem, name, hyper, 40)
    twin = DeepTwin(problem, name, hyper, problem.init_params(0))
    for _ in range(40):
        twin.update()
    assert np.max(np.abs(twin.params() - ours)) < 1e-8
    assert twin.loss() == pytest.approx(float(problem.value(ours[None])[0]), abs=1e-10)


def test_clip_changes_apply_from_their_update_on() -> None:
    problem = DeepProblem(DeepConfig.from_json({"model": "rnn", "n": 100, "hidden": 4, "steps": 6}))
    problem.set_clip(0.5, 5)
    problem.set_clip(None, 9)
    assert [problem.clip_for(u) for u in (1, 4, 5, 8, 9, 30)] == [None, None, 0.5, 0.5, None, None]
    p = problem.init_params(0)[None] * 20
    assert np.linalg.norm(problem.grad_batch(p, 3)) > 0.5
    problem.set_clip(0.5, 1)
    assert np.linalg.norm(problem.grad_batch(p, 3)) == pytest.approx(0.5, rel=1e-5)


def test_cnn_gradient_matches_finite_differences() -> None:
    problem = DeepProblem(DeepConfig.from_json({"model": "cnn", "n": 100, "filters": 2, "l2": 0.1}))
    p = problem.init_params(3)
    g = problem.grad(p[None])[0]
    rng = np.random.default_rng(0)
    for i in rng.choice(problem.dim, 8, replace=False):
        e = np.zeros(problem.dim)
        e[i] = 1e-6
        numeric = (problem.value((p + e)[None]) - problem.value((p - e)[None]))[0] / 2e-6
        assert g[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_metrics_and_views_have_the_page_shapes() -> None:
    cnn = DeepProblem(DeepConfig.from_json({"model": "cnn", "n": 200}))
    rows = np.stack([cnn.init_params(0), cnn.init_params(1)])
    metrics = cnn.metrics(rows)
    assert set(metrics) == {"train_loss", "test_loss", "train_acc", "test_acc"}
    assert metrics["train_loss"].shape == (2,)
    np.testing.assert_allclose(metrics["train_loss"], cnn.value(rows))
    view = cnn.views(rows)[1]
    assert view["filters"].shape == (8, 3, 3) and view["confusion"].sum() == 40
    rnn = DeepProblem(
        DeepConfig.from_json({"model": "rnn", "dataset": "sine_seq", "n": 100, "steps": 9})
    )
    view = rnn.views(rnn.init_params(0)[None])[0]
    assert view["grad_norms"].shape == (9,) and view["prediction"].shape == (9,)


@pytest.mark.parametrize(
    ("network", "field"),
    [
        ({"model": "cnn", "kernel": 9}, "network.kernel"),
        ({"model": "cnn", "padding": 0, "kernel": 5, "stride": 2, "pool": 2, "n": 100}, None),
        ({"model": "rnn", "clip": 0}, "network.clip"),
        ({"model": "rnn", "hidden": [8, 8]}, "network.hidden"),
        ({"model": "rnn", "batch_size": 0}, "network.batch_size"),
        ({"model": "rnn", "filters": 3}, "network.filters"),
    ],
)
def test_config_errors_name_their_field(network: dict[str, Any], field: str | None) -> None:
    if field is None:
        DeepProblem(DeepConfig.from_json(network))  # a valid, unusual shape builds
        return
    with pytest.raises(InvalidConfig) as error:
        DeepConfig.from_json(network)
    assert error.value.field == field
