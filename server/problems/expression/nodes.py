"""The syntax tree of a formula (our own, small) and its rendering back to text.

The tree keeps what the user wrote (named constants, aliases resolved to one canonical name,
every argument of ``max``/``min``), so ``render`` gives a cleaned-up formula that parses back to
the same tree. Each node keeps ``pos``, the 0-based offset of its token in the user's text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

BinarySymbol = Literal["+", "-", "*", "/", "^"]


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    pos: int


@dataclass(frozen=True, slots=True)
class Constant:
    """A named constant: ``pi`` or ``e``."""

    name: str
    value: float
    pos: int


@dataclass(frozen=True, slots=True)
class Variable:
    """``x`` (index 0) or ``y`` (index 1)."""

    name: str
    pos: int

    @property
    def index(self) -> int:
        return 0 if self.name == "x" else 1


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class BinaryOp:
    op: BinarySymbol
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of an allowed function by its canonical name (``atan`` is stored as ``arctan``)."""

    name: str
    args: tuple[Node, ...]
    pos: int


Node = Number | Constant | Variable | Negate | BinaryOp | Call

# Binding strength when rendering: higher binds tighter.
_SUM, _PRODUCT, _UNARY, _POWER, _ATOM = 1, 2, 3, 4, 5
_BINARY_STRENGTH: dict[str, int] = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "^": _POWER}


def format_number(value: float) -> str:
    """Shortest text that reads back as ``value``: ``2`` rather than ``2.0``."""
    if math.isinf(value):
        return "1e999"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def render(node: Node) -> str:
    """Text for ``node`` with as few parentheses as keep the same tree, ``^`` for powers."""
    return _render(node)[0]


def _render(node: Node) -> tuple[str, int]:
    match node:
        case Number(value=value):
            return format_number(value), _ATOM
        case Constant(name=name) | Variable(name=name):
            return name, _ATOM
        case Call(name=name, args=args):
            return f"{name}({', '.join(render(a) for a in args)})", _ATOM
        case Negate(operand=operand):
            return "-" + _wrap(operand, _POWER), _UNARY
        case BinaryOp(op=op, left=left, right=right):
            strength = _BINARY_STRENGTH[op]
            if op == "^":
                return f"{_wrap(left, _ATOM)}^{_wrap(right, _UNARY)}", strength
            gap = " " if strength == _SUM else ""
            return f"{_wrap(left, strength)}{gap}{op}{gap}{_wrap(right, strength + 1)}", strength
    raise TypeError(f"not a formula node: {node!r}")


def _wrap(node: Node, needed: int) -> str:
    text, strength = _render(node)
    return text if strength >= needed else f"({text})"
