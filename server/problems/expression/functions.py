"""The names a formula may use: variables, constants and functions with their arity."""

from __future__ import annotations

import math

from server.problems.expression.rules import UNARY_RULES

VARIABLES: tuple[str, ...] = ("x", "y")
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
ALIASES: dict[str, str] = {"atan": "arctan", "ln": "log"}

# name -> (fewest, most) arguments; None = any number.
ARITY: dict[str, tuple[int, int | None]] = {
    **{name: (1, 1) for name in UNARY_RULES},
    "hypot": (2, 2),
    "max": (2, None),
    "min": (2, None),
}
FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(ARITY))


def canonical(name: str) -> str:
    """The name under which a function is stored: ``atan`` -> ``arctan``, ``ln`` -> ``log``."""
    return ALIASES.get(name, name)


def allowed_functions() -> str:
    """``abs, arctan (atan), cos, ...`` for error messages."""
    also = {target: alias for alias, target in ALIASES.items()}
    return ", ".join(f"{n} ({also[n]})" if n in also else n for n in FUNCTION_NAMES)


def arity_problem(name: str, given: int) -> str | None:
    """A message if ``name`` cannot take ``given`` arguments, else ``None``."""
    fewest, most = ARITY[name]
    if most is None:
        return None if given >= fewest else f"{name} needs at least {fewest} arguments, got {given}"
    if fewest <= given <= most:
        return None
    noun = "argument" if fewest == 1 else "arguments"
    return f"expected {fewest} {noun} for {name}, got {given}"
