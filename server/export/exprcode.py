"""A custom formula written out as straight-line code, numpy or torch.

The formula's own evaluator (:mod:`server.problems.expression.evaluate` and its derivative
rules) is run once on stand-ins for ``x`` and ``y`` that write down each operation they undergo
(``t3 = np.sin(t2)``), in the order the evaluator performs them. The numpy lines therefore
compute what the live run computed, operation for operation: the value, the forward-mode
gradient and, for Newton's method, the Hessian. The torch lines compute the value only, for
autograd to differentiate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from server.export.pysource import Unexportable, float_text
from server.fastpath.trace import ARITHMETIC, COMPARISONS
from server.problems.expression import Expression
from server.problems.expression.evaluate import ConstOp

Dialect = Literal["numpy", "torch"]

_TORCH_NAMES = {
    "absolute": "abs",
    "arctan": "atan",
    "negative": "neg",
    "power": "pow",
    **{n: n for n in ("sin", "cos", "tan", "exp", "log", "log2", "log10", "sqrt", "tanh")},
    **{n: n for n in ("sinh", "cosh", "sign", "logaddexp", "hypot", "maximum", "minimum")},
}


@dataclass
class Tape:
    """The lines written so far: ``(target, op, args)``."""

    lines: list[tuple[str, str, tuple[Any, ...]]] = field(default_factory=list)

    def emit(self, op: str, args: Sequence[object]) -> Code:
        for a in args:
            if not isinstance(a, Code | float | int | bool | np.floating | np.bool_):
                raise Unexportable(f"the formula's code used a {type(a).__name__}")
        target = f"t{len(self.lines)}"
        self.lines.append((target, op, tuple(args)))
        return Code(self, target)


class Code:
    """A float64 array of the evaluator, standing for the line that computed it."""

    __array_priority__ = 1000

    def __init__(self, tape: Tape, name: str) -> None:
        self.tape, self.name = tape, name

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kw: Any) -> Code:
        if method != "__call__" or kw:
            raise Unexportable(f"{ufunc.__name__}.{method} in the formula's code")
        if ufunc in ARITHMETIC:
            return self.tape.emit(ARITHMETIC[ufunc], inputs)
        if ufunc in COMPARISONS:
            return self.tape.emit(COMPARISONS[ufunc], inputs)
        if ufunc is np.power:
            return self.tape.emit("**", inputs)
        if ufunc is np.negative:
            return self.tape.emit("neg", inputs)
        return self.tape.emit(f"ufunc:{ufunc.__name__}", inputs)

    def __array_function__(
        self, func: Callable[..., Any], types: object, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> Code:
        if func is np.where and len(args) == 3 and not kw:
            return self.tape.emit("where", args)
        raise Unexportable(f"numpy function {getattr(func, '__name__', func)!r} in a formula")

    def astype(self, dtype: object) -> Code:
        return self.tape.emit("float", (self,))

    def _bin(self, op: str, a: object, b: object) -> Code:
        return self.tape.emit(op, (a, b))

    def __add__(self, o: object) -> Code:
        return self._bin("+", self, o)

    def __radd__(self, o: object) -> Code:
        return self._bin("+", o, self)

    def __sub__(self, o: object) -> Code:
        return self._bin("-", self, o)

    def __rsub__(self, o: object) -> Code:
        return self._bin("-", o, self)

    def __mul__(self, o: object) -> Code:
        return self._bin("*", self, o)

    def __rmul__(self, o: object) -> Code:
        return self._bin("*", o, self)

    def __truediv__(self, o: object) -> Code:
        return self._bin("/", self, o)

    def __rtruediv__(self, o: object) -> Code:
        return self._bin("/", o, self)

    def __pow__(self, o: object) -> Code:
        return self._bin("**", self, o)

    def __rpow__(self, o: object) -> Code:
        return self._bin("**", o, self)

    def __neg__(self) -> Code:
        return self.tape.emit("neg", (self,))

    def __lt__(self, o: object) -> Code:
        return self._bin("<", self, o)

    def __le__(self, o: object) -> Code:
        return self._bin("<=", self, o)

    def __gt__(self, o: object) -> Code:
        return self._bin(">", self, o)

    def __ge__(self, o: object) -> Code:
        return self._bin(">=", self, o)

    def __bool__(self) -> bool:
        raise Unexportable("a Python branch on a value of the formula")


def _arg(a: object, dialect: Dialect, in_call: bool) -> str:
    if isinstance(a, Code):
        return a.name
    if isinstance(a, bool | np.bool_):
        return repr(bool(a))
    text = float_text(float(a))  # type: ignore[arg-type]
    if dialect == "torch" and in_call:
        return f"_t({text})"
    return f"({text})" if text.startswith("-") else text


def render(tape: Tape, dialect: Dialect) -> list[str]:
    """The tape as assignments in ``dialect``."""
    lib = "np" if dialect == "numpy" else "torch"
    out = []
    for target, op, args in tape.lines:
        call = op.startswith("ufunc:") or op in ("where", "float")
        a = [_arg(x, dialect, call) for x in args]
        if op == "neg":
            text = f"-{a[0]}"
        elif op == "float":
            text = f"{a[0]}.astype(np.float64)" if dialect == "numpy" else f"{a[0]}.double()"
        elif op == "where":
            text = f"{lib}.where({', '.join(a)})"
        elif call:
            name = op[len("ufunc:") :]
            if dialect == "torch":
                if name not in _TORCH_NAMES:
                    raise Unexportable(f"torch has no counterpart of numpy's {name}")
                name = _TORCH_NAMES[name]
            text = f"{lib}.{name}({', '.join(a)})"
        elif op == "**" and dialect == "torch" and not isinstance(args[0], Code):
            text = f"torch.pow({_arg(args[0], dialect, True)}, {a[1]})"
        else:
            text = f"({a[0]} {op} {a[1]})" if op in COMPARISONS.values() else f"{a[0]} {op} {a[1]}"
        out.append(f"{target} = {text}")
    return out


@dataclass(frozen=True)
class FormulaCode:
    """The body lines of functions of ``x`` and ``y`` (1-D arrays over points), and what they
    return: names or float literals (``None``: an exact zero)."""

    lines: list[str]
    results: list[str | None]


def _result(v: object, dialect: Dialect) -> str | None:
    if v is None:
        return None
    return _arg(v, dialect, False)


def formula_code(expr: Expression, what: str, dialect: Dialect = "numpy") -> FormulaCode:
    """``what`` = ``value`` (one result), ``grad`` (value, gx, gy) or ``hessian`` (value, hxx,
    hxy, hyy) of ``expr`` as the engine evaluates them."""
    op = expr._op
    if isinstance(op, ConstOp):
        raise Unexportable("the formula is a constant: it has no x or y to descend along")
    tape = Tape()
    x, y = Code(tape, "x"), Code(tape, "y")
    with np.errstate(all="ignore"):
        if what == "value":
            results: list[object] = [op.value(x, y)]  # type: ignore[arg-type]
        elif what == "grad":
            jet = op.jet(x, y, 1)  # type: ignore[arg-type]
            results = [jet.v, jet.gx, jet.gy]
        else:
            jet = op.jet(x, y, 2)  # type: ignore[arg-type]
            results = [jet.v, jet.hxx, jet.hxy, jet.hyy]
    return FormulaCode(render(tape, dialect), [_result(r, dialect) for r in results])
