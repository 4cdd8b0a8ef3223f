"""The engine's fast path: a whole update of one 2D run as straight-line Python-float code.

A numpy call on a tiny array costs about a microsecond, so one update of one 2D run (optimizer,
surface value and gradient, gradient norm) spends tens of microseconds in call overhead, while
the same arithmetic on Python floats takes a few. Rather than writing each optimizer and surface a
second time, :func:`compile_step` *traces* the optimizer's own ``update`` and the surface's own
closed forms once, with symbolic stand-ins (:class:`Sym`) for the arrays, and turns the recorded
operations into a Python function of floats (``ScalarStep.fn``).

Exactness: ``+ - * /``, square roots and comparisons are correctly rounded in numpy and in Python
alike, and every other ufunc (``power``, ``exp``, ``cos``, ``maximum`` of equal values ...) is
called as the very same numpy ufunc on Python floats, which numpy evaluates with the loop it uses
for arrays. A traced update therefore equals the numpy one bit for bit;
``tests/test_engine_fastpath.py`` checks every optimizer and surface. Where Python raises instead
of returning inf or NaN (a division by zero, the root of a negative number), the caller redoes the
update with numpy.

Only elementwise code traces. A reduction, a Python ``if`` on a traced value, a numpy function
other than a ufunc, ``where`` or ``clip``, or a state field that would change shape make
:func:`compile_step` return None, and the engine keeps numpy for that optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.optim.base import Array, Optimizer, State
from server.optim.registry import hyper_rows
from server.problems.surfaces.spec import Surface

DIM = 2
_SLOT = "@"  # stands for the coordinate number in the name of a per-coordinate value

# (params, loss, grad, gnorm, updates, state) after one update; see ScalarStep.
StepOut = tuple[tuple[float, ...], float, tuple[float, ...], float, tuple[float, ...], tuple[float, ...]]
StepFn = Callable[[Sequence[float], Sequence[float], Sequence[float], Sequence[float]], StepOut]


class Untraceable(Exception):
    """The traced code did something other than elementwise arithmetic."""


@dataclass(frozen=True)
class _Ref:
    """A value as the generated code names it: per coordinate (``elem``) or once per run."""

    name: str
    elem: bool
    boolean: bool

    def text(self, as_float: bool = False) -> str:
        name = f"{self.name}_{_SLOT}" if self.elem else self.name
        return f"float({name})" if as_float and self.boolean else name


@dataclass(frozen=True)
class _Line:
    target: _Ref
    expr: str  # with _SLOT where the coordinate number goes
    uses: tuple[_Ref, ...]


class _Tape:
    """The operations recorded while tracing, in order, and the objects the code refers to."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.namespace: dict[str, Any] = {
            "_sqrt": math.sqrt,
            "_sign": _sign,
            "_clip": np.clip,
            "_nan": math.nan,
            "_inf": math.inf,
        }

    def emit(self, expr: str, uses: Sequence[_Ref], boolean: bool) -> _Ref:
        target = _Ref(f"t{len(self.lines)}", any(u.elem for u in uses), boolean)
        self.lines.append(_Line(target, expr, tuple(uses)))
        return target

    def ufunc(self, ufunc: np.ufunc) -> str:
        name = f"_{ufunc.__name__}"
        self.namespace.setdefault(name, ufunc)
        return name


def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return float(np.sign(x))  # zeros and NaN exactly as numpy has them


def _constant(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        value = value.reshape(()).item()
    if not isinstance(value, int | float | np.integer | np.floating):
        raise Untraceable(f"operand of type {type(value).__name__}")
    x = float(value)
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    return repr(x)


def _is_bool_constant(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


# Binary ufuncs that Python evaluates exactly like numpy on floats.
_OPERATORS = {
    np.add: "+",
    np.subtract: "-",
    np.multiply: "*",
    np.true_divide: "/",
}
_COMPARISONS = {
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
    np.equal: "==",
    np.not_equal: "!=",
}
_UNARY = {
    np.negative: "(-{0})",
    np.positive: "(+{0})",
    np.absolute: "abs({0})",
    np.sqrt: "_sqrt({0})",
    np.square: "({0} * {0})",
    np.reciprocal: "(1.0 / {0})",
    np.sign: "_sign({0})",
}


class Sym:
    """A symbolic float64 array inside a traced function: one value per run, or per coordinate.

    In-place operations (``a += b``, ``out=a``) rebind the symbol, as they overwrite the array.
    """

    __slots__ = ("ref", "tape")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, tape: _Tape, ref: _Ref) -> None:
        self.tape = tape
        self.ref = ref

    # -- numpy protocols -------------------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: Any) -> Sym:
        out = kwargs.pop("out", None)
        if method != "__call__" or kwargs or ufunc.nout != 1:
            raise Untraceable(f"{ufunc.__name__}.{method} with {sorted(kwargs)}")
        target = None
        if out is not None:
            if len(out) != 1 or not isinstance(out[0], Sym):
                raise Untraceable("out= that is not a traced array")
            target = out[0]
        return _apply(self.tape, ufunc, inputs, target)

    def __array_function__(
        self, func: Callable[..., Any], types: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Sym:
        if func is np.where and len(args) == 3 and not kwargs:
            return _where(self.tape, *args)
        if func is np.clip and len(args) == 3 and set(kwargs) <= {"out"}:
            target = kwargs.get("out")
            if target is not None and not isinstance(target, Sym):
                raise Untraceable("out= that is not a traced array")
            refs, texts = _operands(self.tape, args, as_float=True)
            result = Sym(self.tape, self.tape.emit("float(_clip({0}, {1}, {2}))".format(*texts), refs, False))
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

    def __bool__(self) -> bool:
        raise Untraceable("a Python branch on a traced value")

    def __float__(self) -> float:
        raise Untraceable("a traced value converted to a Python number")

    def __getitem__(self, key: object) -> Sym:
        raise Untraceable("indexing a traced array")

    def __iter__(self) -> Sym:
        raise Untraceable("iterating over a traced array")


def _operands(
    tape: _Tape, values: Sequence[object], as_float: bool
) -> tuple[list[_Ref], list[str]]:
    refs: list[_Ref] = []
    texts: list[str] = []
    for v in values:
        if isinstance(v, Sym):
            if v.tape is not tape:
                raise Untraceable("a value from another trace")
            refs.append(v.ref)
            texts.append(v.ref.text(as_float))
        else:
            const = _constant(v)
            texts.append(f"float({const})" if as_float and _is_bool_constant(v) else const)
    return refs, texts


def _is_boolean(value: object) -> bool:
    return value.ref.boolean if isinstance(value, Sym) else _is_bool_constant(value)


def _apply(tape: _Tape, ufunc: np.ufunc, inputs: Sequence[object], out: Sym | None = None) -> Sym:
    if not any(isinstance(v, Sym) for v in inputs):
        raise Untraceable("a ufunc without traced operands")
    booleans = [_is_boolean(v) for v in inputs]
    boolean = False
    if ufunc in _OPERATORS and len(inputs) == 2:
        if all(booleans):  # numpy's bool + bool is a logical or
            raise Untraceable(f"{ufunc.__name__} of two booleans")
        refs, (a, b) = _operands(tape, inputs, as_float=True)
        expr = f"({a} {_OPERATORS[ufunc]} {b})"
    elif ufunc in _COMPARISONS and len(inputs) == 2:
        refs, (a, b) = _operands(tape, inputs, as_float=False)
        expr = f"({a} {_COMPARISONS[ufunc]} {b})"
        boolean = True
    elif ufunc in (np.maximum, np.minimum) and len(inputs) == 2:
        refs, (a, b) = _operands(tape, inputs, as_float=True)
        above = ">" if ufunc is np.maximum else "<"
        # Ties (signed zeros) and NaN go to numpy itself.
        expr = f"({a} if {a} {above} {b} else {b} if {b} {above} {a} else float({tape.ufunc(ufunc)}({a}, {b})))"
    elif ufunc in _UNARY and len(inputs) == 1:
        if booleans[0]:
            raise Untraceable(f"{ufunc.__name__} of a boolean")
        refs, texts = _operands(tape, inputs, as_float=True)
        expr = _UNARY[ufunc].format(*texts)
    elif ufunc.nin == len(inputs) and ufunc.nout == 1:
        refs, texts = _operands(tape, inputs, as_float=True)
        probe = ufunc(*([0.5] * ufunc.nin))
        boolean = np.asarray(probe).dtype.kind == "b"
        convert = "bool" if boolean else "float"
        expr = f"{convert}({tape.ufunc(ufunc)}({', '.join(texts)}))"
    else:
        raise Untraceable(f"ufunc {ufunc.__name__}")
    result = Sym(tape, tape.emit(expr, refs, boolean))
    return _rebind(out, result) if out is not None else result


def _where(tape: _Tape, condition: object, a: object, b: object) -> Sym:
    values = (condition, a, b)
    if not any(isinstance(v, Sym) for v in values):
        raise Untraceable("where without traced operands")
    boolean = _is_boolean(a) and _is_boolean(b)
    refs, texts = _operands(tape, values, as_float=not boolean)
    cond_refs, (cond,) = _operands(tape, (condition,), as_float=False)
    return Sym(tape, tape.emit(f"({texts[1]} if {cond} else {texts[2]})", refs, boolean))


def _rebind(target: Sym, result: Sym) -> Sym:
    """``out=target``: the array keeps its shape and dtype, so must the value written into it."""
    if result.ref.elem and not target.ref.elem:
        raise Untraceable("an in-place operation that would broadcast its output")
    if result.ref.boolean and not target.ref.boolean:
        result = Sym(result.tape, result.tape.emit(f"float({result.ref.text()})", [result.ref], False))
    if target.ref.boolean and not result.ref.boolean:
        raise Untraceable("a float written into a boolean array")
    if target.ref.elem and not result.ref.elem:
        result = Sym(result.tape, result.tape.emit(result.ref.text(), [result.ref, target.ref], False))
    target.ref = result.ref
    return target


@dataclass(frozen=True)
class ScalarStep:
    """One update of one run in Python floats, equal to the engine's numpy update.

    ``fn(params, grad, state, hyper)`` takes the point, the gradient the update uses (noise
    included), the flat state and the hyperparameters in ``hyper_names`` order, and returns
    ``(params, loss, grad, gnorm, updates, state)`` after the update: the new point, the loss and
    gradient there, the gradient's norm, the optimizer's step and the new flat state. The flat
    state lists each field of the optimizer's state NamedTuple in order, one value if the field
    has a value per run (shape ``(N, 1)``), ``DIM`` values if per coordinate (``(N, DIM)``).
    """

    fn: StepFn
    hyper_names: tuple[str, ...]
    state_type: type
    widths: tuple[int, ...]
    source: str

    def flatten(self, state: State) -> list[tuple[float, ...]]:
        """The per-row flat states of a numpy state."""
        columns = np.concatenate([np.asarray(f).reshape(len(f), -1) for f in state], axis=1)
        return [tuple(row) for row in columns.tolist()]

    def unflatten(self, rows: Sequence[Sequence[float]], order: str) -> State:
        """A numpy state holding ``rows`` (flat states, one per run)."""
        table = np.array(rows, dtype=np.float64).reshape(len(rows), sum(self.widths))
        fields = []
        start = 0
        for width in self.widths:
            fields.append(np.array(table[:, start : start + width], order=order))  # type: ignore[call-overload]
            start += width
        return self.state_type(*fields)


_CACHE: dict[tuple[str, str, tuple[tuple[str, float], ...]], ScalarStep | None] = {}
_CACHE_SIZE = 256


def compile_step(optimizer: Optimizer, surface: Surface) -> ScalarStep | None:
    """The fast update of ``optimizer`` on ``surface``, or None where it does not trace."""
    key = (optimizer.spec.name, surface.spec.name, tuple(sorted(surface.params.items())))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = _compile(optimizer, surface)
    return _CACHE[key]


def _compile(optimizer: Optimizer, surface: Surface) -> ScalarStep | None:
    if optimizer.spec.needs_hessian or surface.dim != DIM:
        return None
    hyper_names = tuple(h.name for h in optimizer.spec.hyper)
    probe = optimizer.init(np.zeros((1, DIM)), hyper_rows(optimizer.spec.name, [{}]))
    widths = _widths(probe)
    if widths is None:
        return None
    tape = _Tape()

    def sym(name: str, elem: bool) -> Sym:
        return Sym(tape, _Ref(name, elem, False))

    params, grad = sym("p", True), sym("g", True)
    hyper = {name: sym(f"h{i}", False) for i, name in enumerate(hyper_names)}
    state_in = [sym(f"s{i}", width == DIM) for i, width in enumerate(widths)]
    try:
        updates, state = optimizer.update(grad, type(probe)(*state_in), params, hyper, None)
        point = params + updates
        x, y = (Sym(tape, _Ref(f"{point.ref.name}_{d}", False, False)) for d in range(DIM))
        k = _surface_constants(surface)
        loss = surface.spec.value_form(x, y, k)  # type: ignore[arg-type]
        gx, gy = surface.spec.grad_form(x, y, k)  # type: ignore[arg-type]
        square = _as_sym(tape, gx) * gx
        square += _as_sym(tape, gy) * gy
        gnorm = np.sqrt(square)
        outputs = _outputs(point, loss, (gx, gy), gnorm, updates, state, widths)
    except Exception:  # anything the stand-ins cannot follow: keep numpy for this pair
        return None
    source = _render(tape, widths, len(hyper_names), outputs)
    namespace = dict(tape.namespace)
    exec(compile(source, f"<fast step: {optimizer.spec.name} on {surface!r}>", "exec"), namespace)
    return ScalarStep(namespace["step"], hyper_names, type(probe), widths, source)


def _widths(state: State) -> tuple[int, ...] | None:
    if not (isinstance(state, tuple) and hasattr(state, "_fields")):
        return None
    widths = []
    for f in state:
        if not (isinstance(f, np.ndarray) and f.dtype == np.float64 and f.ndim == 2):
            return None
        if f.shape not in ((1, 1), (1, DIM)):
            return None
        widths.append(f.shape[1])
    return tuple(widths)


def _surface_constants(surface: Surface) -> Mapping[str, float]:
    """The parameter mapping the surface's forms read (bound values and derived constants)."""
    k = dict(surface.params)
    if surface.spec.derive is not None:
        k.update(surface.spec.derive(k))
    return k


def _as_sym(tape: _Tape, value: object) -> Sym:
    if isinstance(value, Sym):
        return value
    return Sym(tape, tape.emit(_constant(value), [], False))


def _outputs(
    point: Sym,
    loss: object,
    grad: tuple[object, object],
    gnorm: Sym,
    updates: Sym,
    state: State,
    widths: tuple[int, ...],
) -> list[list[str]]:
    """Text of each returned value: point, loss, grad, gnorm, updates, flat state."""

    def per_coordinate(value: object) -> list[str]:
        if not isinstance(value, Sym) or value.ref.boolean:
            raise Untraceable("a non-float array result")
        return [value.ref.text().replace(_SLOT, str(d)) for d in range(DIM)]

    def per_run(value: object) -> str:
        if isinstance(value, Sym):
            if value.ref.elem or value.ref.boolean:
                raise Untraceable("a per-run result that is not one float")
            return value.ref.name
        return _constant(value)

    if not isinstance(state, tuple) or len(state) != len(widths):
        raise Untraceable("a state of another shape")
    flat: list[str] = []
    for value, width in zip(state, widths, strict=True):
        if width == DIM:
            flat += per_coordinate(value)
        elif not isinstance(value, Sym) or value.ref.elem:
            raise Untraceable("a per-run state field that became per coordinate")
        else:
            flat.append(per_run(value))
    return [
        per_coordinate(point),
        [per_run(loss)],
        [per_run(g) for g in grad],
        [per_run(gnorm)],
        per_coordinate(updates),
        flat,
    ]


def _render(tape: _Tape, widths: tuple[int, ...], n_hyper: int, outputs: list[list[str]]) -> str:
    """Python source of ``step(p, g, s, h)``, without the lines no output depends on."""
    live = {name for texts in outputs for text in texts for name in _names(text)}
    kept: list[_Line] = []
    for line in reversed(tape.lines):
        names = (
            {f"{line.target.name}_{d}" for d in range(DIM)}
            if line.target.elem
            else {line.target.name}
        )
        if names & live:
            kept.append(line)
            for use in line.uses:
                live |= {f"{use.name}_{d}" for d in range(DIM)} if use.elem else {use.name}
    state_names = [
        name
        for i, width in enumerate(widths)
        for name in ([f"s{i}_{d}" for d in range(DIM)] if width == DIM else [f"s{i}"])
    ]
    body = [
        "def step(p, g, s, h):",
        f"    {', '.join(f'p_{d}' for d in range(DIM))}, = p",
        f"    {', '.join(f'g_{d}' for d in range(DIM))}, = g",
        f"    {', '.join(state_names)}, = s",
    ]
    if n_hyper:
        body.append(f"    {', '.join(f'h{i}' for i in range(n_hyper))}, = h")
    for line in reversed(kept):
        for d in range(DIM) if line.target.elem else (None,):
            slot = "" if d is None else str(d)
            target = f"{line.target.name}_{slot}" if line.target.elem else line.target.name
            body.append(f"    {target} = {line.expr.replace(_SLOT, slot)}")
    point, loss, grad, gnorm, updates, flat = outputs
    body.append(
        f"    return ({', '.join(point)},), {loss[0]}, ({', '.join(grad)},), {gnorm[0]}, "
        f"({', '.join(updates)},), ({', '.join(flat)},)"
    )
    return "\n".join(body) + "\n"


def _names(text: str) -> list[str]:
    return [text] if text.isidentifier() else []


def flat_rows(step: ScalarStep, state: State) -> list[tuple[float, ...]]:
    return step.flatten(state)


def hyper_row(step: ScalarStep, hyper: Mapping[str, Array], row: int) -> list[float]:
    """The hyperparameters of one row as ``step.fn`` takes them."""
    return [float(hyper[name][row, 0]) for name in step.hyper_names]
