"""The surface's colour transform and colour scale, as the page's palette.js computes them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]

# palette.js SURFACE_COLORSCALE: viridis mixed 60% with white, reversed.
SURFACE_COLORSCALE: tuple[tuple[float, str], ...] = (
    (0.0, "#fef5a8"),
    (0.25, "#bfe9c0"),
    (0.5, "#a6d3d1"),
    (0.75, "#b1bad1"),
    (1.0, "#b499bb"),
)
# palette.js RUN_COLORS: one colour per run, by position.
RUN_COLORS: tuple[str, ...] = (
    "#d62728",
    "#1f4fd1",
    "#17853a",
    "#8e3fb8",
    "#d97000",
    "#00838f",
    "#8b4513",
    "#222222",
)
MINIMUM_COLOR = "#ffd23f"
CONTOURS = 28  # contour.js ncontours


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


@dataclass(frozen=True)
class ValueScale:
    """``log``: v -> log10(max(v - lo, 0) + delta), delta a millionth of the value range."""

    log: bool
    lo: float
    delta: float
    tickvals: list[float]
    ticktext: list[str]

    def apply(self, z: Array) -> Array:
        """The colour value of every surface value (NaN stays NaN)."""
        if not self.log:
            return np.asarray(z, dtype=np.float64)
        with np.errstate(all="ignore"):
            out: Array = np.log10(np.maximum(z - self.lo, 0.0) + self.delta)
        return out


def format_value(v: float, digits: int = 3) -> str:
    """palette.js ``formatValue``: 3 significant digits, exponent form outside 1e-3 .. 1e5."""
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    a = abs(v)
    if a < 1e-3 or a >= 1e5:
        mantissa, _, exp = f"{v:.{digits - 1}e}".partition("e")
        return f"{mantissa}e{int(exp)}"
    text = f"{float(f'{v:.{digits}g}'):.15g}"
    return text


def value_scale(z: Array, log_color: bool, known_minima: Sequence[float] = ()) -> ValueScale:
    """palette.js ``valueScale``: log colouring where the surface asks for it and the range
    allows; the known minima lower the floor (they may lie between grid points)."""
    finite = z[np.isfinite(z)]
    lo = float(finite.min()) if finite.size else math.inf
    hi = float(finite.max()) if finite.size else -math.inf
    for f in known_minima:
        if math.isfinite(f) and f < lo:
            lo = f
    span = hi - lo
    if not log_color or not math.isfinite(span) or span <= 0:
        return ValueScale(False, 0.0, 0.0, [], [])
    delta = span * 1e-6
    ks = range(math.ceil(math.log10(delta)), math.floor(math.log10(span + delta)) + 1)
    return ValueScale(
        True, lo, delta, [float(k) for k in ks], [format_value(lo + 10.0**k) for k in ks]
    )


def colors_at(t: Array) -> Array:
    """RGB (uint8, ``t.shape + (3,)``) of the colour scale at ``t`` in [0, 1]."""
    stops = np.array([s for s, _ in SURFACE_COLORSCALE])
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in SURFACE_COLORSCALE])
    t = np.clip(t, 0.0, 1.0)
    out = np.stack([np.interp(t, stops, rgb[:, ch]) for ch in range(3)], axis=-1)
    return np.round(out).astype(np.uint8)


def hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
