"""``--format ipynb``: the race as a Jupyter notebook (nbformat 4): the numpy script and the
PyTorch script as cells, each run's path from both, their largest difference, the CSV rows, and
a Plotly figure of the paths on the contour (of a network race: its loss curves). Plain JSON:
nbformat is not needed to write it."""

from __future__ import annotations

import json
from typing import Any

from server import __version__
from server.export.network_race import NetworkRace
from server.export.network_scripts import CSV as NETWORK_CSV
from server.export.network_scripts import network_numpy_script
from server.export.network_torch import network_torch_script
from server.export.race_spec import CSV_DOC, ScriptRace
from server.export.scripts_numpy import numpy_script
from server.export.scripts_torch import torch_script

_MAIN = 'if __name__ == "__main__":\n    main()\n'

_COLLECT = """\
numpy_paths = {run["id"]: follow(i, run) for i, run in enumerate(RUNS)}
f_numpy = f  # the next cell defines f again, in torch
for run in RUNS:
    points = numpy_paths[run["id"]]
    print(run["id"], run["optimizer"], f"{len(points) - 1} steps, ends at", points[-1] if points else None)
"""
_COLLECT_TORCH = """\
torch_paths = {run["id"]: follow(i, run) for i, run in enumerate(RUNS)}
for run in RUNS:
    a, b = np.array(numpy_paths[run["id"]]), np.array(torch_paths[run["id"]])
    same = a.shape == b.shape
    gap = float(np.abs(a - b).max()) if same and a.size else 0.0
    print(run["id"], run["optimizer"], "same steps" if same else "different steps", f"largest difference {gap:.3g}")
"""
_CSV = """\
print("run,optimizer,step,x,y,loss")
for run in RUNS:
    for k, (x, y, loss) in enumerate(numpy_paths[run["id"]][:3]):
        print(f"{run['id']},{run['optimizer']},{k},{x!r},{y!r},{loss!r}")
    print("...")
"""
_FIGURE = """\
import plotly.graph_objects as go

(x0, x1), (y0, y1) = DOMAIN
xs, ys = np.linspace(x0, x1, 120), np.linspace(y0, y1, 120)
with np.errstate(all="ignore"):
    z = f_numpy(np.stack(np.meshgrid(xs, ys), axis=-1))
z = np.where(np.isfinite(z), z, np.nan)
shown = np.log10(z - np.nanmin(z) + 1e-3) if LOG_COLOUR else z
figure = go.Figure(go.Contour(x=xs, y=ys, z=shown, colorscale="Viridis", showscale=False, ncontours=30))
for run in RUNS:
    points = np.array(numpy_paths[run["id"]])
    if len(points):
        figure.add_scatter(x=points[:, 0], y=points[:, 1], mode="lines", name=f"{run['id']} {run['optimizer']}")
figure.update_layout(title=TITLE, width=700, height=600, xaxis_range=[x0, x1], yaxis_range=[y0, y1])
figure
"""


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _code(text: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": _lines(text.rstrip("\n")),
    }


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text.rstrip("\n"))}


def _body(script: str) -> str:
    """A script without its docstring and its ``main()`` call: the definitions alone."""
    end = script.index('"""', 3) + 3
    return script[end:].replace(_MAIN, "").strip("\n") + "\n"


def notebook(race: ScriptRace) -> dict[str, Any]:
    """The notebook as nbformat 4 JSON data."""
    if race.surface is not None:
        domain = race.surface.spec.domain
        log = race.surface.spec.log_color
    else:
        assert race.expression is not None
        domain = race.state.domain or race.expression.domain
        log = False
    settings = (
        f"DOMAIN = {json.dumps([list(d) for d in domain])}\n"
        f"LOG_COLOUR = {log}\nTITLE = {json.dumps(race.problem_title)}\n"
    )
    runs = ", ".join(f"**{r.id}** {r.title}" for r in race.runs)
    cells = [
        _markdown(
            f"# Gradscape race: {race.problem_title}\n\n"
            f"Runs {runs}; seed {race.seed}, {race.steps} steps "
            f"(link state `#{race.hash}`).\n\n"
            "The first code cell is the race written with numpy alone: the surface, each "
            "optimizer's update and the schedules are Gradscape's own code, and the loop is the "
            "engine's. The second is the same race in PyTorch (autograd, `torch.optim`, "
            "`torch.optim.lr_scheduler`). Both give the points the live page drew; the exported "
            f"`.py` scripts print them as CSV: {CSV_DOC}."
        ),
        _code(_body(numpy_script(race))),
        _code(_COLLECT),
        _markdown("## The same race in PyTorch (needs `pip install torch`)"),
        _code(_body(torch_script(race))),
        _code(_COLLECT_TORCH),
        _markdown("## The first rows of the CSV, and the paths"),
        _code(_CSV),
        _code(settings + _FIGURE),
    ]
    return _document(cells, race.hash)


def _document(cells: list[dict[str, Any]], link: str) -> dict[str, Any]:
    for i, cell in enumerate(cells):
        cell["id"] = f"gradscape-{i}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "gradscape": {"version": __version__, "hash": link},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


_NET_COLLECT = """\
numpy_losses = {run["id"]: follow(i, run) for i, run in enumerate(RUNS)}
for run in RUNS:
    losses = numpy_losses[run["id"]]
    print(run["id"], run["optimizer"], f"{len(losses) - 1} steps, final loss {losses[-1]!r}")
"""
_NET_COMPARE = """\
torch_losses = {run["id"]: follow(i, run) for i, run in enumerate(RUNS)}
for run in RUNS:
    a, b = np.array(numpy_losses[run["id"]]), np.array(torch_losses[run["id"]])
    same = a.shape == b.shape
    gap = float(np.abs(a - b).max()) if same and a.size else 0.0
    print(run["id"], run["optimizer"], "same steps" if same else "different steps", f"largest difference {gap:.3g}")
"""
_NET_FIGURE = """\
import plotly.graph_objects as go

figure = go.Figure()
for run in RUNS:
    losses = numpy_losses[run["id"]]
    figure.add_scatter(y=losses, mode="lines", name=f"{run['id']} {run['optimizer']}")
figure.update_layout(title=TITLE, xaxis_title="step", yaxis_title="training loss", yaxis_type="log")
figure
"""


def network_notebook(net: NetworkRace) -> dict[str, Any]:
    """A network race's notebook: both scripts, their losses compared, the loss curves."""
    runs = ", ".join(f"**{r.id}** {r.title}" for r in net.runs)
    cells = [
        _markdown(
            f"# Gradscape race: {net.title}\n\n"
            f"Runs {runs}; seed {net.state.seed}, {net.state.steps} steps "
            f"(link state `#{net.hash}`).\n\n"
            "The first code cell trains the network with numpy alone: the data, the initial "
            "weights and the mini-batch order are the live race's, the layers, the loss and each "
            "optimizer's update are Gradscape's own code. The second trains it in PyTorch "
            "(`nn.Sequential`, autograd, `torch.optim`). The exported `.py` scripts print the "
            f"losses as CSV: {NETWORK_CSV}."
        ),
        _code(_body(network_numpy_script(net))),
        _code(_NET_COLLECT),
        _markdown("## The same training in PyTorch (needs `pip install torch`)"),
        _code(_body(network_torch_script(net))),
        _code(_NET_COMPARE),
        _markdown("## The loss curves"),
        _code(f"TITLE = {json.dumps(net.title)}\n" + _NET_FIGURE),
    ]
    return _document(cells, net.hash)


def notebook_bytes(race: ScriptRace | NetworkRace) -> bytes:
    data = network_notebook(race) if isinstance(race, NetworkRace) else notebook(race)
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode()
