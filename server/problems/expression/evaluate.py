"""Forward-mode evaluation with second-order dual numbers ("jets").

``compile_tree`` turns a syntax tree into a tree of operations, folding every constant subtree into a
float (with numpy float64 arithmetic, so ``9^9^9`` is ``inf`` at once) and turning an operation with
one constant operand into a unary rule of the other. Evaluating an operation at points ``x``, ``y``
(arrays of shape ``(n,)``) gives either the value alone (``value``) or a ``Jet``: the value, the
gradient ``(gx, gy)`` and the Hessian ``(hxx, hxy, hyy)``, each component an array over the points,
a constant, or ``None`` for an exact zero (``x`` has gradient ``(1, None)``), so work is skipped
where a subexpression does not depend on ``x`` or ``y`` and every numpy loop runs along the points.
They are propagated by the chain rule from the partial derivatives in ``rules``:

    g = f_a g_a + f_b g_b
    H = f_a H_a + f_b H_b + f_aa g_a g_a^T + f_ab (g_a g_b^T + g_b g_a^T) + f_bb g_b g_b^T

``max``/``min`` instead copy the value, gradient and Hessian of the branch they select. With
``order=1`` no second derivative is computed. ``evaluate`` runs all of this under
``np.errstate(all="ignore")``: undefined values become NaN or inf, never exceptions or warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

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

Part = Partial | None  # a derivative component; None is an exact zero


class Jet(NamedTuple):
    """Value, gradient and Hessian (upper triangle) of a subexpression at a batch of points."""

    v: Array
    gx: Part = None
    gy: Part = None
    hxx: Part = None
    hxy: Part = None
    hyy: Part = None


class Op(Protocol):
    def value(self, x: Array, y: Array) -> Array: ...

    def jet(self, x: Array, y: Array, order: int) -> Jet: ...


@dataclass(frozen=True, slots=True)
class VarOp:
    index: int

    def value(self, x: Array, y: Array) -> Array:
        return x if self.index == 0 else y

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        if self.index == 0:
            return Jet(x, gx=1.0)
        return Jet(y, gy=1.0)


@dataclass(frozen=True, slots=True)
class ConstOp:
    """A constant; after folding it only ever stands alone (a formula without x and y)."""

    c: float

    def value(self, x: Array, y: Array) -> Array:
        return np.full(x.shape, self.c)

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        return Jet(self.value(x, y))


@dataclass(frozen=True, slots=True)
class UnaryOp:
    rule: UnaryRule
    arg: Op

    def value(self, x: Array, y: Array) -> Array:
        return self.rule(self.arg.value(x, y), 0)[0]

    def jet(self, x: Array, y: Array, order: int) -> Jet:
        a = self.arg.jet(x, y, order)
        v, d1, d2 = self.rule(a.v, order)
        gx, gy = _mul(d1, a.gx), _mul(d1, a.gy)
        if order < 2:
            return Jet(v, gx, gy)
        return Jet(
            v,
            gx,
            gy,
            _add(_mul(d1, a.hxx), _mul(d2, _mul(a.gx, a.gx))),
            _add(_mul(d1, a.hxy), _mul(d2, _mul(a.gx, a.gy))),
            _add(_mul(d1, a.hyy), _mul(d2, _mul(a.gy, a.gy))),
        )


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
        gx = _add(_mul(p.fa, a.gx), _mul(p.fb, b.gx))
        gy = _add(_mul(p.fa, a.gy), _mul(p.fb, b.gy))
        if order < 2:
            return Jet(p.v, gx, gy)

        hxx = _add(_mul(p.fa, a.hxx), _mul(p.fb, b.hxx))
        hxy = _add(_mul(p.fa, a.hxy), _mul(p.fb, b.hxy))
        hyy = _add(_mul(p.fa, a.hyy), _mul(p.fb, b.hyy))
        if p.faa is not None:  # f_aa g_a g_a^T
            hxx = _add(hxx, _mul(p.faa, _mul(a.gx, a.gx)))
            hxy = _add(hxy, _mul(p.faa, _mul(a.gx, a.gy)))
            hyy = _add(hyy, _mul(p.faa, _mul(a.gy, a.gy)))
        if p.fbb is not None:  # f_bb g_b g_b^T
            hxx = _add(hxx, _mul(p.fbb, _mul(b.gx, b.gx)))
            hxy = _add(hxy, _mul(p.fbb, _mul(b.gx, b.gy)))
            hyy = _add(hyy, _mul(p.fbb, _mul(b.gy, b.gy)))
        if p.fab is not None:  # f_ab (g_a g_b^T + g_b g_a^T)
            hxx = _add(hxx, _mul(p.fab, _mul(2.0, _mul(a.gx, b.gx))))
            hxy = _add(hxy, _mul(p.fab, _add(_mul(a.gx, b.gy), _mul(b.gx, a.gy))))
            hyy = _add(hyy, _mul(p.fab, _mul(2.0, _mul(a.gy, b.gy))))
        return Jet(p.v, gx, gy, hxx, hxy, hyy)


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

        def pick(p: Part, q: Part) -> Part:
            if p is None and q is None:
                return None
            out: Array = np.where(take_a, 0.0 if p is None else p, 0.0 if q is None else q)
            return out

        return Jet(
            v,
            pick(a.gx, b.gx),
            pick(a.gy, b.gy),
            pick(a.hxx, b.hxx),
            pick(a.hxy, b.hxy),
            pick(a.hyy, b.hyy),
        )


def _mul(a: Part, b: Part) -> Part:
    """``a * b`` skipping zeros (``None``) and multiplications by plus or minus one."""
    if a is None or b is None:
        return None
    if isinstance(a, float) and a in (1.0, -1.0):
        return b if a == 1.0 else -b
    if isinstance(b, float) and b in (1.0, -1.0):
        return a if b == 1.0 else -a
    product: Partial = a * b
    return product


def _add(a: Part, b: Part) -> Part:
    if a is None:
        return b
    if b is None:
        return a
    total: Partial = a + b
    return total


def evaluate(op: Op, x: Array, y: Array, order: int) -> tuple[Array, Array, Array]:
    """Value ``(n,)``, gradient ``(n, 2)`` and Hessian ``(n, 2, 2)`` (zero if ``order < 2``).

    Where the value is NaN, the gradient and Hessian are NaN too: ``log'(x) = 1/x`` is finite at
    ``x < 0``, but the function is not defined there.
    """
    n = x.shape[0]
    with np.errstate(all="ignore"):
        jet = op.jet(x, y, order)
    v = np.empty(n)
    v[...] = jet.v
    g = np.zeros((n, 2))
    for k, part in enumerate((jet.gx, jet.gy)):
        if part is not None:
            g[:, k] = part
    h = np.zeros((n, 2, 2))
    for (i, j), part in zip(((0, 0), (0, 1), (1, 1)), (jet.hxx, jet.hxy, jet.hyy), strict=True):
        if part is not None:
            h[:, i, j] = part
            h[:, j, i] = part
    undefined = np.isnan(v)
    if undefined.any():
        g[undefined] = np.nan
        h[undefined] = np.nan
    return v, g, h


def evaluate_value(op: Op, x: Array, y: Array) -> Array:
    """The value ``(n,)`` alone, as a fresh array."""
    with np.errstate(all="ignore"):
        value = op.value(x, y)
    v = np.empty(x.shape[0])
    v[...] = value
    return v


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
