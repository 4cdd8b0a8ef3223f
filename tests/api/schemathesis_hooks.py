"""What schemathesis needs to know beyond JSON Schema: the rules named in ``x-gradscape-rules``.

Loaded by ``schemathesis.toml`` at the repository root (so ``schemathesis run`` from there uses
it) and by ``tests/api/test_schemathesis.py``. Two kinds of knowledge:

- a strategy for the ``gradscape-formula`` string format: formulas of the documented grammar;
- a filter dropping positive cases that break a rule between two fields (``x0 < x1`` of a
  grid's domain, Rprop's ``step_size_min <= step_size_max``, the analysis routes' rules named in
  their ``x-gradscape-rules``), which JSON Schema cannot state;
- a map making positive cases of the analysis routes small (grid side, steps, trials), so a run
  of the fuzzer stays within a minute: any size the schema allows is accepted, and the large
  ones are timed in ``bench/analysis_bench.py``, not here.
"""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # (schemathesis depends on it)
import orjson
import schemathesis
from hypothesis import strategies as st

from server.analysis.requests import MAX_CELL_STEPS, MAX_TUNE_UPDATES, TuneRequest, problem_of
from server.apischema.analysis import BASIN_LINE
from server.apischema.rules import FORMULA_FORMAT
from server.optim.registry import OPTIMIZERS
from server.problems.expression.functions import ARITY, CONSTANTS

_LEAVES = st.one_of(
    st.sampled_from(["x", "y", *CONSTANTS]),
    st.integers(0, 1000).map(str),
    st.floats(0.0, 100.0, allow_nan=False).map(lambda v: f"{v:.6g}"),
)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    call = st.sampled_from(sorted(ARITY)).flatmap(
        lambda name: st.lists(inner, min_size=ARITY[name][0], max_size=ARITY[name][1] or 3).map(
            lambda args: f"{name}({', '.join(args)})"
        )
    )
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^", "**"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    return st.one_of(call, binary, inner.map(lambda a: f"-{a}"))


FORMULAS = st.recursive(_LEAVES, _grow, max_leaves=6)
schemathesis.openapi.format(FORMULA_FORMAT, FORMULAS)


def _ordered(domain: object) -> bool:
    if not isinstance(domain, list) or len(domain) != 2:
        return True
    for pair in domain:
        numbers = isinstance(pair, list) and all(isinstance(v, int | float) for v in pair)
        if numbers and len(pair) == 2 and not pair[0] < pair[1]:
            return False
    return True


def _rprop_steps(body: dict[str, Any], path: str) -> bool:
    hyper = body.get("hyper")
    rprop = body.get("optimizer") == "rprop" or path.startswith("/api/optimizers/rprop/")
    if not rprop or not isinstance(hyper, dict):
        return True
    defaults = {h.name: h.default for h in OPTIMIZERS["rprop"].spec.hyper}
    low, high = (hyper.get(k, defaults[k]) for k in ("step_size_min", "step_size_max"))
    return not (isinstance(low, int | float) and isinstance(high, int | float)) or low <= high


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def _ordered_rates(body: dict[str, Any], path: str) -> bool:
    if path == "/api/sweep" and body.get("lrs") is not None:
        return True  # the list replaces lr_min and lr_max
    defaults = (1e-5, 10.0) if path == "/api/sweep" else (1e-4, 1.0)
    return _number(body, "lr_min", defaults[0]) < _number(body, "lr_max", defaults[1])


def _tune_rules(body: dict[str, Any]) -> bool:
    names = body.get("optimizers", list(OPTIMIZERS))
    if not set(body.get("hyper", {})) <= set(names):
        return False
    trials = int(_number(body, "trials", 16))
    trials = max(trials, 3) if body.get("second") else trials
    starts = 1 if body.get("starts", "current") == "current" else int(_number(body, "n_starts", 4))
    if len(names) * trials * starts * _number(body, "steps", 500) > MAX_TUNE_UPDATES:
        return False
    if body.get("criterion", "steps") == "steps":
        try:
            return problem_of(TuneRequest.model_validate(body)).best is not None
        except Exception:  # a body the server refuses: the case tells schemathesis so
            return True
    return True


BACKPROP_DEFAULT = {"dataset": "moons", "n": 40, "hidden": [3], "activation": "tanh"}


def _backprop_rules(body: dict[str, Any]) -> bool:
    """The rules of ``rules.BACKPROP_RULES`` and of ``sample`` and ``params``, written out."""
    net = body.get("network", BACKPROP_DEFAULT)
    dataset = net.get("dataset", "spiral")
    n = int(net.get("n", 400))
    count = {"spiral": net.get("arms", 2), "blobs": net.get("classes", 3)}.get(dataset, 2)
    task = "regression" if dataset == "sine" else "binary" if count == 2 else "multiclass"
    loss = net.get("loss", "auto")
    if (loss == "bce" and task != "binary") or (loss == "softmax" and task == "regression"):
        return False
    train = n - round(n * float(net.get("test_fraction", 0.2)))
    multi = task == "multiclass" or loss == "softmax"
    outputs = count if multi else 1
    if train < 2 or outputs > 4 or int(body.get("sample", 0)) >= train:
        return False
    sizes = [1 if dataset == "sine" else 2, *net.get("hidden", []), outputs]
    weights = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    params = body.get("params")
    return params is None or len(params) == weights


def _analysis_rules(body: dict[str, Any], path: str) -> bool:
    if path in ("/api/basin", "/api/basin/stream"):
        n = _number(body, "n", 100)
        return n * n * _number(body, "steps", 500) <= MAX_CELL_STEPS
    if path == "/api/sweep":
        return _ordered_rates(body, path)
    if path == "/api/tune":
        return _ordered_rates(body, path) and _tune_rules(body)
    if path == "/api/backprop":
        return _backprop_rules(body)
    return True


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or not meta.generation.mode.is_negative


def _keeps_rules(case: Any) -> bool:
    if not _positive(case):
        return True
    body = case.body if isinstance(case.body, dict) else {}
    path = str(getattr(case.operation, "path", ""))
    return _ordered(body.get("domain")) and _rprop_steps(body, path) and _analysis_rules(body, path)


SMALL: dict[str, dict[str, int]] = {
    "/api/basin": {"n": 12, "steps": 40},
    "/api/basin/stream": {"n": 12, "steps": 40},
    "/api/sweep": {"n": 8, "steps": 40, "lrs": 8},
    "/api/tune": {"trials": 4, "n_starts": 2, "steps": 40},
    "/api/parity": {"steps": 40},  # four libraries and their notes' runs: 40 steps say it all
}
"""The most a positive case of an analysis route (or parity) asks for (a list: its first items)."""


def _small(case: Any) -> Any:
    limits = SMALL.get(str(getattr(case.operation, "path", "")))
    if limits is None or not _positive(case) or not isinstance(case.body, dict):
        return case
    for key, most in limits.items():
        value = case.body.get(key)
        if isinstance(value, list):
            case.body[key] = value[:most]
        elif isinstance(value, int | float) and not isinstance(value, bool) and value > most:
            case.body[key] = most
    for key, most in limits.items():
        if key not in case.body and key != "lrs":
            case.body[key] = most  # the defaults (100 x 100, 500 steps) are larger
    return case


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    """Keep a positive case only if it keeps the rules between fields."""
    return _keeps_rules(case)


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    """Positive cases of the analysis routes made small (see ``SMALL``)."""
    return _small(case)


@schemathesis.hook
def before_add_examples(context: schemathesis.HookContext, examples: list[Any]) -> None:
    """The schema's examples (filled in with defaults) go through the same filter and map."""
    examples[:] = [_small(case) for case in examples if _keeps_rules(case)]


@schemathesis.deserializer("application/x-ndjson")
def ndjson_lines(context: Any, response: Any) -> Any:
    """``POST /api/basin/stream``: every line is checked against the published line schema
    here (schemathesis validates one document), and the head line is handed on to be checked
    again like a JSON answer."""
    lines = [orjson.loads(line) for line in response.content.splitlines() if line.strip()]
    validator = jsonschema.Draft202012Validator(BASIN_LINE)
    for number, line in enumerate(lines):
        errors = sorted(validator.iter_errors(line), key=str)
        if errors:
            raise ValueError(f"NDJSON line {number}: {errors[0].message}")
    if not lines:
        raise ValueError("an empty NDJSON answer")
    return lines[0]
