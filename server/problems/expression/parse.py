"""Text -> our syntax tree, through Python's ``ast`` under an allow-list. Nothing is ever evaluated.

Steps, each bounded before the next: length cap on the raw text; characters checked (ASCII only, so
``ast`` column offsets are character offsets; a few typographic operators are mapped, whitespace
becomes spaces); bracket nesting checked on the raw text (Python's own parser gives up past 200
levels); ``^`` rewritten to ``**`` keeping a map back to the user's offsets; ``ast.parse``; node count
and depth measured iteratively on the ``ast`` tree; only then the (recursive, now shallow) conversion
that accepts numbers, ``x``, ``y``, ``pi``, ``e``, ``+ - * / **``, unary signs and calls of the
allowed functions. Numbers become floats. Every refusal is an ``ExpressionError`` with the offset of
the token at fault.
"""

from __future__ import annotations

import ast
import math
import warnings

from server.problems.expression.errors import ExpressionError
from server.problems.expression.functions import (
    ARITY,
    CONSTANTS,
    VARIABLES,
    allowed_functions,
    arity_problem,
    canonical,
)
from server.problems.expression.nodes import (
    BinaryOp,
    BinarySymbol,
    Call,
    Constant,
    Negate,
    Node,
    Number,
    Variable,
)

MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 50

_TYPOGRAPHIC = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/"}
_OPERATORS: dict[type[ast.operator], BinarySymbol] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "^",
}
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are",
    ast.IfExp: "'if ... else' is",
    ast.Dict: "dictionaries are",
    ast.Set: "sets are",
    ast.List: "lists are",
    ast.Tuple: "commas between formulas are",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "comprehensions are",
    ast.Await: "'await' is",
    ast.Yield: "'yield' is",
    ast.YieldFrom: "'yield' is",
    ast.Compare: "comparisons (<, ==, ...) are",
    ast.BoolOp: "'and' and 'or' are",
    ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are",
    ast.Subscript: "indexing with [...] is",
    ast.Starred: "starred expressions (*...) are",
    ast.Slice: "slices are",
    ast.NamedExpr: "assignments (:=) are",
}
_USE_NAMES = "use x and y (constants: pi, e)"


def parse(text: str) -> Node:
    """Parse a formula in ``x`` and ``y``; raises ``ExpressionError`` and nothing else."""
    if not isinstance(text, str):
        raise ExpressionError("the formula must be text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"formula too long ({len(text)} characters; the limit is {MAX_LENGTH})"
        )
    cleaned = _clean_characters(text)
    if not cleaned.strip():
        raise ExpressionError("the formula is empty: type something like x^2 + y^2")
    _check_bracket_depth(cleaned)
    source, origin = _expand_carets(cleaned)
    body = _python_parse(source, origin)
    _check_size(body, origin)
    return _Converter(source, origin).convert(body)


def _clean_characters(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        ch = _TYPOGRAPHIC.get(ch, ch)
        if ch in "\t\n\r\f\v":
            ch = " "
        if not (" " <= ch <= "~"):
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            raise ExpressionError(f"character {shown} at {i} is not allowed", i)
        out.append(ch)
    return "".join(out)


def _check_bracket_depth(text: str) -> None:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"formula nested too deeply (more than {MAX_DEPTH} brackets at {i})", i
                )
        elif ch in ")]}":
            depth -= 1


def _expand_carets(text: str) -> tuple[str, list[int]]:
    """``^`` -> ``**`` (a character-for-character rewrite: no number or name contains ``^``).

    Returns the new text and, for each of its offsets (plus the end), the offset in ``text``.
    Leading spaces are dropped, as Python would read them as an indent.
    """
    start = len(text) - len(text.lstrip(" "))
    pieces: list[str] = []
    origin: list[int] = []
    for i in range(start, len(text)):
        piece = "**" if text[i] == "^" else text[i]
        pieces.append(piece)
        origin.extend([i] * len(piece))
    origin.append(len(text))
    return "".join(pieces), origin


def _at(origin: list[int], column: int | None) -> int | None:
    if column is None:
        return None
    return origin[min(max(column, 0), len(origin) - 1)]


def _python_parse(source: str, origin: list[int]) -> ast.expr:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval").body
    except SyntaxError as error:
        offset = error.offset - 1 if error.offset else None
        position = _at(origin, offset) if (error.lineno or 1) == 1 else None
        message = error.msg or "invalid syntax"
        if position is None:
            position, message = _ended_early(source, origin, message)
        if "decimal literal" in message:
            message += " (write 2*x, not 2x)"
        where = f" at {position}" if position is not None else ""
        raise ExpressionError(f"cannot read the formula{where}: {message}", position) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("formula nested too deeply or too complex to read") from None


def _ended_early(source: str, origin: list[int], message: str) -> tuple[int | None, str]:
    """Python names no place when the text stops where more must follow (``x+``, ``2*``): point
    at the operator left hanging, in the user's text."""
    end = len(source.rstrip())
    if end == 0:
        return None, message
    last = end - 1
    if source[last] == "*" and source[last - 1 : last] == "*":
        last -= 1
    if source[last] not in "+-*/%(,":
        return None, message
    shown = source[last:end]
    if shown == "**" and origin[last] == origin[last + 1]:
        shown = "^"
    return _at(origin, last), f"{shown!r} needs something after it"


def _check_size(body: ast.expr, origin: list[int]) -> None:
    """Count the expression nodes and measure their depth without recursion."""
    count = 0
    too_deep: ast.expr | None = None
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"formula has too many parts (the limit is {MAX_NODES})")
            if depth > MAX_DEPTH and too_deep is None:
                too_deep = node
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if too_deep is not None:
        position = _at(origin, too_deep.col_offset)
        raise ExpressionError(f"formula nested too deeply (more than {MAX_DEPTH} levels)", position)


class _Converter:
    """``ast`` -> our nodes; refuses anything not on the allow-list with a located message."""

    def __init__(self, source: str, origin: list[int]) -> None:
        self.source = source
        self.origin = origin

    def at(self, column: int) -> int:
        position = _at(self.origin, column)
        assert position is not None
        return position

    def refuse(self, message: str, column: int) -> ExpressionError:
        return ExpressionError(message, self.at(column))

    def convert(self, node: ast.expr) -> Node:
        pos = self.at(node.col_offset)
        if isinstance(node, ast.Constant):
            return self.number(node, pos)
        if isinstance(node, ast.Name):
            return self.name(node, pos)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(f"operator '{symbol}' at {pos} is not allowed", pos)
            operand = self.convert(node.operand)
            return Negate(operand, pos) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node, pos)
        if isinstance(node, ast.Attribute):
            dot = self.at(self.skip_closers(node.value.end_col_offset, node.end_col_offset))
            raise ExpressionError(f"attribute access ('.{node.attr}') at {dot} is not allowed", dot)
        what = _REFUSED_NODES.get(type(node), f"'{type(node).__name__}' is")
        raise ExpressionError(f"{what} not allowed (at {pos})", pos)

    def number(self, node: ast.Constant, pos: int) -> Node:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise ExpressionError(f"'{value}' at {pos} is not allowed", pos)
        if isinstance(value, complex):
            raise ExpressionError(f"imaginary numbers like 1j are not allowed (at {pos})", pos)
        if isinstance(value, str | bytes):
            raise ExpressionError(f"text in quotes is not allowed (at {pos})", pos)
        if isinstance(value, int):
            try:
                return Number(float(value), pos)
            except OverflowError:
                return Number(math.inf, pos)
        if isinstance(value, float):
            return Number(value, pos)
        raise ExpressionError(f"this constant is not allowed (at {pos})", pos)

    def name(self, node: ast.Name, pos: int) -> Node:
        name = node.id
        if name in VARIABLES:
            return Variable(name, pos)
        if name in CONSTANTS:
            return Constant(name, CONSTANTS[name], pos)
        if canonical(name) in ARITY:
            raise ExpressionError(f"{name} at {pos} is a function: write {name}(...)", pos)
        raise ExpressionError(f"unknown name '{name}' at {pos}: {_USE_NAMES}", pos)

    def binary(self, node: ast.BinOp) -> Node:
        pos = self.operator_position(node)
        op = _OPERATORS.get(type(node.op))
        if op is None:
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(
                f"operator '{symbol}' at {pos} is not allowed; use + - * / ^", pos
            )
        return BinaryOp(op, self.convert(node.left), self.convert(node.right), pos)

    def operator_position(self, node: ast.BinOp) -> int:
        """Offset of the operator symbol: the first non-space, non-')' after the left operand."""
        return self.at(self.skip_closers(node.left.end_col_offset, node.right.col_offset))

    def skip_closers(self, column: int | None, end: int | None) -> int:
        """The first offset from ``column`` that is not a space or ``)``, before ``end``."""
        column = column or 0
        end = len(self.source) if end is None else end
        while column < end and self.source[column] in " )":
            column += 1
        return column

    def call(self, node: ast.Call, pos: int) -> Node:
        func = node.func
        if not isinstance(func, ast.Name):
            raise ExpressionError(
                f"only named functions can be called (at {pos}); write a*(b) for a product", pos
            )
        name = canonical(func.id)
        if name not in ARITY:
            if func.id in VARIABLES or func.id in CONSTANTS:
                raise ExpressionError(
                    f"'{func.id}' at {pos} is not a function; write {func.id}*(...) for a product",
                    pos,
                )
            raise ExpressionError(
                f"function '{func.id}' at {pos} is not allowed; allowed: {allowed_functions()}",
                pos,
            )
        if node.keywords:
            raise self.refuse("keyword arguments are not allowed", node.keywords[0].col_offset)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse("starred arguments (*...) are not allowed", arg.col_offset)
        problem = arity_problem(name, len(node.args))
        if problem is not None:
            raise ExpressionError(problem, pos)
        return Call(name, tuple(self.convert(arg) for arg in node.args), pos)
