"""The metering forward of the CNN (pooling first, over a whole split) against the layer-by-layer
forward, and the problem's memo of training metrics against a fresh evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from server.problems.nn.cnn import CNN
from server.problems.nn.cnn_eval import pooled_columns, split_logits
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import DeepConfig
from server.problems.nn.digits import load_digits
from server.problems.nn.losses import SoftmaxCrossEntropy

# filters, kernel, stride, padding, pool: odd sizes, a map the pool does not divide, no pool
SHAPES = [
    (8, 3, 1, 1, 2),
    (4, 2, 1, 0, 2),
    (16, 5, 2, 2, 2),
    (3, 3, 1, 0, 1),
    (5, 4, 2, 1, 2),
    (2, 1, 1, 0, 2),
]


@pytest.mark.parametrize(("filters", "kernel", "stride", "padding", "pool"), SHAPES)
def test_pooling_first_equals_the_layer_by_layer_forward(
    filters: int, kernel: int, stride: int, padding: int, pool: int
) -> None:
    images, _ = load_digits()
    x = images[:150]
    cnn = CNN(8, 1, filters, kernel, stride, padding, pool, 10)
    rows = np.stack([cnn.init(seed) for seed in range(3)])
    rows[1] *= 3.0  # larger weights: more windows whose maximum is below zero (ReLU at work)
    expected = cnn.forward(rows, x)
    got = split_logits(cnn, rows, pooled_columns(cnn, x))
    assert got.shape == expected.shape == (3, 150, 10)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_softmax_value_alone_equals_value_and_grad() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 50, 10)) * 20.0
    t = np.eye(10)[rng.integers(0, 10, 50)]
    loss = SoftmaxCrossEntropy()
    np.testing.assert_array_equal(loss.value(z, t), loss.value_and_grad(z, t)[0])


@pytest.mark.parametrize("model", ["cnn", "rnn"])
def test_memoized_training_metrics_equal_a_fresh_problem(model: str) -> None:
    config = (
        DeepConfig(n=300, l2=0.01)
        if model == "cnn"
        else DeepConfig(dataset="adding", model="rnn", n=200, steps=10, l2=0.01)
    )
    problem = DeepProblem(config)
    rows = np.stack([problem.init_params(seed) for seed in range(3)])
    value = problem.value(rows)  # remembered here
    metrics = problem.metrics(rows)
    fresh = DeepProblem(config).metrics(rows[::-1])  # nothing remembered, other order
    np.testing.assert_array_equal(metrics["train_loss"], value)
    for key, values in metrics.items():
        np.testing.assert_allclose(values, fresh[key][::-1], rtol=1e-13, atol=1e-15)
    moved = rows + 1e-3  # other weights: not taken from the memo
    assert not np.allclose(problem.value(moved), value)
    np.testing.assert_allclose(problem.value(moved), DeepProblem(config).value(moved), rtol=1e-13)
