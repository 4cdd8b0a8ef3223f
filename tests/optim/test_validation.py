"""Hyperparameter validation, the registry and the published specs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from server.optim.base import InvalidHyperparameter
from server.optim.hyper import DOMAINS
from server.optim.registry import OPTIMIZERS, get_optimizer, hyper_rows, validate_hyper

GUIDE_NAMES = [
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "amsgrad",
    "adamax",
    "nadam",
    "radam",
    "rprop",
    "lion",
    "newton",
]


def rejected(name: str, values: dict[str, object]) -> InvalidHyperparameter:
    with pytest.raises(InvalidHyperparameter) as info:
        validate_hyper(name, values)
    return info.value


def test_registry_lists_the_guide_names_in_order() -> None:
    assert list(OPTIMIZERS) == GUIDE_NAMES
    assert all(get_optimizer(name).spec.name == name for name in GUIDE_NAMES)


def test_unknown_optimizer() -> None:
    with pytest.raises(InvalidHyperparameter) as info:
        get_optimizer("foo")
    assert info.value.field == "optimizer"
    assert info.value.message.startswith("Unknown optimizer 'foo'; choose one of: sgd, momentum")
    assert "newton" in info.value.message


@pytest.mark.parametrize("name", GUIDE_NAMES)
def test_negative_learning_rate(name: str) -> None:
    error = rejected(name, {"lr": -1.0})
    assert (error.field, error.message) == ("lr", "Invalid learning rate: -1.0")
    assert str(error) == "Invalid learning rate: -1.0"


def test_unknown_key_names_the_valid_ones() -> None:
    error = rejected("adam", {"learning_rate": 0.1})
    assert error.field == "learning_rate"
    assert "'learning_rate'" in error.message
    assert "lr, beta1, beta2, eps, weight_decay, amsgrad" in error.message


def test_torch_tuple_names_are_not_accepted() -> None:
    assert rejected("adam", {"betas": [0.9, 0.999]}).field == "betas"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values(bad: float) -> None:
    error = rejected("adam", {"lr": bad})
    assert error.field == "lr"
    assert "finite" in error.message


@pytest.mark.parametrize("bad", [True, False, "0.1", None, [0.1], {"v": 1}, np.True_])
def test_non_numbers_where_a_float_is_wanted(bad: object) -> None:
    error = rejected("sgd", {"lr": bad})
    assert error.field == "lr"
    assert "must be a number" in error.message


def test_absurd_magnitudes_are_refused() -> None:
    error = rejected("sgd", {"weight_decay": 1e7})
    assert error.field == "weight_decay"
    assert "at most 1e+06" in error.message
    assert validate_hyper("sgd", {"weight_decay": 1e6})["weight_decay"] == 1e6


@pytest.mark.parametrize(("given", "expected"), [(True, 1.0), (False, 0.0), (1, 1.0), (0.0, 0.0)])
def test_bools_become_floats(given: object, expected: float) -> None:
    assert validate_hyper("adam", {"amsgrad": given})["amsgrad"] == expected


@pytest.mark.parametrize("bad", ["yes", "true", 0.5, 2, None])
def test_bools_reject_other_values(bad: object) -> None:
    error = rejected("adam", {"amsgrad": bad})
    assert error.field == "amsgrad"
    assert "true or false" in error.message


def test_defaults_filled_and_ints_accepted() -> None:
    assert validate_hyper("adamw", {"lr": 1}) == {
        "lr": 1.0,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.01,
        "amsgrad": 0.0,
    }
    values = validate_hyper("nesterov", {})
    assert (values["momentum"], values["nesterov"]) == (0.9, 1.0)
    assert all(type(v) is float for v in values.values())


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("nesterov", {"momentum": 0.0}),
        ("sgd", {"nesterov": True}),
        ("nesterov", {"dampening": 0.1}),
        ("momentum", {"nesterov": True, "dampening": 0.5}),
    ],
)
def test_nesterov_requires_momentum_and_zero_dampening(
    name: str, values: dict[str, object]
) -> None:
    error = rejected(name, values)
    assert error.field == "nesterov"
    assert error.message == "Nesterov momentum requires a momentum and zero dampening"


@pytest.mark.parametrize(
    ("name", "values", "field", "message"),
    [
        ("adam", {"beta1": 1.0}, "beta1", "Invalid beta parameter at index 0: 1.0"),
        ("nadam", {"beta2": -0.1}, "beta2", "Invalid beta parameter at index 1: -0.1"),
        ("adam", {"eps": -1e-8}, "eps", "Invalid epsilon value: -1e-08"),
        ("sgd", {"momentum": -0.5}, "momentum", "Invalid momentum value: -0.5"),
        ("rmsprop", {"alpha": -0.5}, "alpha", "Invalid alpha value: -0.5"),
        ("rmsprop", {"alpha": 1.5}, "alpha", "Invalid alpha value: 1.5"),
        ("adadelta", {"rho": 1.1}, "rho", "Invalid rho value: 1.1"),
        ("adagrad", {"lr_decay": -1.0}, "lr_decay", "Invalid lr_decay value: -1.0"),
        ("adamw", {"weight_decay": -0.1}, "weight_decay", "Invalid weight_decay value: -0.1"),
        ("nadam", {"momentum_decay": -1.0}, "momentum_decay", "Invalid momentum_decay value: -1.0"),
        ("rprop", {"eta_minus": 1.5}, "eta_minus", "Invalid eta values: 1.5, 1.2"),
        ("rprop", {"eta_plus": 0.9}, "eta_plus", "Invalid eta values: 0.5, 0.9"),
        ("newton", {"min_curvature": 0.0}, "min_curvature", "Invalid min_curvature value: 0.0"),
    ],
)
def test_domain_errors_name_field_and_value(
    name: str, values: dict[str, object], field: str, message: str
) -> None:
    error = rejected(name, values)
    assert (error.field, error.message) == (field, message)


def test_rprop_step_size_order() -> None:
    error = rejected("rprop", {"step_size_min": 2.0, "step_size_max": 1.0})
    assert error.field == "step_size_min"
    assert "2.0" in error.message and "1.0" in error.message


@pytest.mark.parametrize(
    ("cls", "kwargs", "name", "values"),
    [
        ("SGD", {"lr": -1.0}, "sgd", {"lr": -1.0}),
        ("SGD", {"momentum": -0.5}, "sgd", {"momentum": -0.5}),
        ("SGD", {"nesterov": True}, "sgd", {"nesterov": True}),
        ("Adam", {"betas": (1.0, 0.999)}, "adam", {"beta1": 1.0}),
        ("Adam", {"betas": (0.9, 1.5)}, "adam", {"beta2": 1.5}),
        (
            "Adagrad",
            {"initial_accumulator_value": -1.0},
            "adagrad",
            {"initial_accumulator_value": -1.0},
        ),
        ("RMSprop", {"alpha": -0.5}, "rmsprop", {"alpha": -0.5}),
        ("Adadelta", {"rho": 1.5}, "adadelta", {"rho": 1.5}),
        ("NAdam", {"momentum_decay": -1.0}, "nadam", {"momentum_decay": -1.0}),
        ("Rprop", {"etas": (0.5, 0.9)}, "rprop", {"eta_plus": 0.9}),
    ],
)
def test_messages_are_torchs_own(
    cls: str, kwargs: dict[str, object], name: str, values: dict[str, object]
) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)([torch.zeros(1, requires_grad=True)], **kwargs)
    assert rejected(name, values).message == str(theirs.value)


def test_hyper_rows_stacks_columns() -> None:
    cols = hyper_rows("rmsprop", [{"lr": 0.1}, {"centered": True, "momentum": 0.5}, {}])
    assert list(cols) == ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"]
    assert all(c.shape == (3, 1) and c.dtype == np.float64 for c in cols.values())
    np.testing.assert_array_equal(cols["lr"][:, 0], [0.1, 0.01, 0.01])
    np.testing.assert_array_equal(cols["centered"][:, 0], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(cols["momentum"][:, 0], [0.0, 0.5, 0.0])
    assert hyper_rows("adam", [])["lr"].shape == (0, 1)


def test_hyper_rows_validates_every_row() -> None:
    with pytest.raises(InvalidHyperparameter) as info:
        hyper_rows("adam", [{"lr": 0.1}, {"lr": -1.0}])
    assert info.value.field == "lr"


def test_validated_values_round_trip() -> None:
    for name in OPTIMIZERS:
        values = validate_hyper(name, {})
        assert validate_hyper(name, values) == values


@pytest.mark.parametrize("name", GUIDE_NAMES)
def test_specs_are_complete(name: str) -> None:
    spec = OPTIMIZERS[name].spec
    assert spec.title and spec.summary and spec.rule and spec.reference
    assert json.loads(json.dumps(spec.to_json()))["name"] == name
    for h in spec.hyper:
        assert h.doc and h.scale in ("linear", "log")
        if h.kind == "bool":
            assert isinstance(h.default, bool)
            continue
        assert h.kind == "float"
        etas = name == "rprop" and h.name in ("eta_minus", "eta_plus")  # checked as a pair
        assert h.name in DOMAINS or etas, "every number has a domain check"
        assert isinstance(h.default, float) and h.min is not None and h.max is not None
        assert h.min < h.max
        assert h.min <= h.default <= h.max or h.default == 0.0, h.name
        if h.scale == "log":
            assert h.min > 0.0
