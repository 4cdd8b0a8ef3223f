"""The project's own Python source of a surface, an optimizer or a schedule, gathered for a
standalone script: the functions the engine calls and, transitively, every helper function,
NamedTuple and constant they name, read with :mod:`inspect` (never a copy kept in a string).

A script built from these pieces runs the very code the live run ran, so it reproduces the run's
numbers. Names the functions take from other modules must be ``np`` or ``math`` (the only
imports a script has); anything else raises :class:`Unexportable`.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from server.inside.source import optimizer_source
from server.optim.registry import get_optimizer

ROOT = Path(__file__).resolve().parents[2]
MODULES = {"np": np, "math": math}
"""The modules a script imports, by the names the project's code uses for them."""


class Unexportable(ValueError):
    """The code names something a standalone script cannot have."""


@dataclass
class Pieces:
    """Source pieces in the order they must appear: constants, then classes and functions."""

    constants: dict[str, str] = field(default_factory=dict)  # name -> "NAME = repr"
    blocks: dict[str, str] = field(default_factory=dict)  # qualified name -> source
    origins: dict[str, str] = field(default_factory=dict)  # qualified name -> "file:line"

    def text(self) -> str:
        parts = list(self.constants.values())
        body = "\n\n\n".join(b.rstrip() for b in self.blocks.values()) + "\n"
        return ("\n".join(parts) + "\n\n\n" if parts else "") + body


def where(obj: Callable[..., Any] | type) -> str:
    """``server/optim/adam.py:37``: where ``obj`` is defined."""
    path = Path(inspect.getsourcefile(obj) or "")
    _, line = inspect.getsourcelines(obj)
    try:
        shown = str(path.relative_to(ROOT))
    except ValueError:
        shown = path.name
    return f"{shown}:{line}"


_TYPE_IGNORE = re.compile(r"  # type: ignore\[[^\]]*\]")


def clean(source: str) -> str:
    """Source without the type checker's ``# type: ignore[...]`` remarks."""
    return _TYPE_IGNORE.sub("", source)


def source_of(obj: Callable[..., Any] | type) -> str:
    return clean(textwrap.dedent(inspect.getsource(obj))).rstrip() + "\n"


def _is_project(obj: object) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("server.")


MAX_ARRAY = 5000
"""Largest numpy array constant written out as a literal (the GELU's erf table is 1,544)."""


def _constant(name: str, value: object) -> str | None:
    if isinstance(value, bool | int | str) or value is None:
        return f"{name} = {value!r}"
    if isinstance(value, float | np.floating):
        return f"{name} = {float_text(float(value))}"
    if isinstance(value, np.ndarray) and value.dtype == np.float64 and value.size <= MAX_ARRAY:
        return f"{name} = {array_text(value)}"
    return None


def array_text(a: np.ndarray[Any, Any]) -> str:
    """A float64 array as source that rebuilds it bit for bit (a row of a small last axis, or
    four values, a line)."""
    values = [float_text(float(v)) for v in a.reshape(-1).tolist()]
    shape = f"reshape({tuple(a.shape)!r})"
    if len(values) <= 6:
        return f"np.array([{', '.join(values)}], dtype=np.float64).{shape}"
    per = a.shape[-1] if a.ndim > 1 and a.shape[-1] <= 6 else 4
    lines = [", ".join(values[i : i + per]) + "," for i in range(0, len(values), per)]
    body = "\n".join("    " + line for line in lines)
    return f"np.array([\n{body}\n], dtype=np.float64).{shape}"


def float_text(v: float) -> str:
    """A float as Python source that reads back to the same bits."""
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "-float('inf')"
    return repr(v)


def collect(objs: Iterable[Callable[..., Any] | type], pieces: Pieces | None = None) -> Pieces:
    """``objs`` and everything they need, each once (helpers before the functions using them)."""
    out = pieces if pieces is not None else Pieces()
    for obj in objs:
        _add(obj, out)
    return out


def _add(obj: Callable[..., Any] | type, out: Pieces) -> None:
    key = f"{obj.__module__}.{obj.__qualname__}"
    if key in out.blocks:
        return
    out.blocks[key] = ""  # reserve: recursion stops here
    if isinstance(obj, types.FunctionType):
        cv = inspect.getclosurevars(obj)
        if cv.nonlocals:
            raise Unexportable(f"{key} is a closure over {sorted(cv.nonlocals)}")
        for name, value in cv.globals.items():
            _dependency(key, name, value, out)
    else:  # a class: the module names its body and methods use (defaults included)
        module = inspect.getmodule(obj)
        found = vars(module) if module is not None else {}
        used = _names(ast.parse(textwrap.dedent(inspect.getsource(obj))))
        for name in sorted(used - {obj.__name__}):
            if name in found:
                _dependency(key, name, found[name], out)
    del out.blocks[key]
    out.blocks[key] = source_of(obj)
    out.origins[key] = where(obj)


def _names(node: ast.AST) -> set[str]:
    """The names ``node`` reads, annotations left out (they are never evaluated)."""
    if isinstance(node, ast.arg):
        return set()
    if isinstance(node, ast.FunctionDef):
        parts: list[ast.AST] = [*node.args.defaults, *node.args.kw_defaults, *node.body]  # type: ignore[list-item]
        parts += node.decorator_list
    elif isinstance(node, ast.AnnAssign):
        parts = [node.target] + ([node.value] if node.value is not None else [])
    else:
        parts = list(ast.iter_child_nodes(node))
    out = {node.id} if isinstance(node, ast.Name) else set()
    for part in parts:
        out |= _names(part)
    return out


def _dependency(owner: str, name: str, value: object, out: Pieces) -> None:
    if isinstance(value, types.ModuleType):
        if MODULES.get(name) is not value:
            raise Unexportable(f"{owner} uses the module {value.__name__} as {name!r}")
        return
    if getattr(value, "__module__", None) == "typing":
        return  # NamedTuple: every script imports it
    if isinstance(value, types.FunctionType | type) and _is_project(value):
        _add(value, out)
        return
    text = _constant(name, value)
    if text is None:
        raise Unexportable(f"{owner} uses {name!r} ({type(value).__name__})")
    out.constants[name] = text


@dataclass(frozen=True)
class OptimizerCode:
    """One optimizer as a script holds it: the shared pieces (state class, ``ops`` helpers), and
    a factory ``def <name>_code(): ...; return init, update`` around its own init and update,
    with the values the update closes over (AdamW's ``decoupled = True``) set inside it."""

    name: str
    factory: str  # source of the factory function
    origin: str  # where its update is defined


def optimizer_code(name: str, pieces: Pieces) -> OptimizerCode:
    """The code of optimizer ``name`` (its shared pieces added to ``pieces``); the code panel's
    own reading of it (:func:`server.inside.source.optimizer_source`)."""
    opt = get_optimizer(name)
    shown = optimizer_source(name)
    closed: dict[str, object] = {}
    for fn in (opt.init, opt.update):
        cv = inspect.getclosurevars(fn)
        closed.update(cv.nonlocals)
        for key, value in cv.globals.items():
            _dependency(f"{name}.{fn.__name__}", key, value, pieces)
    lines = [f"def {name}_code():", f'    """{shown["title"]}: the engine\'s init and update."""']
    for key, value in closed.items():
        text = _constant(key, value)
        if text is None:
            raise Unexportable(f"{name}'s update closes over {key!r}")
        lines.append(f"    {text}")
    for part in ("init", "update"):
        code = shown[part]
        lines.append(f"    # {code['file']}:{code['line']}")
        lines.append(textwrap.indent(clean(code["source"]).rstrip(), "    "))
        lines.append("")
    lines.append(f"    return {opt.init.__name__}, {opt.update.__name__}")
    return OptimizerCode(
        name, "\n".join(lines) + "\n", f"{shown['update']['file']}:{shown['update']['line']}"
    )
