"""The analysis views in real Chromium: the basin map on the contour, the learning-rate sweep,
"Tune all" and its leaderboard, each against the same request answered by the REST routes."""

from __future__ import annotations

import json
import math
import time
from typing import Any
from urllib.parse import unquote

import httpx
from playwright.sync_api import Page, Request, WebSocket, expect

from .conftest import SCREENSHOTS, Watch

HIMMELBLAU = "#surface=himmelblau&seed=0&steps=2000&run=sgd,lr:0.01"
CONTOUR_DRAWN = """() => {
    const bg = document.getElementById('contour-bg');
    return !!(bg && bg.data && bg.data[0] && bg.querySelector('.contourlayer path'));
}"""
# The basin canvas, one pixel per cell (canvas row 0 is the grid's top row), and the colour the
# page gives each `minimum` value.
CANVAS = """async (ks) => {
    const m = await import('/static/js/basinlayer.js');
    const c = document.querySelector('.basin-canvas');
    const data = Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
    return {w: c.width, h: c.height, data, colors: Object.fromEntries(ks.map(k => [k, m.rgb(m.basinColor(k))]))};
}"""
# Client pixel of a data point on the plot of the paths (or on the sweep chart, log axes).
TO_CLIENT = """([id, x, y]) => {
    const gd = document.getElementById(id);
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const lin = (a, v) => a.type === 'log' ? Math.log10(v) : v;
    const box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(lin(xa, x)), box.top + ya._offset + ya.l2p(lin(ya, y))];
}"""
PLOT_AREA = """(id) => {
    const gd = document.getElementById(id);
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    return [box.left + xa._offset, box.top + ya._offset,
            box.left + xa._offset + xa._length, box.top + ya._offset + ya._length];
}"""
PATH_A = """() => { const t = (document.getElementById('contour').data || [])
    .find(t => t.meta && t.meta.kind === 'path' && t.meta.run === 'a');
    return t ? {x: Array.from(t.x), y: Array.from(t.y)} : null; }"""
SWEEP_TRACES = """() => document.getElementById('sweep-chart').data
    .filter(t => t.meta && t.meta.run)
    .map(t => ({kind: t.meta.kind, run: t.meta.run, x: Array.from(t.x), y: Array.from(t.y),
                idx: Array.from(t.customdata)}))"""


def open_race(page: Page, base_url: str, hash_: str) -> None:
    page.goto(f"{base_url}/{hash_}")
    page.wait_for_function(CONTOUR_DRAWN)
    expect(page.locator("#basin-draw")).to_be_enabled()


def hash_of(page: Page) -> str:
    return unquote(page.evaluate("() => location.hash"))


def start_in_hash(page: Page) -> tuple[float, float] | None:
    for part in hash_of(page).lstrip("#").split("&"):
        if part.startswith("start="):
            x, y = part[len("start=") :].split(",")
            return float(x), float(y)
    return None


def body_of(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(request.post_data or "{}")
    return out


def draw_map(page: Page, n: int, steps: int) -> dict[str, Any]:
    """Draw a basin map from the panel; returns the body the page posted."""
    page.select_option("#basin-n", str(n))
    page.fill("#basin-steps", str(steps))
    with page.expect_request("**/api/basin/stream") as asked:
        page.click("#basin-draw")
    return body_of(asked.value)


def test_basin_map_is_the_rest_map_and_a_cell_starts_the_runs_there(
    gs: Page, base_url: str
) -> None:
    gs.set_viewport_size({"width": 1440, "height": 900})
    open_race(gs, base_url, HIMMELBLAU + "&speed=400")
    body = draw_map(gs, 40, 300)
    expect(gs.locator("#basin-status")).to_contain_text("Done", timeout=20_000)
    assert body["surface"] == "himmelblau" and body["optimizer"] == "sgd"
    assert body["hyper"] == {"lr": 0.01} and body["n"] == 40 and body["steps"] == 300
    assert body["domain"] == [[-5, 5], [-5, 5]]
    rest = httpx.post(f"{base_url}/api/basin", json=body, timeout=30).json()
    minimum: list[list[int]] = rest["minimum"]
    assert {k for row in minimum for k in row} == {0, 1, 2, 3}  # Himmelblau's four basins

    # every cell of the canvas has the colour of the REST map's minimum for that start
    got = gs.evaluate(CANVAS, [-2, -1, 0, 1, 2, 3])
    assert (got["w"], got["h"]) == (40, 40)
    colours = set()
    for i in range(40):
        for j in range(40):
            at = ((39 - i) * 40 + j) * 4
            pixel = got["data"][at : at + 4]
            assert pixel == [*got["colors"][str(minimum[i][j])], 255], (i, j)
            colours.add(tuple(pixel))
    assert len(colours) == 4
    for k in range(4):  # the key counts the same starts
        count = sum(row.count(k) for row in minimum)
        expect(gs.locator(f'#basin-legend li[data-minimum="{k}"]')).to_have_attribute(
            "data-count", str(count)
        )
    gs.screenshot(path=str(SCREENSHOTS / "basin-map.png"))

    # a click on an interior cell of basin 2 starts every run from that cell's own start
    i, j = next(
        (i, j)
        for i in range(2, 38)
        for j in range(2, 38)
        if all(minimum[i + a][j + b] == 2 for a in (-1, 0, 1) for b in (-1, 0, 1))
    )
    x, y = rest["x"][j], rest["y"][i]
    gs.mouse.click(*gs.evaluate(TO_CLIENT, ["contour", x, y]))
    gs.wait_for_function("() => location.hash.includes('start=')")
    assert start_in_hash(gs) == (x, y)
    # the race stops the run once it converged, or at the map's 300 steps at the latest
    gs.wait_for_function(
        f"() => {{ const p = ({PATH_A})(); return p && (p.x.length > 300"
        " || document.getElementById('legend').textContent.includes('converged')); }"
    )
    path = gs.evaluate(PATH_A)
    assert (path["x"][0], path["y"][0]) == (x, y)
    mx, my, _ = rest["minima"][2]
    last = min(300, len(path["x"]) - 1)
    assert math.hypot(path["x"][last] - mx, path["y"][last] - my) <= body["tol"]

    # the keyboard: Tab reaches the map, the arrows move a cursor, Enter starts from its cell
    gs.focus(".basin-layer")
    expect(gs.locator("#basin-cell")).to_contain_text("Start (")
    for _ in range(3):
        gs.keyboard.press("ArrowLeft")
    gs.keyboard.press("ArrowUp")
    gs.keyboard.press("Enter")
    gs.wait_for_function(f"() => !location.hash.includes('start={x},{y}')")
    assert start_in_hash(gs) == (rest["x"][20 - 3], rest["y"][20 + 1])

    # the second view: steps to tolerance, on a scale
    gs.click("#basin-view-steps")
    expect(gs.locator("#basin-view-steps")).to_have_attribute("aria-pressed", "true")
    expect(gs.locator("#basin-legend")).to_contain_text("steps to within tol")
    gs.click("#basin-hide")
    expect(gs.locator("#basin-key")).to_be_hidden()


THUMBS = """async (ks) => {
    const m = await import('/static/js/basinlayer.js');
    const colors = Object.fromEntries(ks.map(k => [k, m.rgb(m.basinColor(k))]));
    return [...document.querySelectorAll('canvas.basin-thumb')].map(c => ({run: c.dataset.run,
        w: c.width, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),
        colors}));
}"""


def test_every_runs_map_side_by_side_is_its_rest_map(gs: Page, base_url: str) -> None:
    gs.set_viewport_size({"width": 1440, "height": 900})
    open_race(gs, base_url, HIMMELBLAU + "&speed=5&run=momentum,lr:0.002&run=adam,lr:0.05")
    bodies: list[dict[str, Any]] = []
    gs.on("request", lambda r: bodies.append(body_of(r)) if "/basin/stream" in r.url else None)
    gs.select_option("#basin-n", "40")
    gs.fill("#basin-steps", "300")
    gs.click("#basin-all")
    expect(gs.locator("#basin-status")).to_contain_text("Done: 3 maps", timeout=30_000)
    assert [b["optimizer"] for b in bodies] == ["sgd", "momentum", "adam"]
    thumbs = gs.evaluate(THUMBS, [-2, -1, 0, 1, 2, 3])
    assert [t["run"] for t in thumbs] == ["a", "b", "c"]
    maps = []
    for body, thumb in zip(bodies, thumbs, strict=True):
        minimum = httpx.post(f"{base_url}/api/basin", json=body, timeout=30).json()["minimum"]
        maps.append(minimum)
        want = [
            [*thumb["colors"][str(minimum[i][j])], 255]
            for i in reversed(range(40))  # the canvas's top row is the grid's last
            for j in range(40)
        ]
        got = [thumb["data"][k : k + 4] for k in range(0, len(thumb["data"]), 4)]
        assert got == want, thumb["run"]
    assert maps[0] != maps[2]  # SGD and Adam do not share their basins cell for cell
    gs.locator("#basin-card").scroll_into_view_if_needed()
    gs.screenshot(path=str(SCREENSHOTS / "basin-side-by-side.png"))


def test_on_a_phone_refusals_name_the_field_cancel_stops_the_server_and_all_fits(
    gs: Page, base_url: str, watch: Watch
) -> None:
    watch.allow("status of 422")  # Chromium logs the refused request itself
    gs.set_viewport_size({"width": 390, "height": 844})
    open_race(gs, base_url, HIMMELBLAU + "&speed=5&run=adam,lr:0.05")
    # refused by the server (n² x steps too large) and by the page (steps 0): the field named
    gs.fill("#basin-steps", "5000")
    gs.select_option("#basin-n", "250")
    gs.click("#basin-draw")
    expect(gs.locator("#basin-error")).to_contain_text("steps")
    expect(gs.locator("#basin-error")).to_contain_text("above the limit")
    expect(gs.locator("#basin-steps")).to_have_attribute("aria-invalid", "true")
    gs.fill("#basin-steps", "0")
    gs.click("#basin-draw")
    expect(gs.locator("#basin-error")).to_contain_text("steps: give a whole number from 1 to 20000")

    # Cancel: the page keeps what came, and the server stops the map
    draw_map(gs, 250, 2000)
    gs.wait_for_function("() => document.getElementById('basin-progress').value > 0")
    gs.click("#basin-cancel")
    expect(gs.locator("#basin-status")).to_contain_text("Cancelled at")
    expect(gs.locator("#basin-cancel")).to_be_disabled()
    expect(gs.locator("#basin-error")).to_have_text("")
    done = gs.evaluate("() => document.getElementById('basin-progress').value")
    assert 0 < done < 1
    # the worker thread answers another map at once, where the rest of this one (over 3 s of
    # work unloaded) would have kept it busy
    t0 = time.monotonic()
    small = {"surface": "booth", "optimizer": "adam", "n": 4, "steps": 7}
    assert httpx.post(f"{base_url}/api/basin", json=small, timeout=30).status_code == 200
    assert time.monotonic() - t0 < 1.5
    alpha = gs.evaluate(
        "() => { const c = document.querySelector('.basin-canvas');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let k = 3; k < d.length; k += 4) if (d[k]) n++; return n; }"
    )
    assert 0 < alpha < 250 * 250  # the rows never sent stay empty

    # the whole analysis on a phone: no sideways scroll
    draw_map(gs, 40, 200)
    expect(gs.locator("#basin-status")).to_contain_text("Done", timeout=20_000)
    gs.click("#sweep-run")
    expect(gs.locator("#sweep-status")).to_contain_text("Swept")
    gs.fill("#tune-trials", "8")
    gs.click("#tune-all")
    expect(gs.locator("#tune-status")).to_contain_text("Tuned")
    width = gs.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways"
    gs.locator("#legend").scroll_into_view_if_needed()
    gs.screenshot(path=str(SCREENSHOTS / "analysis-phone.png"))
    gs.locator("#tune-card").scroll_into_view_if_needed()
    gs.screenshot(path=str(SCREENSHOTS / "analysis-phone-results.png"))


def test_sweep_points_are_the_rest_sweep_and_a_click_sets_the_lr_live(
    gs: Page, base_url: str
) -> None:
    acks: list[dict[str, Any]] = []

    def on_ws(ws: WebSocket) -> None:
        def got(payload: str | bytes) -> None:
            m = json.loads(payload)
            if m.get("type") == "ack" and m.get("of") == "set":
                acks.append(m)

        ws.on("framereceived", got)

    gs.on("websocket", on_ws)
    # runs slow enough to be still running when the point is clicked (a stopped run restarts)
    open_race(
        gs, base_url, "#surface=himmelblau&steps=2000&speed=20&run=sgd,lr:0.0001&run=adam,lr:0.001"
    )
    bodies: list[dict[str, Any]] = []
    gs.on("request", lambda r: bodies.append(body_of(r)) if r.url.endswith("/api/sweep") else None)
    gs.click("#sweep-run")
    expect(gs.locator("#sweep-status")).to_contain_text("Swept 2 runs")
    assert sorted(b["optimizer"] for b in bodies) == ["adam", "sgd"]
    traces = gs.evaluate(SWEEP_TRACES)
    a_body = next(b for b in bodies if b["optimizer"] == "sgd")
    assert a_body["n"] == 64 and math.isclose(a_body["lr_max"] / a_body["lr_min"], 1e6)
    assert a_body["start"] == [-0.5, -1.5] and a_body["steps"] == 2000
    rest = httpx.post(f"{base_url}/api/sweep", json=a_body, timeout=30).json()
    curve = next(t for t in traces if t["run"] == "a" and t["kind"] == "sweep")
    off = next(t for t in traces if t["run"] == "a" and t["kind"] == "diverged")
    assert sorted(curve["idx"] + off["idx"]) == list(range(64))
    assert curve["x"] == [rest["lr"][i] for i in curve["idx"]]
    for y, i in zip(curve["y"], curve["idx"], strict=True):  # f* = 0; a loss of 0 on the log floor
        assert y == rest["final_loss"][i] or rest["final_loss"][i] <= 0 < y
    assert off["x"] == [lr for lr, d in zip(rest["lr"], rest["diverged"], strict=True) if d]
    assert rest["edge"] is not None  # SGD on Himmelblau diverges within these six decades
    shapes = gs.evaluate("() => document.getElementById('sweep-chart').layout.shapes")
    assert any(s["x0"] == rest["edge"] for s in shapes)
    gs.screenshot(path=str(SCREENSHOTS / "lr-sweep.png"), full_page=True)
    gs.click("#sweep-y-steps")  # the other view: steps to f* + tol, the unreached on top
    steps = next(t for t in gs.evaluate(SWEEP_TRACES) if t["run"] == "a" and t["kind"] == "sweep")
    assert steps["y"] == [rest["steps_to_tol"][i] for i in steps["idx"]]
    assert all(rest["steps_to_tol"][i] is not None for i in steps["idx"])
    gs.click("#sweep-y-loss")

    # a click on a point of run a (the one farthest from run b's) sets a's lr, acked by the server
    gs.locator("#sweep-chart").scroll_into_view_if_needed()
    others = [
        (x, y) for t in traces if t["run"] == "b" for x, y in zip(t["x"], t["y"], strict=True)
    ]
    mine = list(zip(curve["x"], curve["y"], strict=True))
    pixels = gs.evaluate(
        f"(ps) => ps.map(p => ({TO_CLIENT})(['sweep-chart', p[0], p[1]]))", mine + others
    )
    left, top, right, bottom = gs.evaluate(PLOT_AREA, "sweep-chart")
    shown = [
        n
        for n, (px, py) in enumerate(pixels[: len(mine)])
        if left < px < right and top < py < bottom
    ]
    k = max(shown, key=lambda n: min(math.dist(pixels[n], q) for q in pixels[len(mine) :]))
    lr = curve["x"][k]
    gs.mouse.move(*pixels[k])
    gs.mouse.click(*pixels[k])
    deadline = time.monotonic() + 10
    while not acks and time.monotonic() < deadline:
        gs.wait_for_timeout(100)
    assert acks and acks[0]["run"] == "a"
    gs.wait_for_function("() => location.hash.includes('chg=a,')")
    changes = [p.split(",") for p in hash_of(gs).lstrip("#").split("&") if p.startswith("chg=")]
    assert [(c[1], float(c[2].removeprefix("lr:"))) for c in changes] == [
        (str(acks[0]["step"]), lr)
    ]

    # the keyboard: the run's slider walks the swept points, the button uses one
    gs.focus("#sweep-pick-b")
    gs.keyboard.press("ArrowLeft")
    expect(gs.locator("#sweep-pick-b-out")).to_contain_text("lr ")
    gs.click("#sweep-pick-b-use")
    expect(gs.locator("#sweep-status")).to_contain_text("b · Adam: lr set to")


def test_tune_all_gives_the_rest_leaderboard_restarts_and_the_link_keeps_it(
    gs: Page, base_url: str
) -> None:
    open_race(gs, base_url, HIMMELBLAU + "&speed=5&run=adam,lr:0.05")
    gs.fill("#tune-lr-min", "2")  # above lr to: refused on the page, naming the field
    expect(gs.locator("#tune-error")).to_have_text("lr_max: must be above lr_min")
    expect(gs.locator("#tune-lr-max")).to_have_attribute("aria-invalid", "true")
    gs.fill("#tune-lr-min", "0.0001")
    expect(gs.locator("#tune-error")).to_have_text("")
    gs.fill("#tune-trials", "12")
    gs.fill("#tune-steps", "400")
    gs.select_option("#tune-criterion", "final_loss")
    expect(gs.locator("#tune-budget")).to_contain_text("12 trials × 1 start × 400 steps = 4,800")
    with gs.expect_request("**/api/tune") as asked:
        gs.click("#tune-all")
    expect(gs.locator("#tune-status")).to_contain_text("Tuned")
    body = body_of(asked.value)
    assert body["optimizers"] == ["sgd", "adam"] and body["trials"] == 12
    assert body["steps"] == 400 and body["criterion"] == "final_loss"
    rest = httpx.post(f"{base_url}/api/tune", json=body, timeout=30).json()
    rows = gs.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(2)
    for n, want in enumerate(rest["leaderboard"]):
        cells = rows.nth(n).locator("th, td")
        values = [json.loads(cells.nth(c).get_attribute("data-value") or "null") for c in range(7)]
        assert values == [
            want["rank"],
            want["optimizer"],
            want["hyper"],
            want["steps_to_tol"],
            want["final_loss"],
            want["distance"],
            want["diverged_trials"],
        ]
    # the race restarted with the tuned values; the link holds the budget and the criterion
    tuned = rest["tuned"]
    gs.wait_for_function(
        "(lr) => decodeURIComponent(location.hash).includes('run=sgd,lr:' + lr)",
        arg=tuned["sgd"]["lr"],
    )
    link = hash_of(gs)
    assert "tune=trials:12,steps:400,crit:final_loss," in link
    gs.screenshot(path=str(SCREENSHOTS / "leaderboard.png"), full_page=True)

    # the link opened afresh shows the same settings and the same leaderboard again
    gs.goto("about:blank")
    with gs.expect_request("**/api/tune") as again:
        open_race(gs, base_url, link)
    assert body_of(again.value) == body  # the tuned lrs are not part of what a tuning is asked
    expect(gs.locator("#tune-trials")).to_have_value("12")
    expect(gs.locator("#tune-criterion")).to_have_value("final_loss")
    expect(gs.locator("#leaderboard tbody tr")).to_have_count(2)
    loss = gs.locator("#leaderboard tbody tr").first.locator("td").nth(3)
    assert (
        json.loads(loss.get_attribute("data-value") or "null")
        == rest["leaderboard"][0]["final_loss"]
    )
