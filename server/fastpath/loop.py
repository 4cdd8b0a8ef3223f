"""The compiled loop: up to n scalar updates of one run alone in one call, around the scalar
rendering's body, with the ufunc values that depend only on the hyperparameters and the step
count computed once for the whole loop, as numpy columns."""

from __future__ import annotations

from collections.abc import Sequence

from server.fastpath.render import (
    Outputs,
    Statement,
    arg_text,
    expr,
    state_names,
    statements_of,
    unpack,
)
from server.fastpath.trace import DIM, Const, Ref, Tape


def render_loop(tape: Tape, widths: tuple[int, ...], n_hyper: int, outputs: Outputs) -> str:
    """Python source of ``run(p, g, s, h, n, put, gtol, stol)``: up to ``n`` scalar updates of
    one run in one call, the loop around the scalar rendering's body (no call, no tuples).

    It hands ``put`` each new ``(*point, loss, gnorm)`` and returns ``(done, how, p, g, s)``:
    the updates done, why it returned, and the run's point, gradient and flat state after them.
    ``how`` is ``"n"`` (all done), ``"error"`` (Python refused update ``done + 1``: the state is
    from before it), ``"diverged"`` (the last update's loss or gradient norm is not finite; not
    put) or ``"converged"`` (its gradient norm is at most ``gtol`` and its step at most
    ``stol`` times one plus the largest coordinate).

    Ufunc calls that depend only on the hyperparameters and the step count (bias corrections)
    are made once for the whole loop, as numpy columns with one row per update.
    """
    statements = statements_of(tape, outputs, True)
    point, loss, grad, gnorm, updates, flat = (
        [arg_text(arg, slot, False) for arg, slot in values] for values in outputs
    )
    names = [f"p_{d}" for d in range(DIM)] + [f"g_{d}" for d in range(DIM)]
    names += state_names(widths)
    state = f"({', '.join(names[:DIM])},), ({', '.join(names[DIM : 2 * DIM])},), "
    state += f"({', '.join(names[2 * DIM :])},)"
    prelude, hoisted = _hoist(tape, statements, widths, n_hyper, outputs)
    body_lines = [
        f"            {st.target} = _pre_{st.target}[k]"
        if st.target in hoisted
        else f"            {st.target} = {st.expr}"
        for st in statements
    ]
    body = [
        "def run(p, g, s, h, n, put, gtol, stol):",
        *prelude,
        *unpack(widths, n_hyper),
        "    for k in range(n):",
        "        try:",
        *body_lines,
        "        except (ArithmeticError, ValueError):",
        f"            return k, 'error', {state}",
        f"        {', '.join(names)}, = {', '.join([*point, *grad, *flat])},",
        f"        if not _isfinite({' + '.join([loss[0], gnorm[0], *point])}):",
        f"            return k + 1, 'diverged', {state}",
        f"        put(({', '.join(point)}, {loss[0]}, {gnorm[0]}))",
        f"        if {gnorm[0]} <= gtol and {_largest(updates)} <= stol * (1.0 + {_largest(point)}):",
        f"            return k + 1, 'converged', {state}",
        f"    return n, 'n', {state}",
    ]
    return "\n".join(body) + "\n"


def _largest(values: Sequence[str]) -> str:
    return f"max({', '.join(f'abs({v})' for v in values)})"


def _hoist(
    tape: Tape,
    statements: list[Statement],
    widths: tuple[int, ...],
    n_hyper: int,
    outputs: Outputs,
) -> tuple[list[str], set[str]]:
    """Lines computing, before the loop, the ufunc values of every update that depend only on
    the hyperparameters and the step count, and the names of those values.

    The step count is a per-run state field whose new value is the old plus one; at update k
    of the loop it is its first value plus k, exactly (integers in floats). The values are
    computed by the column rendering's code over ``(n,)`` columns, hyperparameters spread to
    full columns, so numpy takes the loop it takes for the arrays of the numpy update.
    """
    flat = outputs[5]
    names = state_names(widths)
    counts = set()
    producers = {st.target: st for st in statements}
    for name, (arg, slot) in zip(names, flat, strict=True):
        st = producers.get(arg_text(arg, slot, False))
        if st is None or st.line.op != "+" or slot:
            continue
        a, b = st.line.args
        one = [x for x in (a, b) if isinstance(x, Const) and x.value == 1.0]
        ref = [x for x in (a, b) if isinstance(x, Ref) and x.name == name]
        if one and ref:
            counts.add(name)
    known = set(counts) | {f"h{i}" for i in range(n_hyper)}
    for st in statements:
        if not st.line.target.elem and all(u in known for u in st.uses):
            known.add(st.target)
    hoisted = {
        st.target
        for st in statements
        if st.target in known and st.line.op.startswith("ufunc:") and set(st.uses) & known
    }
    if not hoisted:
        return [], set()
    needed = set(hoisted)
    for st in reversed(statements):
        if st.target in needed:
            needed |= set(st.uses)
    lines = ["    _steps = _arange(n)"]
    lines += [f"    {name} = s[{names.index(name)}] + _steps" for name in sorted(counts)]
    lines += [f"    h{i} = _full(n, h[{i}])" for i in range(n_hyper) if f"h{i}" in needed]
    lines += [
        f"    {st.target} = {expr(st.line, st.slot, False)}"
        for st in statements
        if st.target in needed and st.target in known
    ]
    lines += [f"    _pre_{name} = {name}.tolist()" for name in sorted(hoisted)]
    return lines, hoisted
