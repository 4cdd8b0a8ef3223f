"""The main plot stays on screen (issue #11, item 10).

At each of three screens (a small laptop, a full-HD projector, a phone), with 2 or 8 runs, the
room panel open, presenter mode, and inside an embed iframe, the contour's plot area and its tick
labels lie inside the viewport and inside the figure (nothing cut by the figure's edge either),
once the layout has settled. In presenter mode a run's lr
slider can be brought on screen while the plot stays there. Screenshots of every case go to
test-results/fit/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from .conftest import Watch
from .test_page import CONTOUR_DRAWN, EIGHT_RUNS, LENGTHS

SHOTS = Path("test-results") / "fit"
SIZES = [(1024, 768), (1920, 1080), (390, 844)]
RACE = "#surface=rosenbrock&seed=0&steps=2000"

# The plot as a person sees it: the plot area and every tick label and axis title, in the
# viewport's coordinates of the document the plot is in; and the figure's box around it.
PLOT_BOX = """() => {
  const parts = document.querySelectorAll(
    '#contour .nsewdrag, #contour-bg .xtick text, #contour-bg .ytick text, #contour-bg .xtitle');
  let l = Infinity, t = Infinity, r = -Infinity, b = -Infinity;
  for (const p of parts) {
    const q = p.getBoundingClientRect();
    if (q.width === 0 && q.height === 0) continue;
    l = Math.min(l, q.left); t = Math.min(t, q.top); r = Math.max(r, q.right); b = Math.max(b, q.bottom);
  }
  const f = document.getElementById('figure').getBoundingClientRect();
  const round = (v) => Math.round(v * 10) / 10;
  return {plot: [l, t, r, b].map(round), figure: [f.left, f.top, f.right, f.bottom].map(round),
          view: [innerWidth, innerHeight]};
}"""


def settled_box(where: Page | Frame, page: Page) -> dict[str, Any]:
    """The plot's box once three readings 250 ms apart agree (plots resize a frame after boxes)."""
    last: list[Any] = []
    for _ in range(60):
        box: dict[str, Any] = where.evaluate(PLOT_BOX)
        last = [*last[-2:], box]
        if len(last) == 3 and last[0] == last[1] == last[2]:
            return box
        page.wait_for_timeout(250)
    raise AssertionError(f"the layout did not settle: {last}")


def inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def assert_plot_on_screen(box: dict[str, Any], what: str) -> None:
    w, h = box["view"]
    assert inside(box["plot"], [0, 0, w, h]), f"{what}: the plot leaves the viewport: {box}"
    assert inside(box["plot"], box["figure"]), f"{what}: the plot is cut by its figure: {box}"
    height = box["plot"][3] - box["plot"][1]
    assert height >= 200, f"{what}: the plot is only {height:.0f} px tall: {box}"


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    w, h = request.param
    phone = w < 500
    context = browser.new_context(
        viewport={"width": w, "height": h},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )
    watch = Watch()
    context.on("console", watch.on_console)
    context.on("request", watch.on_request)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not watch.foreign and not watch.errors, (watch.foreign, watch.errors)


def open_race(page: Page, base_url: str, hash_: str) -> None:
    page.goto(f"{base_url}/{hash_}")
    page.wait_for_function(CONTOUR_DRAWN)
    page.wait_for_function(f"() => ({LENGTHS})().length > 0 && ({LENGTHS})().every(n => n > 2)")


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 0, "height": 0}
    page.screenshot(path=str(SHOTS / f"{name}-{size['width']}x{size['height']}.png"))


def test_plot_on_screen_with_two_runs(screen: Page, base_url: str) -> None:
    open_race(screen, base_url, "")
    box = settled_box(screen, screen)
    shoot(screen, "normal")
    assert_plot_on_screen(box, "the default race")


def test_plot_on_screen_with_eight_runs(screen: Page, base_url: str) -> None:
    open_race(screen, base_url, f"{RACE}&{EIGHT_RUNS}")
    box = settled_box(screen, screen)
    shoot(screen, "eight-runs")
    assert_plot_on_screen(box, "8 runs")


def test_plot_on_screen_with_the_room_open(screen: Page, base_url: str) -> None:
    open_race(screen, base_url, f"{RACE}&{EIGHT_RUNS}")
    screen.click("#room-button")
    expect(screen.locator("#room-code")).to_have_text(re.compile(r"^\w+$"))
    box = settled_box(screen, screen)
    shoot(screen, "room")
    assert_plot_on_screen(box, "the room open")
    # the QR code opens over the page: the room panel keeps its height, the plot its place
    panel = screen.locator("#room-panel")
    height = panel.evaluate("el => el.getBoundingClientRect().height")
    screen.locator(".room-qr-box > summary").click()
    expect(screen.locator("#room-qr")).to_be_visible()
    assert panel.evaluate("el => el.getBoundingClientRect().height") == height
    assert_plot_on_screen(settled_box(screen, screen), "the room's QR code open")
    shoot(screen, "room-qr")


def test_plot_on_screen_in_presenter_mode_while_steering(screen: Page, base_url: str) -> None:
    open_race(screen, base_url, f"{RACE}&{EIGHT_RUNS}&present=1")
    expect(screen.locator("body")).to_have_class("presenting")
    box = settled_box(screen, screen)
    shoot(screen, "presenter")
    assert_plot_on_screen(box, "presenter mode, 8 runs")
    size = screen.viewport_size
    assert size
    if size["width"] < 1000:
        return  # a phone: the settings come below the race, there is no room beside it
    # the last run's lr slider, brought on screen, with the plot still whole beside it
    slider = screen.locator("#run-h-lr-range")
    slider.scroll_into_view_if_needed()
    screen.wait_for_timeout(300)
    s = slider.bounding_box()
    assert s, "the slider has no box"
    assert inside([s["x"], s["y"], s["x"] + s["width"], s["y"] + s["height"]], [0, 0, *box["view"]])
    hit = screen.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.id",
        [s["x"] + s["width"] / 2, s["y"] + s["height"] / 2],
    )
    assert hit == "run-h-lr-range", f"the slider is covered by {hit}"
    steering = settled_box(screen, screen)
    shoot(screen, "presenter-steering")
    assert_plot_on_screen(steering, "presenter mode, the slider of run h on screen")


def test_plot_on_screen_inside_an_embed_iframe(screen: Page, base_url: str) -> None:
    """The Share dialog's snippet with 8 runs: 800 x 500 with every control in presenter style
    (the most a frame has to hold); on a phone, full width at 16:10 (234 px tall) as a course
    page shows the default snippet (play / pause)."""
    size = screen.viewport_size
    assert size
    if size["width"] >= 820:
        src = f"{base_url}/embed{RACE}&{EIGHT_RUNS}&controls=all&present=1"
        frame_style = 'width="800" height="500" style="border: 0"'
    else:
        src = f"{base_url}/embed{RACE}&{EIGHT_RUNS}&controls=play"
        frame_style = 'style="width: 100%; aspect-ratio: 16 / 10; border: 0"'

    host = f"""<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>A course page</title></head><body style="margin: 0; padding: 8px">
<h1 style="font: 600 18px sans-serif">Lecture 3: momentum</h1>
<iframe id="race" src="{src}" {frame_style}></iframe></body></html>"""
    screen.route(
        f"{base_url}/course", lambda route: route.fulfill(body=host, content_type="text/html")
    )
    screen.goto(f"{base_url}/course")
    frame = screen.frame_locator("#race")
    expect(frame.locator("#contour-bg .contourlayer path").first).to_be_attached()
    inner = next(f for f in screen.frames if f.url.startswith(f"{base_url}/embed"))
    inner.wait_for_function(f"() => ({LENGTHS})().length === 8")
    box = settled_box(inner, screen)
    shoot(screen, "embed")
    w, h = box["view"]
    assert inside(box["plot"], [0, 0, w, h]), f"the plot leaves the frame: {box}"
    assert inside(box["plot"], box["figure"]), f"the plot is cut by its figure: {box}"
    outer = screen.locator("#race").bounding_box()
    assert outer
    assert outer["y"] + outer["height"] <= size["height"], "the frame itself is below the fold"


# Each default path in screen pixels of the contour, and the start and axis ranges.
DEFAULT_VIEW = """() => {
  const gd = document.getElementById('contour');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const px = (t) => Array.from(t.x, (x, i) => [xa.l2p(x), ya.l2p(t.y[i])]);
  const paths = gd.data.filter((t) => t.meta && t.meta.kind === 'path');
  const start = gd.data.find((t) => t.meta && t.meta.kind === 'start');
  return {paths: paths.map(px), names: paths.map((t) => t.name), start: [start.x[0], start.y[0]],
          x: xa.range, y: ya.range};
}"""


def test_default_race_shows_two_different_paths_away_from_the_edges(
    gs: Page, base_url: str
) -> None:
    """Issue #11, item 11: on first load Adam's path is not hidden under momentum's, and the
    start is not on the plot's edge."""
    gs.set_viewport_size({"width": 1440, "height": 900})
    open_race(gs, base_url, "")
    gs.wait_for_function(f"() => ({LENGTHS})().every(n => n > 150)")
    view = gs.evaluate(DEFAULT_VIEW)
    shoot(gs, "default-race")
    (x0, x1), (y0, y1) = view["x"], view["y"]
    sx, sy = view["start"]
    margin = 0.05
    assert x0 + margin * (x1 - x0) < sx < x1 - margin * (x1 - x0), view
    assert y0 + margin * (y1 - y0) < sy < y1 - margin * (y1 - y0), view
    adam, momentum = (p[:150] for p in view["paths"])

    def apart(a: list[list[float]], b: list[list[float]]) -> float:
        """The share of a's points more than 12 px from every point of b."""
        far = [min(math.dist(p, q) for q in b) > 12 for p in a[1:]]
        return sum(far) / len(far)

    assert apart(adam, momentum) > 0.5 and apart(momentum, adam) > 0.5, (
        view["names"],
        apart(adam, momentum),
        apart(momentum, adam),
    )
