"""Checking user-supplied hyperparameter values against an optimizer's spec.

Values must be real numbers (booleans only where the spec says bool), finite, of magnitude at most
``SANITY_LIMIT``, and inside the mathematical domain of their name (``hyper.DOMAINS``, torch's
wording). The spec's ``min``/``max`` are slider ranges and are not enforced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real

import numpy as np

from server.optim.base import HyperSpec, InvalidHyperparameter, OptimizerSpec
from server.optim.hyper import DOMAINS

SANITY_LIMIT = 1e6
"""Largest magnitude accepted for any hyperparameter: beyond it a value is a typo, not a setting."""

CrossCheck = Callable[[Mapping[str, float]], None]


def _number(name: str, value: object) -> float:
    if isinstance(value, bool | np.bool_):
        raise InvalidHyperparameter(name, f"{name} must be a number, not a boolean ({value})")
    if not isinstance(value, Real):
        raise InvalidHyperparameter(
            name, f"{name} must be a number, not {type(value).__name__} ({value!r})"
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidHyperparameter(name, f"{name} must be a finite number, not {number}")
    if abs(number) > SANITY_LIMIT:
        raise InvalidHyperparameter(
            name, f"{name} = {number} is out of range: magnitude must be at most {SANITY_LIMIT:g}"
        )
    return number


def _flag(name: str, value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return 1.0 if value else 0.0
    if isinstance(value, Real) and not isinstance(value, bool) and float(value) in (0.0, 1.0):
        return float(value)
    raise InvalidHyperparameter(name, f"{name} must be true or false, not {value!r}")


def check_value(spec: HyperSpec, value: object) -> float:
    """One value as a float (bools as 0.0 / 1.0), or ``InvalidHyperparameter`` naming it."""
    if spec.kind == "bool":
        return _flag(spec.name, value)
    if spec.kind == "choice":
        if value not in spec.choices:
            raise InvalidHyperparameter(
                spec.name, f"{spec.name} must be one of: {', '.join(spec.choices)}; not {value!r}"
            )
        return float(spec.choices.index(str(value)))
    number = _number(spec.name, value)
    if spec.kind == "int" and not (isinstance(value, Integral) or number.is_integer()):
        raise InvalidHyperparameter(spec.name, f"{spec.name} must be a whole number, not {number}")
    domain = DOMAINS.get(spec.name)
    if domain is not None and not domain.contains(number):
        raise InvalidHyperparameter(spec.name, domain.message.format(value=number))
    return number


def check_values(
    spec: OptimizerSpec, values: Mapping[str, object], cross: CrossCheck | None = None
) -> dict[str, float]:
    """Every hyperparameter of ``spec`` as a float: given values checked, the rest defaulted."""
    known = {h.name: h for h in spec.hyper}
    for key in values:
        if key not in known:
            raise InvalidHyperparameter(
                str(key),
                f"Unknown hyperparameter {key!r} for {spec.name}; valid: {', '.join(known)}",
            )
    out = {name: check_value(h, values.get(name, h.default)) for name, h in known.items()}
    if cross is not None:
        cross(out)
    return out
