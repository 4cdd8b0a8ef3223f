"""An animated GIF of the race: the contour raster, the minima and the paths growing.

Frames are drawn with numpy (the surface, evaluated once per pixel and coloured with the page's
scale in bands like the page's filled contours) and Pillow (lines, markers, text), then share one
palette. At most ``MAX_FRAMES`` frames, spread evenly over the steps; the last one lingers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from server.export.compute import RaceResult
from server.export.scale import CONTOURS, MINIMUM_COLOR, colors_at, hex_rgb, run_color
from server.problems.base import Problem

WIDTH, HEIGHT = 480, 400
MAX_FRAMES = 100
FRAME_MS = 60
LAST_FRAME_MS = 2000
TOP, BOTTOM, SIDE = 22, 8, 8  # margins in pixels: the title line on top
LINE = (40, 55, 75)  # contour.js line colour, drawn at 28% opacity
TEXT = (29, 36, 48)
Rgb = tuple[int, int, int]


class _Frame:
    """Where the plot area sits on the image and how data coordinates map to pixels."""

    def __init__(self, domain: tuple[tuple[float, float], tuple[float, float]]) -> None:
        (self.x0, self.x1), (self.y0, self.y1) = domain
        room_w, room_h = WIDTH - 2 * SIDE, HEIGHT - TOP - BOTTOM
        ratio = (self.x1 - self.x0) / (self.y1 - self.y0)  # equal scales on both axes
        self.w = min(room_w, max(2, round(room_h * ratio)))
        self.h = min(room_h, max(2, round(self.w / ratio)))
        self.left = SIDE + (room_w - self.w) // 2
        self.top = TOP + (room_h - self.h) // 2

    def pixels(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """``(k, 2)`` pixel coordinates, clipped far outside the image so Pillow stays in range."""
        px = self.left + (x - self.x0) / (self.x1 - self.x0) * self.w
        py = self.top + (self.y1 - y) / (self.y1 - self.y0) * self.h
        out = np.column_stack([px, py])
        return np.clip(np.nan_to_num(out, nan=-1e4), -1e4, 1e4)


def surface_raster(result: RaceResult, problem: Problem, frame: _Frame) -> Image.Image:
    """The surface coloured per pixel in ``CONTOURS`` bands, with darker lines between bands."""
    s = result.surface
    xs = s.domain[0][0] + (np.arange(frame.w) + 0.5) / frame.w * (s.domain[0][1] - s.domain[0][0])
    ys = s.domain[1][1] - (np.arange(frame.h) + 0.5) / frame.h * (s.domain[1][1] - s.domain[1][0])
    with np.errstate(all="ignore"):
        z = np.asarray(problem.value(np.stack(np.meshgrid(xs, ys), axis=-1)), dtype=np.float64)
        t = s.scale.apply(z)
        ref = s.scale.apply(s.z)  # the colour range of the page's grid
    finite = ref[np.isfinite(ref)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    band = np.clip(np.floor((t - lo) / span * CONTOURS), 0, CONTOURS - 1)
    band = np.where(np.isfinite(t), band, -1)
    rgb = colors_at((band + 0.5) / CONTOURS).astype(np.float64)
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = rgb[edge] * 0.72 + np.array(LINE) * 0.28
    rgb[band < 0] = 255.0
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    image.paste(Image.fromarray(np.round(rgb).astype(np.uint8), "RGB"), (frame.left, frame.top))
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        (frame.left - 1, frame.top - 1, frame.left + frame.w, frame.top + frame.h), outline=LINE
    )
    for mx, my, _ in s.minima:
        ((cx, cy),) = frame.pixels(np.array([mx]), np.array([my])).tolist()
        draw.polygon(_star(cx, cy, 8.0), fill=hex_rgb(MINIMUM_COLOR), outline=TEXT)
    return image


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _draw_path(draw: ImageDraw.ImageDraw, shown: np.ndarray[Any, Any], color: Rgb) -> None:
    if len(shown) == 0:
        return
    keep = np.ones(len(shown), dtype=bool)  # drop points on the same pixel as the one before
    keep[1:] = np.any(np.abs(np.diff(np.round(shown), axis=0)) > 0, axis=1)
    pts = [(float(a), float(b)) for a, b in shown[keep]]
    if len(pts) > 1:
        draw.line(pts, fill=color, width=2, joint="curve")
    hx, hy = pts[-1]
    draw.ellipse((hx - 4, hy - 4, hx + 4, hy + 4), fill=color, outline="white")


def _legend(result: RaceResult) -> Image.Image:
    """A small box naming each run in its colour."""
    labels = [r.label if len(r.label) <= 44 else r.label[:43] + "…" for r in result.runs]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = int(max((probe.textlength(t) for t in labels), default=0)) + 26
    image = Image.new("RGB", (width, 12 * len(labels) + 6), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=LINE)
    for i, text in enumerate(labels):
        y = 4 + 12 * i
        draw.line((4, y + 5, 18, y + 5), fill=hex_rgb(run_color(i)), width=3)
        draw.text((22, y), text, fill=TEXT)
    return image


def frame_steps(last_step: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """The step shown by each frame: evenly spread from 0 to the last step, each at most once."""
    n = min(max_frames, last_step + 1)
    if n <= 1:
        return [0]
    return sorted({round(k * last_step / (n - 1)) for k in range(n)})


def render_gif(
    result: RaceResult,
    *,
    max_frames: int = MAX_FRAMES,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The GIF bytes; ``progress(frames drawn, frames)`` after each frame."""
    frame = _Frame(result.surface.domain)
    base = surface_raster(result, result.problem, frame)
    paths = [frame.pixels(r.points[:, 0], r.points[:, 1]) for r in result.runs]
    colors = [hex_rgb(run_color(i)) for i in range(len(result.runs))]
    title = f"{result.surface.title} · seed {result.state.seed}"
    steps = frame_steps(result.last_step, max_frames)
    box = (frame.left, frame.top, frame.left + frame.w, frame.top + frame.h)
    legend = _legend(result)
    images = []
    for n, step in enumerate(steps):
        layer = base.copy()
        draw = ImageDraw.Draw(layer)
        for path, color in zip(paths, colors, strict=True):
            _draw_path(draw, path[: step + 1], color)
        image = base.copy()
        image.paste(layer.crop(box), box[:2])  # paths leaving the plot stop at its edge
        draw = ImageDraw.Draw(image)
        draw.text((SIDE, 5), title, fill=TEXT)
        label = f"step {step} / {result.last_step}"
        draw.text((WIDTH - SIDE - draw.textlength(label), 5), label, fill=TEXT)
        image.paste(legend, (frame.left + 4, frame.top + frame.h - legend.height - 4))
        images.append(image)
        if progress is not None:
            progress(n + 1, len(steps))
    palette = images[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    out = io.BytesIO()
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        disposal=1,
    )
    return out.getvalue()
