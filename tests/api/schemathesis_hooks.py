"""What schemathesis needs to know beyond JSON Schema: the rules named in ``x-gradscape-rules``.

Loaded by ``schemathesis.toml`` at the repository root (so ``schemathesis run`` from there uses
it) and by ``tests/api/test_schemathesis.py``. Two kinds of knowledge:

- a strategy for the ``gradscape-formula`` string format: formulas of the documented grammar;
- a filter dropping positive cases that break a rule between two fields (``x0 < x1`` of a
  grid's domain, Rprop's ``step_size_min <= step_size_max``), which JSON Schema cannot state.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st

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


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    """Keep a positive case only if it keeps the rules between fields."""
    meta = getattr(case, "meta", None)
    if meta is not None and meta.generation.mode.is_negative:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    path = str(getattr(case.operation, "path", ""))
    return _ordered(body.get("domain")) and _rprop_steps(body, path)
