"""Forward-mode evaluation with second-order dual numbers ("jets").

``compile_tree`` turns a syntax tree into a tree of operations, folding every constant subtree into a
float (with numpy float64 arithmetic, so ``9^9^9`` is ``inf`` at once) and turning an operation with
one constant operand into a unary rule of the other. Evaluating an operation at points gives either
the value alone (``value``) or a ``Jet``: value ``(n,)``, gradient ``(2, n)`` and Hessian ``(2, 2, n)`` (component axes
first, so every numpy loop runs along the long point axis),
propagated by the chain rule from the partial derivatives in ``rules``:

    g = f_a g_a + f_b g_b
    H = f_a H_a + f_b H_b + f_aa g_a g_a^T + f_ab (g_a g_b^T + g_b g_a^T) + f_bb g_b g_b^T

``max``/``min`` instead copy the value, gradient and Hessian of the branch they select. With
``order=1`` no second derivative is computed. Gradients and Hessians may be broadcastable rather
than full-sized (``x`` has gradient ``[[1], [0]]``); a Hessian of ``None`` is zero. Callers run all of
this under ``np.errstate(all="ignore")``: undefined values become NaN or inf, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from server.problems.base import Array
from server.problems.expression.nodes import (
    BinaryOp,
    Call,
    Constant,
    Negate,
    Node,
    Number,
    Variable,
)
from server.problems.expression.rules import (
    BINARY_RULES,
    NEGATE,
    UNARY_RULES,
    BinaryRule,
    Partial,
    UnaryRule,
    left_constant,
    right_constant,
)

_UNIT = (np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]))
_NO_SLOPE = np.zeros((2, 1))


@dataclass(frozen=True, slots=True)
class Jet:
    """Value, gradient and Hessian of a subexpression at a batch of points."""

    v: Array
    g: Array
    h: Array | None


class Op(Protocol):
    def value(self, x: Array, y: Array) -> Array: ...

    def jet(self, x: Array, y: Array, order: int) -> Jet: ...


@dataclass(frozen=True, slots=True)
class VarOp:
    index: int

    def value(self, x: Array, y: Array) -> Array:
        return x if self.index == 0 else y

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        return Jet(self.value(x, y), _UNIT[self.index], None)


@dataclass(frozen=True, slots=True)
class ConstOp:
    """A constant; after folding it only ever stands alone (a formula without x and y)."""

    c: float

    def value(self, x: Array, y: Array) -> Array:
        return np.full(x.shape, self.c)

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        return Jet(self.value(x, y), _NO_SLOPE, None)


@dataclass(frozen=True, slots=True)
class UnaryOp:
    rule: UnaryRule
    arg: Op

    def value(self, x: Array, y: Array) -> Array:
        return self.rule(self.arg.value(x, y), 0)[0]

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        a = self.arg.jet(x, y, order)
        v, d1, d2 = self.rule(a.v, order)
        g = _times(d1, a.g)
        if g is None:
            g = _NO_SLOPE
        if order < 2:
            return Jet(v, g, None)
        h = _times2(d1, a.h)
        if d2 is not None:
            h = _plus(h, _times2(d2, _outer(a.g, a.g)))
        return Jet(v, g, h)


@dataclass(frozen=True, slots=True)
class BinaryOpNode:
    rule: BinaryRule
    left: Op
    right: Op

    def value(self, x: Array, y: Array) -> Array:
        return self.rule(self.left.value(x, y), self.right.value(x, y), 0).v

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        a = self.left.jet(x, y, order)
        b = self.right.jet(x, y, order)
        p = self.rule(a.v, b.v, order)
        g = _plus(_times(p.fa, a.g), _times(p.fb, b.g))
        if order < 2:
            return Jet(p.v, _NO_SLOPE if g is None else g, None)
        h = _plus(_times2(p.fa, a.h), _times2(p.fb, b.h))
        if p.faa is not None:
            h = _plus(h, _times2(p.faa, _outer(a.g, a.g)))
        if p.fab is not None:
            cross = _outer(a.g, b.g)
            h = _plus(h, _times2(p.fab, cross + np.swapaxes(cross, 0, 1)))
        if p.fbb is not None:
            h = _plus(h, _times2(p.fbb, _outer(b.g, b.g)))
        return Jet(p.v, _NO_SLOPE if g is None else g, h)


@dataclass(frozen=True, slots=True)
class SelectOp:
    """``max(a, b)`` or ``min(a, b)``: the derivatives of the selected branch (``a`` on ties)."""

    largest: bool
    left: Op
    right: Op

    def value(self, x: Array, y: Array) -> Array:
        pick = np.maximum if self.largest else np.minimum
        out: Array = pick(self.left.value(x, y), self.right.value(x, y))
        return out

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        a = self.left.jet(x, y, order)
        b = self.right.jet(x, y, order)
        take_a = (a.v >= b.v) if self.largest else (a.v <= b.v)
        v: Array = np.maximum(a.v, b.v) if self.largest else np.minimum(a.v, b.v)
        g: Array = np.where(take_a, a.g, b.g)
        h: Array | None = None
        if a.h is not None or b.h is not None:
            zero = np.zeros((2, 2, 1))
            ha = zero if a.h is None else a.h
            hb = zero if b.h is None else b.h
            h = np.where(take_a, ha, hb)
        return Jet(v, g, h)


def _times(d: Partial | None, g: Array) -> Array | None:
    """``d * g`` with ``d`` one number per point (or a constant) and ``g`` a gradient."""
    if d is None:
        return None
    if isinstance(d, float):
        if d == 1.0:
            return g
        return -g if d == -1.0 else d * g
    out: Array = d * g
    return out


def _times2(d: Partial | None, h: Array | None) -> Array | None:
    if d is None or h is None:
        return None
    if isinstance(d, float):
        return h if d == 1.0 else d * h
    out: Array = d * h
    return out


def _plus(a: Array | None, b: Array | None) -> Array | None:
    if a is None:
        return b
    if b is None:
        return a
    out: Array = a + b
    return out


def _outer(a: Array, b: Array) -> Array:
    out: Array = a[:, None, :] * b[None, :, :]
    return out


def compile_tree(node: Node) -> Op:
    """Operations for ``node`` with constant subtrees folded (call under ``np.errstate``)."""
    match node:
        case Number(value=value) | Constant(value=value):
            return ConstOp(value)
        case Variable(index=index):
            return VarOp(index)
        case Negate(operand=operand):
            return _unary(NEGATE, compile_tree(operand))
        case BinaryOp(op=op, left=left, right=right):
            return _binary(op, compile_tree(left), compile_tree(right))
        case Call(name=name, args=args):
            ops = [compile_tree(arg) for arg in args]
            if name in UNARY_RULES:
                return _unary(UNARY_RULES[name], ops[0])
            result = ops[0]
            for other in ops[1:]:
                result = _binary(name, result, other)
            return result
    raise TypeError(f"not a formula node: {node!r}")


def _unary(rule: UnaryRule, arg: Op) -> Op:
    if isinstance(arg, ConstOp):
        return ConstOp(float(rule(np.asarray(arg.c), 0)[0]))
    return UnaryOp(rule, arg)


def _binary(op: str, a: Op, b: Op) -> Op:
    if isinstance(a, ConstOp) and isinstance(b, ConstOp):
        return ConstOp(float(BINARY_RULES[op](np.asarray(a.c), np.asarray(b.c), 0).v))
    if isinstance(a, ConstOp):
        return UnaryOp(left_constant(op, a.c), b)
    if isinstance(b, ConstOp):
        return UnaryOp(right_constant(op, b.c), a)
    if op in ("max", "min"):
        return SelectOp(op == "max", a, b)
    return BinaryOpNode(BINARY_RULES[op], a, b)
