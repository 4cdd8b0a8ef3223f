"""Rendering: a recorded tape as Python source, over Python floats or over numpy columns.

Per-coordinate lines are written out once per coordinate (``t5_0``, ``t5_1``); per-run lines
once. The scalar rendering computes in Python floats, calling numpy only for ufuncs Python lacks
(so the bits are numpy's). The column rendering calls numpy on ``(N,)`` columns and writes every
temporary into reused buffers, so that a step allocates no fresh memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.fastpath.trace import ARITHMETIC, COMPARISONS, DIM, Arg, Const, Line, Ref, Tape
from server.optim.base import Array

Outputs = list[list[tuple[Arg, str]]]  # per returned value: (value, coordinate slot) pairs


_ARITHMETIC_OPS = set(ARITHMETIC.values())
_INFIX = _ARITHMETIC_OPS | set(COMPARISONS.values())

_SCALAR = {
    "maximum": "({0} if {0} > {1} else {1} if {1} > {0} else float(_maximum({0}, {1})))",
    "minimum": "({0} if {0} < {1} else {1} if {1} < {0} else float(_minimum({0}, {1})))",
    "neg": "(-{0})",
    "pos": "(+{0})",
    "abs": "abs({0})",
    "sqrt": "_sqrt({0})",
    "square": "({0} * {0})",
    "recip": "(1.0 / {0})",
    "sign": "_sign({0})",
    "where": "({1} if {0} else {2})",
    "clip": "float(_clip({0}, {1}, {2}))",
    "float": "float({0})",
}
"""Ties and NaN in maximum/minimum go to numpy itself (signed zeros)."""

_VECTOR = {
    "maximum": "_maximum({0}, {1})",
    "minimum": "_minimum({0}, {1})",
    "neg": "(-{0})",
    "pos": "(+{0})",
    "abs": "abs({0})",
    "sqrt": "_np_sqrt({0})",
    "square": "({0} * {0})",
    "recip": "(1.0 / {0})",
    "sign": "_np_sign({0})",
    "where": "_select({0}, {1}, {2})",
    "clip": "_clip({0}, {1}, {2})",
    "float": "({0} * 1.0)",
}


def _into(function: Callable[..., Any], *args: Any, out: Array) -> Any:
    """``function(*args)``, written into ``out`` when the result is an array (not one float)."""
    for arg in args:
        if isinstance(arg, np.ndarray):
            return function(*args, out=out)
    return function(*args)


def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return float(np.sign(x))  # zeros and NaN exactly as numpy has them


def _select(condition: Any, a: Any, b: Any) -> Any:
    """``np.where``, or just one of the two when the condition is the same for every run."""
    if isinstance(condition, bool | np.bool_):
        return a if condition else b
    return np.where(condition, a, b)


HELPERS: dict[str, object] = {
    "_add": np.add,
    "_subtract": np.subtract,
    "_multiply": np.multiply,
    "_true_divide": np.true_divide,
    "_maximum": np.maximum,
    "_minimum": np.minimum,
    "_negative": np.negative,
    "_positive": np.positive,
    "_absolute": np.absolute,
    "_copyto": np.copyto,
    "_into": _into,
    "_sqrt": math.sqrt,
    "_isfinite": math.isfinite,
    "_arange": lambda n: np.arange(n, dtype=np.float64),
    "_full": lambda n, v: np.full(n, v, dtype=np.float64),
    "_sign": _sign,
    "_np_sqrt": np.sqrt,
    "_np_sign": np.sign,
    "_select": _select,
    "_clip": np.clip,
    "_nan": math.nan,
    "_inf": math.inf,
}
QUIET = frozenset({"_sqrt", "_isfinite", "_sign", "_nan", "_inf", "_maximum", "_minimum", "_clip"})
"""Names the scalar code may use without numpy ever warning (maximum, sign and clip of ties and
NaN never warn); any other numpy call there needs ``np.errstate``."""


def arg_text(arg: Arg, slot: str, cast: bool) -> str:
    if isinstance(arg, Const):
        text = arg.text
    elif arg.elem:
        text = f"{arg.name}_{slot}"
    else:
        text = arg.name
    return f"float({text})" if cast and arg.boolean else text


def expr(line: Line, slot: str, scalar: bool) -> str:
    op = line.op
    # Python floats need bools turned into floats where numpy would; numpy columns do not.
    cast = scalar and not line.target.boolean and op != "float"
    if op.startswith("ufunc:"):
        args = ", ".join(arg_text(a, slot, False) for a in line.args)
        if not scalar:
            return f"{op[6:]}({args})"
        call = f"{op[6:]}.one({args})"  # every ufunc: op is a LikeArrays (trace._apply)
        return f"bool({call})" if line.target.boolean else f"float({call})"
    if op in _INFIX:
        a, b = (arg_text(x, slot, cast and op in _ARITHMETIC_OPS) for x in line.args)
        return f"({a} {op} {b})"
    cond = 0 if op == "where" else -1
    texts = [arg_text(x, slot, cast and i != cond) for i, x in enumerate(line.args)]
    return (_SCALAR if scalar else _VECTOR)[op].format(*texts)


def _names(arg: Arg, slots: Sequence[str]) -> set[str]:
    if isinstance(arg, Const):
        return set()
    return {f"{arg.name}_{d}" for d in slots} if arg.elem else {arg.name}


@dataclass
class Statement:
    target: str
    line: Line
    slot: str
    uses: list[str]
    expr: str


def render(
    tape: Tape, widths: tuple[int, ...], n_hyper: int, outputs: Outputs, scalar: bool
) -> tuple[str, int, int, list[str | None]]:
    """Python source of ``step(p, g, s, h, w, o)``, how many work and result buffers it takes,
    and per result buffer the input it may be (see :func:`_in_place`).

    Lines no output depends on are left out. The scalar rendering takes no buffers.
    """
    results = [arg_text(arg, slot, False) for values in outputs for arg, slot in values]
    statements = statements_of(tape, outputs, scalar)
    texts = [[arg_text(arg, slot, False) for arg, slot in values] for values in outputs]
    buffers, carried = 0, 0
    tail: list[str] = []
    in_place: list[str | None] = []
    if not scalar:
        buffers, columns = _use_buffers(statements, set(results))
        point, loss, grad, gnorm, updates, flat = texts
        tail = _write_recorded(statements, [*point, *loss, *gnorm])
        kept_out = [*grad, *updates, *flat]
        inputs: list[str | None] = [f"g_{d}" for d in range(DIM)]
        inputs += [None] * len(updates) + list(state_names(widths))
        carried_of = [inputs[i] for i, name in enumerate(kept_out) if name in columns]
        carried = _write_carried(statements, kept_out, columns, 2 + DIM, tail)
        texts[2], texts[4], texts[5] = (
            kept_out[: len(grad)],
            kept_out[len(grad) : len(grad) + len(updates)],
            kept_out[len(grad) + len(updates) :],
        )
        in_place = _in_place(statements, tail, carried_of, 2 + DIM, texts)
    body = ["def step(p, g, s, h, w=None, o=None):", *unpack(widths, n_hyper)]
    body += [f"    {st.target} = {st.expr}" for st in statements]
    body += tail
    point, loss, grad, gnorm, updates, flat = texts
    body.append(
        f"    return ({', '.join(point)},), {loss[0]}, ({', '.join(grad)},), {gnorm[0]}, "
        f"({', '.join(updates)},), ({', '.join(flat)},)"
    )
    return "\n".join(body) + "\n", buffers, carried, in_place


def _in_place(
    statements: list[Statement],
    tail: list[str],
    inputs: list[str | None],
    first: int,
    results: list[list[str]],
) -> list[str | None]:
    """Per result buffer ``o[first + j]`` (the new value of the input ``inputs[j]``: a gradient
    or state column, None for the step), that input's name where the caller may pass the
    input's own array as that buffer, updating it in place as hand-written numpy would: the
    operation writing the buffer comes after every read of the input, and nothing else
    returns or copies the input (the writing operation itself may read it, as ``m += u``
    does). Else None (two buffers in turn, as the engine passes them)."""
    last_read: dict[str, int] = {}
    within: dict[str, set[str]] = {}  # value -> the inputs it may be (a `where` passes one on)
    for i, st in enumerate(statements):
        for name in st.uses:
            for source in {name} | within.get(name, set()):
                last_read[source] = i
        if st.line.op == "where":
            within[st.target] = set().union(*({u} | within.get(u, set()) for u in st.uses))
    returned = {text for values in results for text in values} | {
        source for values in results for text in values for source in within.get(text, ())
    }
    copied = {
        source
        for line in tail
        for token in re.findall(r"\w+", line)
        for source in {token} | within.get(token, set())
    }
    out: list[str | None] = []
    for j, input_name in enumerate(inputs):
        buffer = f"out=o[{first + j}])"
        writer = next((i for i, st in enumerate(statements) if st.expr.endswith(buffer)), None)
        name = input_name or ""
        safe = (
            input_name is not None
            and writer is not None
            and last_read.get(name, -1) <= writer  # an elementwise ufunc may write its input
            and name not in copied
            and name not in returned
        )
        out.append(name if safe else None)
    return out


def state_names(widths: tuple[int, ...]) -> list[str]:
    return [
        name
        for i, width in enumerate(widths)
        for name in ([f"s{i}_{d}" for d in range(DIM)] if width == DIM else [f"s{i}"])
    ]


def unpack(widths: tuple[int, ...], n_hyper: int) -> list[str]:
    slots = range(DIM)
    lines = [
        f"    {', '.join(f'p_{d}' for d in slots)}, = p",
        f"    {', '.join(f'g_{d}' for d in slots)}, = g",
        f"    {', '.join(state_names(widths))}, = s",
    ]
    if n_hyper:
        lines.append(f"    {', '.join(f'h{i}' for i in range(n_hyper))}, = h")
    return lines


def statements_of(tape: Tape, outputs: Outputs, scalar: bool) -> list[Statement]:
    """The lines some output depends on, written out per coordinate slot."""
    slots = [str(d) for d in range(DIM)]
    live = {arg_text(arg, slot, False) for values in outputs for arg, slot in values}
    kept: list[Line] = []
    for line in reversed(tape.lines):
        if _names(line.target, slots) & live:
            kept.append(line)
            for arg in line.args:
                live |= _names(arg, slots)
    return [
        Statement(
            arg_text(line.target, slot, False),
            line,
            slot,
            [arg_text(a, slot, False) for a in line.args if isinstance(a, Ref)],
            expr(line, slot, scalar),
        )
        for line in reversed(kept)
        for slot in (slots if line.target.elem else [""])
    ]


def _write_carried(
    statements: list[Statement], results: list[str], columns: set[str], first: int, tail: list[str]
) -> int:
    """Put every returned whole column (gradient, step, state) in a buffer ``o[first + j]``.

    The engine passes two sets of these buffers in turn, so the values an update returns never
    share memory with the values it reads. A result computed by an operation is written there
    directly; one that may be another value (an input passed through, a ``where``) is copied.
    ``results`` is rewritten to name the buffers; returns how many there are.
    """
    producers = {st.target: st for st in statements}
    count = 0
    for i, name in enumerate(results):
        if name not in columns:
            continue  # a value per run, or a column that never depends on the point: kept as is
        buffer = f"o[{first + count}]"
        count += 1
        st = producers.get(name)
        if st is not None and "out=" not in st.expr and _writable(st):
            st.expr = _out_call(st.line, st.slot, buffer)
        else:
            tail.append(f"    _copyto({buffer}, {name})")
            results[i] = buffer
    return count


def _write_recorded(statements: list[Statement], recorded: list[str]) -> list[str]:
    """Compute the new point, loss and gradient norm straight into ``o`` (the engine's record).

    Returns the statements that copy those values that are not computed by an operation.
    """
    producers = {st.target: st for st in statements}
    tail = []
    done: set[str] = set()
    for j, name in enumerate(recorded):
        st = producers.get(name)
        if st is not None and name not in done and "out=w[" not in st.expr and _writable(st):
            st.expr = _out_call(st.line, st.slot, f"o[{j}]")
        else:
            tail.append(f"    _copyto(o[{j}], {name})")
        done.add(name)
    return tail


def _writable(st: Statement) -> bool:
    line = st.line
    return not line.target.boolean and (line.op in _OUT_FORMS or line.op.startswith("ufunc:"))


# An operation writing into a given array: the ufunc and its arguments.
_OUT_FORMS = {
    "+": ("_add", "{0}, {1}"),
    "-": ("_subtract", "{0}, {1}"),
    "*": ("_multiply", "{0}, {1}"),
    "/": ("_true_divide", "{0}, {1}"),
    "maximum": ("_maximum", "{0}, {1}"),
    "minimum": ("_minimum", "{0}, {1}"),
    "neg": ("_negative", "{0}"),
    "pos": ("_positive", "{0}"),
    "abs": ("_absolute", "{0}"),
    "sqrt": ("_np_sqrt", "{0}"),
    "square": ("_multiply", "{0}, {0}"),
    "recip": ("_true_divide", "1.0, {0}"),
    "sign": ("_np_sign", "{0}"),
    "clip": ("_clip", "{0}, {1}, {2}"),
    "float": ("_multiply", "{0}, 1.0"),
}


def _use_buffers(statements: list[Statement], results: set[str]) -> tuple[int, set[str]]:
    """Make the column code write its temporaries into reused work buffers ``w[k]``.

    A fresh 80 kB temporary per operation costs far more than the arithmetic (freed memory goes
    back to the system and faults in again), so every float operation whose value is not
    returned writes into a buffer no live value holds. Values depending on the point or the
    gradient are whole columns; the others (from the state only) may be single floats, and go
    through ``_into``. A ``where`` may return one of its operands itself, so its result keeps its
    operands' buffers held; returned values are copied out of buffers at the end (see
    :func:`_write_carried`) unless they are single floats, whose operands then get no buffer.
    Returns the number of buffers and the names of the values that are whole columns.
    """
    columns = {f"{v}_{d}" for v in "pg" for d in range(DIM)}
    for st in statements:
        if st.line.op == "where":
            branches = st.line.args[1:]
            if all(isinstance(a, Ref) and arg_text(a, st.slot, False) in columns for a in branches):
                columns.add(st.target)
        elif any(u in columns for u in st.uses):
            columns.add(st.target)
    passed = results - columns  # returned as they are, not copied out of a buffer
    for st in reversed(statements):  # a `where` passed on passes on its operands, nested too
        if st.line.op == "where" and st.target in passed:
            passed.update(st.uses)
    escapes = results | passed
    last_use = {name: i for i, st in enumerate(statements) for name in st.uses}
    held: dict[str, set[int]] = {}  # value -> buffers it may occupy
    holders: list[set[str]] = []  # buffer -> live values occupying it
    for i, st in enumerate(statements):
        line = st.line
        if line.op == "where":
            held[st.target] = set().union(*(held.get(u, set()) for u in _branches(st)))
            for k in held[st.target]:
                holders[k].add(st.target)
        for name in st.uses:  # operands used for the last time free their buffers here
            if last_use[name] == i and name not in results:
                for k in held.get(name, ()):
                    holders[k].discard(name)
        maybe = st.target not in columns
        if maybe and not line.target.elem:
            continue  # a value per run: one float unless the group's settings differ
        if st.target not in escapes and _writable(st):
            k = next((k for k, h in enumerate(holders) if not h), len(holders))
            if k == len(holders):
                holders.append(set())
            holders[k].add(st.target)
            held[st.target] = {k}
            st.expr = _out_call(line, st.slot, f"w[{k}]", maybe)
    return len(holders), columns


def _branches(st: Statement) -> list[str]:
    return [arg_text(a, st.slot, False) for a in st.line.args[1:] if isinstance(a, Ref)]


def _out_call(line: Line, slot: str, buffer: str, maybe: bool = False) -> str:
    texts = [arg_text(a, slot, False) for a in line.args]
    if line.op.startswith("ufunc:"):
        function, args = line.op[6:], ", ".join(texts)
    else:
        function, form = _OUT_FORMS[line.op]
        args = form.format(*texts)
    if maybe:
        return f"_into({function}, {args}, out={buffer})"
    return f"{function}({args}, out={buffer})"
