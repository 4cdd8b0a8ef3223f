"""JSON Schemas built from the registries: the values the server accepts, name by name.

Everything here is derived from the same tables the validators read (optimizer specs and
``DOMAINS``, surface ``ParamSpec`` ranges, schedule specs), so the schema cannot drift from the
checks. Rules JSON Schema cannot express are listed under ``x-gradscape-rules``.
"""

from __future__ import annotations

import math
from typing import Any

from server.inside.backprop import MAX_HIDDEN_LAYERS, MAX_OUTPUTS
from server.inside.backprop import MAX_UNITS as MAX_DRAWN_UNITS
from server.optim.base import HyperSpec, OptimizerSpec
from server.optim.hyper import DOMAINS
from server.optim.registry import OPTIMIZERS
from server.optim.schedules import SCHEDULES
from server.optim.validation import SANITY_LIMIT
from server.problems.expression import MAX_LENGTH
from server.problems.expression.functions import CONSTANTS, FUNCTION_NAMES
from server.problems.nn.datasets import DATASETS
from server.problems.nn.layers import ACTIVATIONS
from server.problems.nn.problem import LIMITS as NETWORK_LIMITS
from server.problems.nn.problem import LOSS_CHOICES
from server.problems.nn.regression import LIMITS as REGRESSION_LIMITS
from server.problems.nn.regression import MODELS
from server.problems.surfaces import SURFACES
from server.problems.surfaces.spec import ParamSpec

JsonSchema = dict[str, Any]

FORMULA_FORMAT = "gradscape-formula"
"""The string format of a typed formula (its grammar is in the description)."""

BOOL_LIKE: JsonSchema = {"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}
TRUE_LIKE: JsonSchema = {"enum": [True, 1]}
FALSE_LIKE: JsonSchema = {"enum": [False, 0]}


def formula() -> JsonSchema:
    """A formula in x and y, parsed on the server (never evaluated as code)."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_LENGTH,
        "pattern": r"\S",
        "format": FORMULA_FORMAT,
        "description": (
            "A formula in x and y: numbers, x, y, the constants "
            f"{', '.join(CONSTANTS)}, + - * / ^ (or **), unary minus, parentheses and calls to "
            f"{', '.join(FUNCTION_NAMES)}. A formula that does not parse is answered 422 with "
            "`field: expression` and the character `position`."
        ),
        "examples": ["sin(x)*cos(y) + 0.1*(x^2 + y^2)"],
    }


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> JsonSchema:
    out: JsonSchema = {}
    if math.isfinite(lo):
        out["exclusiveMinimum" if lo_open else "minimum"] = lo
    if math.isfinite(hi):
        out["exclusiveMaximum" if hi_open else "maximum"] = hi
    return out


def hyper_value(spec: HyperSpec) -> JsonSchema:
    """One hyperparameter: its type, and its domain clipped to the sanity limit."""
    if spec.kind == "bool":
        return {**BOOL_LIKE, "description": spec.doc, "default": spec.default}
    if spec.kind == "choice":
        return {"enum": list(spec.choices), "description": spec.doc, "default": spec.default}
    domain = DOMAINS.get(spec.name)
    lo, hi, lo_open, hi_open = -SANITY_LIMIT, SANITY_LIMIT, False, False
    if domain is not None:
        if domain.lo > lo or (domain.lo == lo and domain.lo_open):
            lo, lo_open = domain.lo, domain.lo_open
        if domain.hi < hi or (domain.hi == hi and domain.hi_open):
            hi, hi_open = domain.hi, domain.hi_open
    kind = "integer" if spec.kind == "int" else "number"
    return {
        "type": kind,
        **_interval(lo, hi, lo_open, hi_open),
        "default": spec.default,
        "description": spec.doc,
    }


def _nesterov_rule(spec: OptimizerSpec, props: dict[str, JsonSchema]) -> JsonSchema:
    """torch's rule for SGD: Nesterov momentum needs a momentum above 0 and no dampening."""
    defaults = {h.name: h.default for h in spec.hyper}
    off: JsonSchema = {"properties": {"nesterov": FALSE_LIKE}}
    momentum = {k: v for k, v in props["momentum"].items() if k != "minimum"}
    on: JsonSchema = {
        "properties": {
            "nesterov": TRUE_LIKE,
            "momentum": {**momentum, "exclusiveMinimum": 0.0},
            "dampening": {"const": 0},
        }
    }
    if defaults["nesterov"]:
        off["required"] = ["nesterov"]
    else:
        on["required"] = ["nesterov"]
    if not float(defaults["momentum"]) > 0.0:
        on.setdefault("required", []).append("momentum")
    return {"anyOf": [off, on]}


def _rprop_props(props: dict[str, JsonSchema]) -> None:
    """torch's rule ``0 < eta_minus < 1 < eta_plus``, as bounds on each."""
    props["eta_minus"] = {
        **props["eta_minus"],
        **_interval(0.0, 1.0, lo_open=True, hi_open=True),
    }
    eta_plus = {k: v for k, v in props["eta_plus"].items() if k != "minimum"}
    props["eta_plus"] = {**eta_plus, "exclusiveMinimum": 1.0}


CROSS_RULES: dict[str, list[str]] = {
    "rprop": ["step_size_min <= step_size_max (after defaults are filled in)"],
}
"""Rules between two hyperparameters that JSON Schema cannot state, per optimizer."""


def hyper_object(spec: OptimizerSpec) -> JsonSchema:
    """The ``hyper`` object of one optimizer: its names only, each in its domain."""
    props = {h.name: hyper_value(h) for h in spec.hyper}
    if spec.name == "rprop":
        _rprop_props(props)
    out: JsonSchema = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "description": f"Hyperparameters of {spec.title} (torch.optim's names; omitted ones "
        "take their defaults).",
    }
    if {"nesterov", "momentum", "dampening"} <= props.keys():
        out["allOf"] = [_nesterov_rule(spec, props)]
    if spec.name in CROSS_RULES:
        out["x-gradscape-rules"] = CROSS_RULES[spec.name]
    return out


def optimizer_variants(default: str | None, names: list[str] | None = None) -> JsonSchema:
    """``oneOf``: for each optimizer (of ``names``), ``optimizer`` equal to its name and its
    ``hyper``."""
    variants = []
    for name, opt in OPTIMIZERS.items():
        if names is not None and name not in names:
            continue
        variant: JsonSchema = {
            "title": opt.spec.title,
            "properties": {"optimizer": {"const": name}, "hyper": hyper_object(opt.spec)},
        }
        if name != default:
            variant["required"] = ["optimizer"]
        variants.append(variant)
    return {"oneOf": variants}


def optimizer_list() -> JsonSchema:
    """A list of optimizer names, each at most once."""
    return {"items": {"enum": list(OPTIMIZERS)}, "uniqueItems": True}


def hyper_per_optimizer() -> JsonSchema:
    """``{optimizer name: its hyper object}`` (each optimizer's own names and domains)."""
    return {
        "type": "object",
        "properties": {name: hyper_object(opt.spec) for name, opt in OPTIMIZERS.items()},
        "additionalProperties": False,
    }


def schedule_variant(name: str) -> JsonSchema:
    spec = SCHEDULES[name]
    props: dict[str, JsonSchema] = {"name": {"const": name}}
    for p in spec.params:
        value: JsonSchema
        if p.kind == "bool":
            value = {"type": "boolean"}
        elif p.kind == "choice":
            value = {"enum": list(p.choices)}
        else:
            value = {"type": "integer" if p.kind == "int" else "number"}
            value |= _interval(
                p.min if p.min is not None else -math.inf,
                p.max if p.max is not None else math.inf,
                lo_open=False,
                hi_open=False,
            )
        props[p.name] = {
            "anyOf": [value, {"type": "null"}],
            "default": p.default,
            "description": p.doc,
        }
    return {
        "type": "object",
        "title": spec.title,
        "description": f"{spec.summary} (null parameters take their defaults)",
        "properties": props,
        "required": ["name"],
        "additionalProperties": False,
    }


def schedule() -> JsonSchema:
    """A learning-rate schedule, or null for a constant rate."""
    return {
        "anyOf": [
            {"type": "null"},
            {"oneOf": [schedule_variant(name) for name in SCHEDULES]},
        ],
        "default": None,
        "description": "A learning-rate schedule (`GET /api/schedules`), or null for none.",
    }


def surface_param(spec: ParamSpec) -> JsonSchema:
    return {
        "type": "number",
        "minimum": spec.min,
        "maximum": spec.max,
        "default": spec.default,
        "description": spec.doc,
    }


def plain_surfaces() -> list[str]:
    """Surfaces without parameters."""
    return [name for name, spec in SURFACES.items() if not spec.params]


def problem_variants(params_key: str) -> JsonSchema:
    """``oneOf``: a surface (with exactly its own parameters) or a formula, never both."""
    no_formula = {"expression": {"type": "null"}}
    variants: list[JsonSchema] = [
        {
            "title": "surface without parameters",
            "properties": {
                "surface": {"enum": plain_surfaces()},
                params_key: {"type": "object", "maxProperties": 0},
                **no_formula,
            },
            "required": ["surface"],
        }
    ]
    for name, spec in SURFACES.items():
        if not spec.params:
            continue
        variants.append(
            {
                "title": spec.title,
                "properties": {
                    "surface": {"const": name},
                    params_key: {
                        "type": "object",
                        "properties": {p.name: surface_param(p) for p in spec.params},
                        "additionalProperties": False,
                    },
                    **no_formula,
                },
                "required": ["surface"],
            }
        )
    variants.append(
        {
            "title": "formula",
            "properties": {"expression": formula(), "surface": {"type": "null"}},
            "required": ["expression"],
        }
    )
    return {"oneOf": variants}


def first_order() -> list[str]:
    """The optimizers that need no Hessian (the only ones a network can use)."""
    return [name for name, opt in OPTIMIZERS.items() if not opt.spec.needs_hessian]


BACKPROP_RULES = [
    "loss bce needs a two-class data set; softmax a classification one (not sine)",
    "the training part, n - round(n * test_fraction), holds at least 2 points",
    f"at most {MAX_OUTPUTS} outputs (spiral's arms, blobs' classes)",
]


def backprop_network() -> JsonSchema:
    """The small MLP of the Backprop view: its data set, layers and loss."""
    props: JsonSchema = {
        "model": {"enum": ["mlp"], "default": "mlp"},
        "dataset": {"enum": list(DATASETS)},
        "hidden": {
            "type": "array",
            "maxItems": MAX_HIDDEN_LAYERS,
            "items": {"type": "integer", "minimum": 1, "maximum": MAX_DRAWN_UNITS},
            "description": "Hidden layer widths (required: the training default is too large "
            "to draw).",
        },
        "activation": {"enum": list(ACTIVATIONS)},
        "loss": {"enum": list(LOSS_CHOICES)},
        "torch": {"type": "boolean"},
    }
    for key, (lo, hi) in NETWORK_LIMITS.items():
        kind = "integer" if isinstance(lo, int) else "number"
        props[key] = {"type": kind, "minimum": lo, "maximum": hi}
    props["l2"] = {
        "type": "number",
        "minimum": 0,
        "maximum": 0,
        "description": "Always 0 here: the view shows the loss without L2.",
    }
    props["batch_size"] = {"anyOf": [props["batch_size"], {"type": "null"}]}
    return {
        "type": "object",
        "properties": props,
        "required": ["hidden"],
        "additionalProperties": False,
        "x-gradscape-rules": BACKPROP_RULES,
    }


def regression() -> JsonSchema:
    """The data set of a 2-parameter regression (every field optional)."""
    props: dict[str, JsonSchema] = {"model": {"enum": list(MODELS), "default": "linear"}}
    for key, (lo, hi, whole) in REGRESSION_LIMITS.items():
        props[key] = {"type": "integer" if whole else "number", "minimum": lo, "maximum": hi}
    return {"type": "object", "properties": props, "additionalProperties": False}
