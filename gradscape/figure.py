"""The Plotly figure of a race: the contour with every path, and each run's loss per step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from server.export.scale import MINIMUM_COLOR, SURFACE_COLORSCALE, run_color

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from gradscape.race import Result


def race_figure(result: Result) -> Figure:
    """Contour (coloured as the page colours it, log where the surface asks) with the paths and
    the known minima on the left; loss against step on the right (log axis when positive)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    plot = result.surface
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.58, 0.42],
        horizontal_spacing=0.1,
        subplot_titles=(plot.title, "loss"),
    )
    colour = plot.scale.apply(plot.z)
    fig.add_trace(
        go.Contour(
            x=plot.x,
            y=plot.y,
            z=colour,  # NaN where the surface is undefined: a gap
            colorscale=[list(c) for c in SURFACE_COLORSCALE],
            ncontours=30,
            showscale=False,
            hoverinfo="skip",
            name="surface",
        ),
        row=1,
        col=1,
    )
    if plot.minima:
        mx, my, _ = zip(*plot.minima, strict=True)
        fig.add_trace(
            go.Scatter(
                x=mx,
                y=my,
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": MINIMUM_COLOR},
                name="minima",
            ),
            row=1,
            col=1,
        )
    positive = True
    for i, (run, path) in enumerate(result.paths.items()):
        colour_i = run_color(i)
        label = result.titles.get(run, run)
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines",
                line={"color": colour_i, "width": 2},
                name=label,
                legendgroup=run,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=path[-1:, 0],
                y=path[-1:, 1],
                mode="markers",
                marker={"color": colour_i, "size": 9, "line": {"color": "white", "width": 1}},
                name=f"{run} end",
                legendgroup=run,
                showlegend=False,
            ),
            row=1,
            col=1,
        )
        positive = positive and bool(np.all(path[:, 2] > 0))
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(path)),
                y=path[:, 2],
                mode="lines",
                line={"color": colour_i, "width": 2},
                name=label,
                legendgroup=run,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    (x0, x1), (y0, y1) = plot.domain
    fig.update_xaxes(range=[x0, x1], title_text="x", row=1, col=1)
    fig.update_yaxes(range=[y0, y1], title_text="y", row=1, col=1)
    fig.update_xaxes(title_text="step", row=1, col=2)
    fig.update_yaxes(type="log" if positive else "linear", row=1, col=2)
    fig.update_layout(
        height=460,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
    )
    return fig
