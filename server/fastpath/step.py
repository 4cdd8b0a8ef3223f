"""Compiling one update of an optimizer on a surface into the fast path's two functions."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from server.fastpath.loop import render_loop
from server.fastpath.render import HELPERS, QUIET, Outputs, render
from server.fastpath.trace import DIM, Arg, Ref, Sym, Tape, Untraceable, constant, is_elem
from server.optim.base import Array, Optimizer, State
from server.optim.validation import check_values
from server.problems.surfaces.spec import Surface

# (params, loss, grad, gnorm, updates, state) after one update; see ScalarStep.
StepOut = tuple[
    tuple[float, ...], float, tuple[float, ...], float, tuple[float, ...], tuple[float, ...]
]
StepFn = Callable[..., StepOut]
LoopOut = tuple[int, str, tuple[float, ...], tuple[float, ...], tuple[float, ...]]
"""(updates done, why it returned, point, gradient, flat state)."""
LoopFn = Callable[..., LoopOut]
Order = Literal["C", "F"]


class ScalarStep:
    """One update of a group's runs, equal to the engine's numpy update, in three renderings,
    each rendered and compiled the first time it is used.

    ``fn(params, grad, state, hyper)`` advances one run in Python floats. It takes the point, the
    gradient the update uses (noise included), the flat state and the hyperparameters in
    ``hyper_names`` order, and returns ``(params, loss, grad, gnorm, updates, state)`` after the
    update: the new point, the loss and gradient there, the gradient's norm, the optimizer's step
    and the new flat state. The flat state lists each field of the optimizer's state NamedTuple
    in order: one value if the field has one per run (shape ``(N, 1)``), ``DIM`` values if it has
    one per coordinate (``(N, DIM)``).

    ``columns_fn(params, grad, state, hyper, w, o)`` is the same code over numpy columns: every
    value is an ``(N,)`` array or, when it is equal for all N runs, a single float (a
    hyperparameter shared by the group, the step count), which lets a ``where`` on it pick a
    branch instead of copying arrays. Its temporaries go to the ``buffers`` arrays ``w``; it
    writes the new point's coordinates, the loss and the gradient norm into ``o[0:DIM + 2]`` and
    every returned column into ``o[DIM + 2:]`` (``carried`` of them), so a step allocates
    nothing. The caller must not pass as ``o`` memory the inputs live in.

    ``loop_fn(params, grad, state, hyper, n, put, gtol, stol)`` is ``fn`` applied up to ``n`` times
    in one call (see :func:`server.fastpath.loop.render_loop`), for long runs alone.
    """

    fn: StepFn
    columns_fn: StepFn
    loop_fn: LoopFn
    quiet: bool
    """True when ``fn`` calls no numpy function that may warn (so needs no ``errstate``)."""
    buffers: int
    """How many ``(N,)`` work buffers ``columns_fn`` takes as its argument ``w``."""
    carried: int
    """How many ``(N,)`` result buffers follow the recorded ones (point, loss, norm) in ``o``."""
    in_place: list[str | None]
    """Per result buffer, the input (``g_0``, ``s1_0`` ...) whose own array may be passed as it
    (the value is then updated in place; the caller owns that array), else None."""

    def __init__(
        self,
        name: str,
        hyper_names: tuple[str, ...],
        state_type: type,
        widths: tuple[int, ...],
        tape: Tape,
        outputs: Outputs,
    ) -> None:
        self.name, self.hyper_names, self.state_type, self.widths = (
            name,
            hyper_names,
            state_type,
            widths,
        )
        self._tape, self._outputs = tape, outputs
        self._sources: dict[str, str] = {}

    def __getattr__(self, attr: str) -> Any:
        """The renderings, made on first use (two threads may both make one: same code)."""
        if attr in ("fn", "quiet"):
            code = self._render("fast step", scalar=True)
            self.__dict__.setdefault("quiet", set(re.findall(r"\b_\w+", code)) <= QUIET)
            self.__dict__.setdefault("fn", self._exec(code, "fast step", "step"))
        elif attr in ("columns_fn", "buffers", "carried", "in_place"):
            code = self._render("column step", scalar=False)
            self.__dict__.setdefault("columns_fn", self._exec(code, "column step", "step"))
        elif attr == "loop_fn":
            tape, n_hyper = self._tape, len(self.hyper_names)
            code = render_loop(tape, self.widths, n_hyper, self._outputs)
            self._sources["fast loop"] = code
            self.__dict__.setdefault("loop_fn", self._exec(code, "fast loop", "run"))
        else:
            raise AttributeError(attr)
        return self.__dict__[attr]

    def _render(self, kind: str, scalar: bool) -> str:
        n_hyper = len(self.hyper_names)
        code, buffers, carried, in_place = render(
            self._tape, self.widths, n_hyper, self._outputs, scalar
        )
        if not scalar:
            self.__dict__.setdefault("buffers", buffers)
            self.__dict__.setdefault("carried", carried)
            self.__dict__.setdefault("in_place", in_place)
        self._sources[kind] = code
        return code

    def _exec(self, code: str, kind: str, function: str) -> Any:
        namespace: dict[str, Any] = {**HELPERS, **self._tape.ufuncs}
        exec(compile(code, f"<{kind}: {self.name}>", "exec"), namespace)
        return namespace[function]

    @property
    def source(self) -> str:
        """The Python source of the three renderings."""
        for attr in ("fn", "columns_fn", "loop_fn"):
            getattr(self, attr)
        return "\n".join(self._sources.values())

    def flatten(self, state: State) -> list[tuple[float, ...]]:
        """The per-row flat states of a numpy state."""
        columns = np.concatenate([np.asarray(f).reshape(len(f), -1) for f in state], axis=1)
        return [tuple(row) for row in columns.tolist()]

    def unflatten(self, rows: Sequence[Sequence[float]], order: Order) -> State:
        """A numpy state holding ``rows`` (flat states, one per run)."""
        table = np.array(rows, dtype=np.float64).reshape(len(rows), sum(self.widths))
        return self._fields(table, order)

    def columns(self, state: State) -> list[Column]:
        """The flat state of a numpy state as columns (a float where all rows agree)."""
        return [uniform(f[:, d]) for f in state for d in range(f.shape[1])]

    def from_columns(self, columns: Sequence[Column], n: int, order: Order) -> State:
        """A numpy state of ``n`` rows holding the flat ``columns``."""
        table = np.empty((n, len(columns)), order="F")
        for j, column in enumerate(columns):
            table[:, j] = column
        return self._fields(table, order)

    def _fields(self, table: Array, order: Order) -> State:
        fields = []
        start = 0
        for width in self.widths:
            fields.append(np.array(table[:, start : start + width], order=order))
            start += width
        return self.state_type(*fields)


Column = Any  # an (N,) float64 array, or a float shared by all N rows


def uniform(column: Array) -> Column:
    """``column`` as one float if all its values are equal, else a contiguous copy."""
    first = column[0]
    if first == first and bool((column == first).all()):
        return float(first)
    return np.array(column)


def hyper_row(step: ScalarStep, hyper: Mapping[str, Array], row: int) -> list[float]:
    """The hyperparameters of one row as ``step.fn`` takes them."""
    return [float(hyper[name][row, 0]) for name in step.hyper_names]


def hyper_columns(step: ScalarStep, hyper: Mapping[str, Array]) -> list[Column]:
    """The hyperparameters of a group as ``step.columns_fn`` takes them."""
    return [uniform(hyper[name][:, 0]) for name in step.hyper_names]


_Key = tuple[str, str, tuple[tuple[str, float], ...], tuple[tuple[str, float], ...], bool]
_CACHE: dict[_Key, ScalarStep | None] = {}
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def compile_step(
    optimizer: Optimizer,
    surface: Surface,
    known: Mapping[str, float] | None = None,
    lean: bool = False,
) -> ScalarStep | None:
    """The fast update of ``optimizer`` on ``surface``, or None where it does not trace.

    ``known`` fixes some hyperparameters (the code then ignores their entries of ``hyper``):
    whatever depends only on them is computed once, here, and a ``where`` on them disappears.

    ``lean`` is for callers that use the update's point, loss and gradient, and of the gradient
    norm only whether it is finite: the norm returned is then its square (finite exactly when
    the norm is), and a state field that nothing but its own next value reads (AMSGrad's
    running maximum with ``amsgrad`` known to be off) is passed through unchanged, so its value
    in the returned state is stale.
    """
    known = dict(known or {})
    key = (
        optimizer.spec.name,
        surface.spec.name,
        tuple(sorted(surface.params.items())),
        tuple(sorted(known.items())),
        lean,
    )
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    compiled = _compile(optimizer, surface, known, lean)  # about 2 ms
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = compiled
    return compiled


def _compile(
    optimizer: Optimizer, surface: Surface, known: Mapping[str, float], lean: bool
) -> ScalarStep | None:
    if optimizer.spec.needs_hessian or surface.dim != DIM:
        return None
    hyper_names = tuple(h.name for h in optimizer.spec.hyper)
    defaults = check_values(optimizer.spec, {})
    probe = optimizer.init(
        np.zeros((1, DIM)), {name: np.array([[value]]) for name, value in defaults.items()}
    )
    widths = _widths(probe)
    if widths is None:
        return None
    tape = Tape()

    def sym(name: str, elem: bool) -> Sym:
        return Sym(tape, Ref(name, elem, False))

    params, grad = sym("p", True), sym("g", True)
    hyper = {
        name: Sym(tape, dataclasses.replace(constant(known[name]), array=True))
        if name in known
        else sym(f"h{i}", False)
        for i, name in enumerate(hyper_names)
    }
    state_in = [sym(f"s{i}", width == DIM) for i, width in enumerate(widths)]
    update: Callable[..., tuple[Any, Any]] = optimizer.update  # fed stand-ins, not arrays
    try:
        updates, state = update(grad, type(probe)(*state_in), params, hyper, None)
        point = params + updates
        if not isinstance(point.ref, Ref):
            raise Untraceable("a point known while tracing")
        x, y = (Sym(tape, Ref(f"{point.ref.name}_{d}", False, False)) for d in range(DIM))
        k = _surface_constants(surface)
        value_form: Callable[..., Any] = surface.spec.value_form
        grad_form: Callable[..., Any] = surface.spec.grad_form
        loss = value_form(x, y, k)
        gx, gy = grad_form(x, y, k)
        square = _as_sym(tape, gx) * gx
        square += _as_sym(tape, gy) * gy
        gnorm = square if lean else np.sqrt(square)
        if lean:
            state = _pass_unread(tape, [point, loss, gx, gy, gnorm, updates], state_in, state)
        outputs = _outputs(point, loss, (gx, gy), gnorm, updates, state, widths)
    except Exception:  # anything the stand-ins cannot follow: keep numpy for this pair
        return None
    name = f"{optimizer.spec.name} on {surface!r}"
    return ScalarStep(name, hyper_names, type(probe), widths, tape, outputs)


def _pass_unread(tape: Tape, used: list[object], before: list[Sym], after: State) -> State:
    """``after`` with each field that no used value reads (through the other fields read)
    replaced by its value ``before`` the update."""
    producers = {line.target.name: line for line in tape.lines}

    def reads(values: list[object]) -> set[str]:
        names: set[str] = set()
        todo = [v.ref for v in values if isinstance(v, Sym) and isinstance(v.ref, Ref)]
        while todo:
            ref = todo.pop()
            if ref.name in names:
                continue
            names.add(ref.name)
            line = producers.get(ref.name)
            if line is not None:
                todo += [a for a in line.args if isinstance(a, Ref)]
        return names

    fields = list(after)
    read = reads(used)
    kept: set[int] = set()
    while True:
        more = {
            i
            for i, s in enumerate(before)
            if i not in kept and isinstance(s.ref, Ref) and s.ref.name in read
        }
        if not more:
            break
        kept |= more
        read |= reads([fields[i] for i in more])
    return type(after)(*(f if i in kept else before[i] for i, f in enumerate(fields)))


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


def _as_sym(tape: Tape, value: object) -> Sym:
    if isinstance(value, Sym):
        return value
    return Sym(tape, constant(value))


def _outputs(
    point: Sym,
    loss: object,
    grad: tuple[object, object],
    gnorm: Sym,
    updates: Sym,
    state: State,
    widths: tuple[int, ...],
) -> Outputs:
    """What the step returns: point, loss, grad, gnorm, updates, flat state."""

    def per_coordinate(value: object) -> list[tuple[Arg, str]]:
        # A per-run value here is numpy broadcasting it to every coordinate.
        arg = value.ref if isinstance(value, Sym) else constant(value)
        if arg.boolean:
            raise Untraceable("a boolean result")
        return [(arg, str(d)) for d in range(DIM)]

    def per_run(value: object) -> tuple[Arg, str]:
        arg = value.ref if isinstance(value, Sym) else constant(value)
        if arg.boolean or is_elem(arg):
            raise Untraceable("a per-run result that is not one float")
        return (arg, "")

    if not isinstance(state, tuple) or len(state) != len(widths):
        raise Untraceable("a state of another shape")
    flat: list[tuple[Arg, str]] = []
    for value, width in zip(state, widths, strict=True):
        flat += per_coordinate(value) if width == DIM else [per_run(value)]
    return [
        per_coordinate(point),
        [per_run(loss)],
        [per_run(g) for g in grad],
        [per_run(gnorm)],
        per_coordinate(updates),
        flat,
    ]
