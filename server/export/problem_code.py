"""The loss surface of an exported race as script code: ``f``, ``grad_f`` and ``hess_f`` in
numpy (the surface's own closed forms, or a formula's evaluator written out), and ``f`` alone in
torch for autograd."""

from __future__ import annotations

import re
import textwrap

from server.export.exprcode import Dialect, FormulaCode, formula_code
from server.export.pysource import Pieces, Unexportable, collect, float_text
from server.export.race_spec import ScriptRace
from server.problems.expression import Expression
from server.problems.surfaces import Surface

_NUMPY_SURFACE = '''
def f(p):
    """The loss at each point of ``p`` (shape (N, 2))."""
    return {value}(p[..., 0], p[..., 1], K)


def grad_f(p):
    """The gradient at each point, (N, 2), from the closed form."""
    gx, gy = {grad}(p[..., 0], p[..., 1], K)
    out = np.empty_like(p)
    out[..., 0] = gx
    out[..., 1] = gy
    return out
'''
_NUMPY_HESSIAN = '''

def hess_f(p):
    """The Hessian at each point, (N, 2, 2), from the closed form."""
    hxx, hxy, hyy = {hessian}(p[..., 0], p[..., 1], K)
    out = np.empty((*p.shape, 2))
    out[..., 0, 0] = hxx
    out[..., 0, 1] = hxy
    out[..., 1, 0] = hxy
    out[..., 1, 1] = hyy
    return out
'''
_TORCH_NAMES = {"sin": "sin", "cos": "cos", "exp": "exp", "sqrt": "sqrt", "abs": "abs"}


def _k(surface: Surface) -> str:
    items = ", ".join(f"{k!r}: {float_text(v)}" for k, v in surface._k.items())
    return f"K = {{{items}}}  # the surface's parameters (and the constants derived from them)"


def numpy_problem(race: ScriptRace) -> tuple[Pieces, str]:
    """Shared pieces (helpers, constants) and the code defining f, grad_f (and hess_f)."""
    if race.expression is not None:
        return Pieces(), _numpy_formula(race.expression, race.needs_hessian)
    surface = race.surface
    assert surface is not None
    spec = surface.spec
    forms = [spec.value_form, spec.grad_form]
    if race.needs_hessian:
        forms.append(spec.hessian_form)
    pieces = collect(forms)
    names = {"value": spec.value_form.__name__, "grad": spec.grad_form.__name__}
    code = _NUMPY_SURFACE.format(**names)
    if race.needs_hessian:
        code += _NUMPY_HESSIAN.format(hessian=spec.hessian_form.__name__)
    return pieces, _k(surface) + "\n" + code


def _body(fc: FormulaCode) -> str:
    return textwrap.indent("\n".join(fc.lines), "    ")


def _zero_or(name: str | None) -> str:
    return "0.0" if name is None else name


def _numpy_formula(expr: Expression, hessian: bool) -> str:
    value = formula_code(expr, "value")
    grad = formula_code(expr, "grad")
    out = [
        f"# f(x, y) = {expr.formula}: the formula's evaluator written out, line by line, in the",
        "# order the live run computed it (the gradient is forward-mode: value and slope together).",
        "",
        "",
        "def f(p):",
        "    x, y = p.reshape(-1, 2)[:, 0], p.reshape(-1, 2)[:, 1]",
        _body(value),
        "    v = np.empty(x.shape[0])",
        f"    v[...] = {value.results[0]}",
        "    return v.reshape(p.shape[:-1])",
        "",
        "",
        "def grad_f(p):",
        "    x, y = p.reshape(-1, 2)[:, 0], p.reshape(-1, 2)[:, 1]",
        _body(grad),
        "    v = np.empty(x.shape[0])",
        f"    v[...] = {grad.results[0]}",
        "    g = np.zeros((x.shape[0], 2))",
    ]
    for k, part in enumerate(grad.results[1:]):
        if part is not None:
            out.append(f"    g[:, {k}] = {part}")
    out += [
        "    g[np.isnan(v)] = np.nan  # where f is undefined, so is its slope",
        "    return g.reshape(p.shape)",
    ]
    if hessian:
        h = formula_code(expr, "hessian")
        out += [
            "",
            "",
            "def hess_f(p):",
            "    x, y = p.reshape(-1, 2)[:, 0], p.reshape(-1, 2)[:, 1]",
            _body(h),
            "    v = np.empty(x.shape[0])",
            f"    v[...] = {h.results[0]}",
            "    h = np.zeros((x.shape[0], 2, 2))",
        ]
        for (i, j), part in zip(((0, 0), (0, 1), (1, 1)), h.results[1:], strict=True):
            if part is not None:
                out += [f"    h[:, {i}, {j}] = {part}", f"    h[:, {j}, {i}] = {part}"]
        out += ["    h[np.isnan(v)] = np.nan", "    return h.reshape((*p.shape, 2))"]
    return "\n".join(out) + "\n"


def _to_torch(source: str) -> str:
    def swap(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in _TORCH_NAMES:
            raise Unexportable(f"the surface's value uses np.{name}, which has no torch twin here")
        return f"torch.{_TORCH_NAMES[name]}"

    return re.sub(r"\bnp\.([A-Za-z_][A-Za-z_0-9]*)", swap, source)


def torch_problem(race: ScriptRace) -> tuple[Pieces, str]:
    """Constants and helpers, and ``f(p)`` of a 2-element tensor written with torch ops."""
    dialect: Dialect = "torch"
    if race.expression is not None:
        value = formula_code(race.expression, "value", dialect)
        code = "\n".join(
            [
                f"# f(x, y) = {race.expression.formula}, written with torch operations",
                "",
                "",
                "def _t(v):",
                "    return torch.tensor(v, dtype=torch.float64)",
                "",
                "",
                "def f(p):",
                "    x, y = p[0], p[1]",
                _body(value),
                f"    return {value.results[0]}",
            ]
        )
        return Pieces(), code + "\n"
    surface = race.surface
    assert surface is not None
    pieces = collect([surface.spec.value_form])
    for key, block in pieces.blocks.items():
        pieces.blocks[key] = _to_torch(block)
    code = (
        _k(surface)
        + "\n\n\ndef f(p):\n"
        + '    """The loss at the point p (a tensor of 2), in torch operations."""\n'
        + f"    return {surface.spec.value_form.__name__}(p[0], p[1], K)\n"
    )
    return pieces, code
