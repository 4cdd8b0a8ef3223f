"""The toy data sets: shapes, labels, determinism, seeds, noise and the split."""

from __future__ import annotations

import numpy as np
import pytest

from server.problems.nn.datasets import DATASETS, InvalidConfig, make_dataset

EXPECTED = {
    "moons": ("binary", 2, 2),
    "circles": ("binary", 2, 2),
    "xor": ("binary", 2, 2),
    "spiral": ("binary", 2, 2),
    "blobs": ("multiclass", 3, 2),
    "sine": ("regression", 0, 1),
}


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_task_and_labels(name: str) -> None:
    data = make_dataset(name, n=101, noise=0.1, seed=0, test_fraction=0.2)
    task, classes, inputs = EXPECTED[name]
    assert (data.task, data.classes, data.inputs) == (task, classes, inputs)
    assert data.x_train.shape == (81, inputs) and data.y_train.shape == (81,)
    assert data.x_test.shape == (20, inputs) and data.y_test.shape == (20,)
    for arr in (data.x_train, data.y_train, data.x_test, data.y_test):
        assert arr.dtype == np.float64 and np.all(np.isfinite(arr))
    if classes:
        labels = np.concatenate([data.y_train, data.y_test])
        assert set(np.unique(labels)) == set(range(classes))
        counts = np.bincount(labels.astype(int))
        assert counts.max() - counts.min() <= 1 or name == "xor"
    low = np.array([b[0] for b in data.bounds])
    high = np.array([b[1] for b in data.bounds])
    x = np.concatenate([data.x_train, data.x_test])
    assert np.all(x > low) and np.all(x < high)


@pytest.mark.parametrize("name", DATASETS)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a = make_dataset(name, n=50, seed=4)
    b = make_dataset(name, n=50, seed=4)
    c = make_dataset(name, n=50, seed=5)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", DATASETS)
def test_noise_moves_the_points(name: str) -> None:
    clean = make_dataset(name, n=80, noise=0.0, seed=1)
    noisy = make_dataset(name, n=80, noise=0.3, seed=1)
    if name == "sine":
        assert np.allclose(clean.y_train, np.sin(clean.x_train[:, 0]))
        assert not np.allclose(noisy.y_train, np.sin(noisy.x_train[:, 0]))
    else:
        assert not np.allclose(clean.x_train, noisy.x_train)


def test_clean_shapes_are_what_they_say() -> None:
    circles = make_dataset("circles", n=200, noise=0.0, test_fraction=0.0)
    radius = np.linalg.norm(circles.x_train, axis=1)
    np.testing.assert_allclose(radius, np.where(circles.y_train == 1.0, 0.5, 1.0))
    xor = make_dataset("xor", n=200, noise=0.0, test_fraction=0.0)
    product = xor.x_train[:, 0] * xor.x_train[:, 1]
    assert np.array_equal(xor.y_train == 1.0, product < 0)


def test_spiral_and_blobs_class_counts() -> None:
    assert make_dataset("spiral", arms=3).classes == 3
    assert make_dataset("spiral", arms=3).task == "multiclass"
    assert make_dataset("blobs", classes=5).classes == 5
    assert make_dataset("blobs", classes=2).task == "binary"


def test_split_partitions_the_points() -> None:
    whole = make_dataset("moons", n=100, test_fraction=0.0, seed=2)
    split = make_dataset("moons", n=100, test_fraction=0.3, seed=2)
    assert whole.x_test.shape == (0, 2) and split.x_test.shape == (30, 2)
    joined = np.concatenate([split.x_train, split.x_test])
    assert np.array_equal(joined, whole.x_train)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "swiss"}, "dataset"),
        ({"n": 2001}, "n"),
        ({"n": 1}, "n"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"test_fraction": 0.95}, "test_fraction"),
        ({"n": 3, "test_fraction": 0.5}, "test_fraction"),
        ({"arms": 7}, "arms"),
        ({"classes": 1}, "classes"),
    ],
)
def test_invalid_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"name": "moons", **kwargs}
    with pytest.raises(InvalidConfig) as info:
        make_dataset(**args)  # type: ignore[arg-type]
    assert info.value.field == field
