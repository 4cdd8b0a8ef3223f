"""The standalone HTML export: one file with plotly.js, the surface and every path inlined.

Nothing in the file asks for anything over the network; it plays from ``file://``. Inlined text
is made safe for a ``<script>`` element: the data is JSON with every ``<`` written ``\\u003c``,
and in plotly.js any ``</script`` or ``<!--`` is broken with a backslash.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import plotly
from markupsafe import Markup

from server import __version__
from server.export.compute import RaceResult
from server.export.scale import MINIMUM_COLOR, SURFACE_COLORSCALE, run_color
from server.export.state import format_hash
from server.jsonenc import dumps

ROOT = Path(__file__).resolve().parents[2]
PLOTLY_PATH = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
F32_MAX = 1e38
_CLOSE = re.compile(r"</(script)", re.IGNORECASE)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def inline_plotly() -> Markup:
    """plotly.min.js made safe to sit inside a ``<script>`` element."""
    text = PLOTLY_PATH.read_text(encoding="utf-8")
    return Markup(_CLOSE.sub(r"<\\/\1", text).replace("<!--", "<\\!--"))


def script_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/json">``: no ``<`` can end the element."""
    return Markup(dumps(data).decode().replace("<", "\\u003c"))


def _f32(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Values for drawing: float32 halves the file and no one sees the difference (values beyond
    float32's range, as a diverging run reaches, stay float64)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        small = bool(np.all(~(np.abs(a) > F32_MAX)))  # NaN (a hole in the grid) is small
    return np.ascontiguousarray(a.astype(np.float32) if small else a)


def page_data(result: RaceResult) -> dict[str, Any]:
    s = result.surface
    z = s.scale.apply(s.z)
    return {
        "surface": {
            "x": s.x,
            "y": s.y,
            "z": _f32(z),  # NaN becomes null: a hole in the contour
            "domain": [list(s.domain[0]), list(s.domain[1])],
            "minima": [list(m) for m in s.minima],
            "tickvals": s.scale.tickvals or None,
            "ticktext": s.scale.ticktext or None,
            "colorscale": [list(c) for c in SURFACE_COLORSCALE],
            "minimum_color": MINIMUM_COLOR,
        },
        "start": list(result.start),
        "last": result.last_step,
        "speed": result.state.speed,
        "runs": [
            {
                "id": r.id,
                "label": r.label,
                "color": run_color(i),
                "status": r.status,
                "stop": r.stop_step,
                "x": _f32(r.points[:, 0]),
                "y": _f32(r.points[:, 1]),
                "loss": _f32(r.points[:, 2]),
            }
            for i, r in enumerate(result.runs)
        ],
    }


def render_html(result: RaceResult, link: str | None = None) -> bytes:
    """The page; ``link`` is the Gradscape URL (with the hash) the race came from, if known."""
    state = result.state
    s = result.surface
    title = f"{s.title}: {s.formula}" if s.formula and s.formula != s.title else s.title
    if state.custom:
        title = f"f(x, y) = {s.formula}"
    template = _environment().get_template("export.html")
    text = template.render(
        title=title,
        surface=state.surface,
        seed=state.seed,
        steps=state.steps,
        start=f"({result.start[0]:g}, {result.start[1]:g})",
        runs=len(result.runs),
        hash="#" + format_hash(state),
        link=link,
        version=__version__,
        plotly_js=inline_plotly(),
        data=script_json(page_data(result)),
    )
    return text.encode("utf-8")
