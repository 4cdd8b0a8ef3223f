"""Tracing: run elementwise numpy code on symbolic stand-ins and record what it computes.

:class:`Sym` stands for a float64 array of an optimizer's update: a value per run (an ``(N, 1)``
column, such as a hyperparameter) or per coordinate (``(N, D)``). Arithmetic, comparisons, numpy
ufuncs, ``np.where`` and ``np.clip`` on it append a :class:`Line` to a :class:`Tape`; anything
else (a reduction, a Python ``if`` on a value, indexing) raises :class:`Untraceable`.

Values known while tracing (literals, hyperparameters a whole group shares) are computed at once
with the numpy function the arrays would use, so what depends only on them leaves no code, and a
``where`` on them keeps only the branch taken. The same computation asked twice is recorded once.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from server.optim.base import Array

DIM = 2
"""Coordinates of a point: the fast path serves the 2D surfaces."""


class Untraceable(Exception):
    """The traced code did something other than elementwise arithmetic."""


@dataclass(frozen=True)
class Ref:
    """A traced value as the generated code names it: per coordinate (``elem``) or per run."""

    name: str
    elem: bool
    boolean: bool


@dataclass(frozen=True)
class Const:
    """A value known while tracing (a literal, a hyperparameter shared by the group).

    ``array``: the value is an array in the numpy code (a hyperparameter column, or computed
    from one), not a Python scalar, which matters to how numpy evaluates a ufunc on it.
    """

    text: str
    boolean: bool
    value: float
    array: bool = False


Arg = Ref | Const


@dataclass(frozen=True)
class Line:
    """``target = op(*args)``; ``op`` is a key of the renderers' template tables."""

    target: Ref
    op: str
    args: tuple[Arg, ...]


class Tape:
    """The operations recorded while tracing, in order, and the ufuncs the code calls."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.ufuncs: dict[str, Callable[..., Any]] = {}
        self._seen: dict[tuple[str, tuple[Arg, ...], bool], Ref] = {}

    def emit(self, op: str, args: Sequence[Arg], boolean: bool, elem: bool | None = None) -> Sym:
        """A new line, or the earlier line computing the same thing (values never change)."""
        if elem is None:
            elem = any(isinstance(a, Ref) and a.elem for a in args)
        key = (op, tuple(args), elem)
        target = self._seen.get(key)
        if target is None:
            target = Ref(f"t{len(self.lines)}", elem, boolean)
            self.lines.append(Line(target, op, tuple(args)))
            self._seen[key] = target
        return Sym(self, target)

    def ufunc(self, ufunc: np.ufunc) -> str:
        name = f"_{ufunc.__name__}"
        self.ufuncs.setdefault(name, ufunc)
        return name

    def like_arrays(self, ufunc: np.ufunc, args: Sequence[Arg]) -> str:
        """The name of ``ufunc`` called as the numpy code calls it on these operands."""
        kinds = "".join("a" if is_array(a) else "s" for a in args)
        name = f"_{ufunc.__name__}_{kinds}"
        if name not in self.ufuncs:
            self.ufuncs[name] = LikeArrays(ufunc, tuple(k == "a" for k in kinds))
        return name


class LikeArrays:
    """A ufunc that takes the operands the numpy code has as arrays (``arrays[i]``) as arrays.

    numpy evaluates a ufunc other than ``+ - * /``, ``sqrt`` and comparisons with a SIMD loop
    where its operands are contiguous arrays, and with a scalar loop for Python scalars (or
    arrays broadcast from one); on some CPUs (AVX-512) the two differ in the last bit. The
    compiled code holds a run's values as Python floats and a group's shared values as single
    floats, where the numpy code has arrays; this wrapper gives such operands back their array
    form (a 1-element array, or a full column beside columns) so that numpy takes the same loop.
    """

    def __init__(self, ufunc: np.ufunc, arrays: tuple[bool, ...]) -> None:
        self.ufunc, self.arrays = ufunc, arrays
        self.dtype = ufunc(*[np.ones(1)] * ufunc.nin).dtype
        self._local = threading.local()  # 1-element buffers per thread
        self.one = self._one if arrays != (True, True) else self._one_of_two

    def __call__(self, *args: Any, out: Any = None) -> Any:
        for a in args:
            if isinstance(a, np.ndarray):
                full = [
                    np.full(len(a), b, dtype=np.float64)
                    if f and not isinstance(b, np.ndarray)
                    else b
                    for f, b in zip(self.arrays, args, strict=True)
                ]
                return self.ufunc(*full) if out is None else self.ufunc(*full, out=out)
        return self.one(*args)

    def _buffers(self) -> tuple[list[Array | None], Array]:
        try:
            made: tuple[list[Array | None], Array] = self._local.buffers
        except AttributeError:
            made = [np.empty(1) if f else None for f in self.arrays], np.empty(1, dtype=self.dtype)
            self._local.buffers = made
        return made

    def _one(self, *args: Any) -> Any:
        """Every operand one value: the result is one value."""
        buffers, result = self._buffers()
        operands = []
        for buffer, a in zip(buffers, args, strict=True):
            if buffer is None:
                operands.append(a)
            else:
                buffer[0] = a
                operands.append(buffer)
        self.ufunc(*operands, out=result)
        return result.item()

    def _one_of_two(self, a: Any, b: Any) -> Any:
        """``_one`` for the usual case, two operands both arrays in numpy (``x ** t``)."""
        try:
            (x, y), result = self._local.buffers
        except AttributeError:
            (x, y), result = self._buffers()
        x[0], y[0] = a, b
        self.ufunc(x, y, out=result)
        return result.item()


def constant(value: object) -> Const:
    if isinstance(value, bool | np.bool_):
        return Const("True" if value else "False", True, float(value))
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        value = value.reshape(()).item()
        if isinstance(value, bool):
            return constant(value)
    if not isinstance(value, int | float | np.integer | np.floating):
        raise Untraceable(f"operand of type {type(value).__name__}")
    x = float(value)
    if math.isnan(x):
        return Const("_nan", False, x)
    if math.isinf(x):
        return Const("_inf" if x > 0 else "(-_inf)", False, x)
    return Const(repr(x), False, x)


def _known(args: Sequence[Arg]) -> list[Any] | None:
    """The values of ``args`` if all are known while tracing, as numpy would read them."""
    if not all(isinstance(a, Const) for a in args):
        return None
    return [bool(a.value) if a.boolean else a.value for a in args]  # type: ignore[union-attr]


def _fold(
    tape: Tape, function: Callable[..., Any], values: Sequence[Any], args: Sequence[Arg]
) -> Sym:
    """Compute a value known while tracing with the numpy function the arrays would use, on
    arrays where they are arrays."""
    arrays = [is_array(a) for a in args]
    with np.errstate(all="ignore"):
        if any(arrays):
            ones = [np.array([v]) if f else v for f, v in zip(arrays, values, strict=True)]
            result = constant(function(*ones)[0])
            return Sym(tape, Const(result.text, result.boolean, result.value, True))
        return Sym(tape, constant(function(*values)))


ARITHMETIC = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}
COMPARISONS = {
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
    np.equal: "==",
    np.not_equal: "!=",
}
_UNARY = {
    np.negative: "neg",
    np.positive: "pos",
    np.absolute: "abs",
    np.sqrt: "sqrt",
    np.square: "square",
    np.reciprocal: "recip",
    np.sign: "sign",
}
_EXTREMA = {np.maximum: "maximum", np.minimum: "minimum"}


class Sym:
    """A symbolic float64 array inside a traced function: one value per run, or per coordinate.

    In-place operations (``a += b``, ``out=a``) rebind the symbol, as they overwrite the array.
    """

    __slots__ = ("ref", "tape")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, tape: Tape, ref: Arg) -> None:
        self.tape = tape
        self.ref = ref

    # -- numpy protocols -------------------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: Any) -> Sym:
        out = kwargs.pop("out", None)
        if method != "__call__" or kwargs or ufunc.nout != 1:
            raise Untraceable(f"{ufunc.__name__}.{method} with {sorted(kwargs)}")
        return _apply(self.tape, ufunc, inputs, _out(out[0] if out else None))

    def __array_function__(
        self, func: Callable[..., Any], types: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Sym:
        if func is np.where and len(args) == 3 and not kwargs:
            return _where(self.tape, *args)
        if func is np.clip and len(args) == 3 and set(kwargs) <= {"out"}:
            operands = _operands(self.tape, args)
            known = _known(operands)
            if known is not None:
                result = _fold(self.tape, np.clip, known, operands)
            else:
                result = self.tape.emit("clip", operands, False)
            target = _out(kwargs.get("out"))
            return _rebind(target, result) if target is not None else result
        raise Untraceable(f"numpy function {getattr(func, '__name__', func)!r}")

    # -- Python operators ------------------------------------------------------------------

    def __add__(self, other: object) -> Sym:
        return _apply(self.tape, np.add, (self, other))

    def __radd__(self, other: object) -> Sym:
        return _apply(self.tape, np.add, (other, self))

    def __sub__(self, other: object) -> Sym:
        return _apply(self.tape, np.subtract, (self, other))

    def __rsub__(self, other: object) -> Sym:
        return _apply(self.tape, np.subtract, (other, self))

    def __mul__(self, other: object) -> Sym:
        return _apply(self.tape, np.multiply, (self, other))

    def __rmul__(self, other: object) -> Sym:
        return _apply(self.tape, np.multiply, (other, self))

    def __truediv__(self, other: object) -> Sym:
        return _apply(self.tape, np.true_divide, (self, other))

    def __rtruediv__(self, other: object) -> Sym:
        return _apply(self.tape, np.true_divide, (other, self))

    def __pow__(self, other: object) -> Sym:
        return _apply(self.tape, np.power, (self, other))

    def __rpow__(self, other: object) -> Sym:
        return _apply(self.tape, np.power, (other, self))

    def __iadd__(self, other: object) -> Sym:
        return _apply(self.tape, np.add, (self, other), self)

    def __isub__(self, other: object) -> Sym:
        return _apply(self.tape, np.subtract, (self, other), self)

    def __imul__(self, other: object) -> Sym:
        return _apply(self.tape, np.multiply, (self, other), self)

    def __itruediv__(self, other: object) -> Sym:
        return _apply(self.tape, np.true_divide, (self, other), self)

    def __neg__(self) -> Sym:
        return _apply(self.tape, np.negative, (self,))

    def __pos__(self) -> Sym:
        return _apply(self.tape, np.positive, (self,))

    def __abs__(self) -> Sym:
        return _apply(self.tape, np.absolute, (self,))

    def __lt__(self, other: object) -> Sym:
        return _apply(self.tape, np.less, (self, other))

    def __le__(self, other: object) -> Sym:
        return _apply(self.tape, np.less_equal, (self, other))

    def __gt__(self, other: object) -> Sym:
        return _apply(self.tape, np.greater, (self, other))

    def __ge__(self, other: object) -> Sym:
        return _apply(self.tape, np.greater_equal, (self, other))

    def __eq__(self, other: object) -> Sym:  # type: ignore[override]
        return _apply(self.tape, np.equal, (self, other))

    def __ne__(self, other: object) -> Sym:  # type: ignore[override]
        return _apply(self.tape, np.not_equal, (self, other))

    def __bool__(self) -> NoReturn:
        raise Untraceable("a Python branch on a traced value")

    def __float__(self) -> NoReturn:
        raise Untraceable("a traced value converted to a Python number")

    def __getitem__(self, key: object) -> NoReturn:
        raise Untraceable("indexing a traced array")

    def __iter__(self) -> NoReturn:
        raise Untraceable("iterating over a traced array")


def _out(target: object) -> Sym | None:
    if target is not None and not isinstance(target, Sym):
        raise Untraceable("out= that is not a traced array")
    return target


def _operands(tape: Tape, values: Sequence[object]) -> list[Arg]:
    args: list[Arg] = []
    for v in values:
        if isinstance(v, Sym):
            if v.tape is not tape:
                raise Untraceable("a value from another trace")
            args.append(v.ref)
        else:
            args.append(constant(v))
    return args


def _apply(tape: Tape, ufunc: np.ufunc, inputs: Sequence[object], out: Sym | None = None) -> Sym:
    if not any(isinstance(v, Sym) for v in inputs):
        raise Untraceable("a ufunc without traced operands")
    args = _operands(tape, inputs)
    booleans = [a.boolean for a in args]
    known = _known(args)
    if ufunc in ARITHMETIC and len(args) == 2 and all(booleans):
        raise Untraceable(f"{ufunc.__name__} of two booleans")  # numpy's is a logical or
    if ufunc in _UNARY and len(args) == 1 and booleans[0]:
        raise Untraceable(f"{ufunc.__name__} of a boolean")
    if known is not None:
        result = _fold(tape, ufunc, known, args)
    elif (same := _identity(ufunc, args)) is not None:
        result = Sym(tape, same)
    elif ufunc in ARITHMETIC and len(args) == 2:
        result = tape.emit(ARITHMETIC[ufunc], args, False)
    elif ufunc in COMPARISONS and len(args) == 2:
        result = tape.emit(COMPARISONS[ufunc], args, True)
    elif ufunc in _EXTREMA and len(args) == 2:
        tape.ufunc(ufunc)
        result = tape.emit(_EXTREMA[ufunc], args, all(booleans))
    elif ufunc in _UNARY and len(args) == 1:
        result = tape.emit(_UNARY[ufunc], args, False)
    elif ufunc.nin == len(args) and ufunc.nout == 1:
        probe = ufunc(*([0.5] * ufunc.nin))
        boolean = np.asarray(probe).dtype.kind == "b"
        result = tape.emit(f"ufunc:{tape.like_arrays(ufunc, args)}", args, boolean)
    else:
        raise Untraceable(f"ufunc {ufunc.__name__}")
    return _rebind(out, result) if out is not None else result


def _identity(ufunc: np.ufunc, args: Sequence[Arg]) -> Ref | None:
    """The operand of ``x * 1``, ``1 * x``, ``x / 1`` or ``x - 0``: these give x's very bits in
    IEEE arithmetic (signed zeros, infinities and NaN included), so they need no code."""
    if len(args) != 2 or any(a.boolean for a in args):
        return None
    a, b = args
    if ufunc is np.multiply:
        if isinstance(a, Ref) and isinstance(b, Const) and b.value == 1.0:
            return a
        if isinstance(b, Ref) and isinstance(a, Const) and a.value == 1.0:
            return b
    if isinstance(a, Ref) and isinstance(b, Const):
        if ufunc is np.true_divide and b.value == 1.0:
            return a
        if ufunc is np.subtract and b.value == 0.0 and math.copysign(1.0, b.value) > 0:
            return a
    return None


def _where(tape: Tape, condition: object, a: object, b: object) -> Sym:
    args = _operands(tape, (condition, a, b))
    boolean = args[1].boolean and args[2].boolean
    known = _known(args)
    if known is not None:
        return _fold(tape, np.where, known, args)
    if isinstance(args[0], Const):  # the same branch for every run: no select at all
        chosen = args[1] if args[0].value else args[2]
        if chosen.boolean and not boolean:
            return _float(tape, chosen)
        return Sym(tape, chosen)
    return tape.emit("where", args, boolean)


def _float(tape: Tape, arg: Arg) -> Sym:
    if isinstance(arg, Const):
        return Sym(tape, constant(float(arg.value)))
    return tape.emit("float", [arg], False)


def _rebind(target: Sym, result: Sym) -> Sym:
    """``out=target``: the array keeps its shape and dtype, so must the value written into it."""
    if is_elem(result.ref) and not is_elem(target.ref):
        raise Untraceable("an in-place operation that would broadcast its output")
    if target.ref.boolean and not result.ref.boolean:
        raise Untraceable("a float written into a boolean array")
    if result.ref.boolean and not target.ref.boolean:
        result = _float(result.tape, result.ref)
    target.ref = result.ref
    return target


def is_elem(arg: Arg) -> bool:
    return isinstance(arg, Ref) and arg.elem


def is_array(arg: Arg) -> bool:
    """Whether the numpy code has this value as an array (else as a Python scalar)."""
    return isinstance(arg, Ref) or arg.array
