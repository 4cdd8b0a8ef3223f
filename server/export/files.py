"""One export, start to end: a hash and a format in, the file's bytes, type and name out."""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import FieldError
from server.export.compute import Progress, compute
from server.export.gif import render_gif
from server.export.html import render_html
from server.export.network_race import network_csv, network_race
from server.export.network_scripts import network_numpy_script
from server.export.network_torch import network_torch_script
from server.export.notebook import notebook_bytes
from server.export.pysource import Unexportable
from server.export.race_spec import script_race
from server.export.scripts_jax import jax_script
from server.export.scripts_keras import keras_script
from server.export.scripts_numpy import numpy_script
from server.export.scripts_torch import torch_script
from server.export.state import MAX_RUNS, ExportState, parse_hash
from server.export.tables import to_csv, to_json

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "gif": "image/gif",
    "numpy": "text/x-python; charset=utf-8",
    "torch": "text/x-python; charset=utf-8",
    "jax": "text/x-python; charset=utf-8",
    "keras": "text/x-python; charset=utf-8",
    "ipynb": "application/x-ipynb+json",
}
SCRIPTS = ("numpy", "torch", "jax", "keras", "ipynb")
"""Formats written as code that reproduces the race (server/export/scripts_*.py, notebook.py)."""
NETWORK_FORMATS = ("csv", "numpy", "torch", "ipynb")
"""What a network race (an MLP) exports as: its losses, and the scripts that print them."""
SUFFIXES = {
    "numpy": "-numpy.py",
    "torch": "-torch.py",
    "jax": "-jax.py",
    "keras": "-keras.py",
    "ipynb": ".ipynb",
}
FORMATS = tuple(MEDIA_TYPES)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str  # gradscape-<surface>.<ext>


def check_format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise FieldError("format", f"Unknown format {fmt!r}; one of: {', '.join(FORMATS)}")
    return fmt


def export_state(
    state: ExportState,
    fmt: str,
    *,
    max_steps: int,
    max_runs: int = MAX_RUNS,
    link: str | None = None,
    progress: Progress | None = None,
) -> ExportFile:
    """Compute the race of ``state`` and write it as ``fmt`` (html, csv, json or gif), or write
    the code that computes it (numpy, torch, jax, keras, ipynb)."""
    check_format(fmt)
    if state.mode == "network" and fmt in NETWORK_FORMATS:
        return _network(state, fmt, max_steps=max_steps, max_runs=max_runs)
    if fmt in SCRIPTS:
        return _script(state, fmt, max_steps=max_steps, max_runs=max_runs)
    result = compute(state, max_steps=max_steps, max_runs=max_runs, progress=progress)
    if fmt == "csv":
        content = to_csv(result)
    elif fmt == "json":
        content = to_json(result)
    elif fmt == "html":
        content = render_html(result, link)
    else:
        content = render_gif(result)
    return ExportFile(content, MEDIA_TYPES[fmt], f"gradscape-{state.name}.{fmt}")


def _network(state: ExportState, fmt: str, *, max_steps: int, max_runs: int) -> ExportFile:
    """A network race's losses as CSV, or the scripts that print them."""
    name = f"gradscape-{state.net.dataset}"
    if fmt == "csv":
        content = network_csv(state, max_steps=max_steps, max_runs=max_runs)
        return ExportFile(content, MEDIA_TYPES[fmt], f"{name}.csv")
    net = network_race(state, max_steps=max_steps, max_runs=max_runs)
    try:
        if fmt == "ipynb":
            content = notebook_bytes(net)
        elif fmt == "numpy":
            content = network_numpy_script(net).encode()
        else:
            content = network_torch_script(net).encode()
    except Unexportable as exc:
        raise FieldError("format", f"this race cannot be written as {fmt}: {exc}") from None
    return ExportFile(content, MEDIA_TYPES[fmt], f"{name}{SUFFIXES[fmt]}")


def _script(state: ExportState, fmt: str, *, max_steps: int, max_runs: int) -> ExportFile:
    if state.mode != "surface":
        raise FieldError("mode", f"mode={state.mode} races cannot be written as {fmt}")
    if state.steps > max_steps:
        raise FieldError("steps", f"steps {state.steps} is above the export limit {max_steps}")
    race = script_race(state, max_runs=max_runs)
    try:
        if fmt == "numpy":
            content = numpy_script(race).encode()
        elif fmt == "torch":
            content = torch_script(race).encode()
        elif fmt == "jax":
            content = jax_script(race).encode()
        elif fmt == "keras":
            content = keras_script(race).encode()
        else:
            content = notebook_bytes(race)
    except Unexportable as exc:
        raise FieldError("format", f"this race cannot be written as {fmt}: {exc}") from None
    return ExportFile(content, MEDIA_TYPES[fmt], f"gradscape-{state.name}{SUFFIXES[fmt]}")


def export_hash(
    text: str,
    fmt: str,
    *,
    max_steps: int,
    max_runs: int = MAX_RUNS,
    link: str | None = None,
    progress: Progress | None = None,
) -> ExportFile:
    """:func:`export_state` of a hash (``#...``, ``...`` or a URL with a hash)."""
    check_format(fmt)
    state = parse_hash(text, max_steps=max_steps, max_runs=max_runs)
    return export_state(
        state, fmt, max_steps=max_steps, max_runs=max_runs, link=link, progress=progress
    )
