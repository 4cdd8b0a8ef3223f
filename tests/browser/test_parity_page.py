"""The parity panel in real Chromium: each run's largest difference from each library's path,
the server's notes, the libraries it cannot run listed once, following the live race."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.sync_api import Page, Request

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_page import CONTOUR_DRAWN, LENGTHS, wait_until

PARITY_WAIT = 150_000
"""ms: a cold server imports torch, jax and keras and compiles each library's step on its first
parity request (20-40 s on a loaded 2-core machine), then more steps follow."""
CHART = """(id) => (document.getElementById(`parity-chart-${id}`)?.data || [])
    .map(t => ({library: t.meta.library, x: Array.from(t.x), y: Array.from(t.y)}))"""
NOTES = """([run, lib]) => [...document.querySelectorAll(
    `#parity-card .parity-run[data-run="${run}"] .parity-lib[data-library="${lib}"] .parity-notes li`)]
    .map(li => li.textContent)"""
VALUE = """([run, lib]) => document.querySelector(
    `#parity-card .parity-run[data-run="${run}"] .parity-lib[data-library="${lib}"] .parity-value`)?.dataset.step"""


def parity_requests(page: Page) -> list[dict[str, Any]]:
    """Every POST /api/parity body the page sends, from now on."""
    bodies: list[dict[str, Any]] = []

    def on_request(r: Request) -> None:
        if r.url.endswith("/api/parity") and r.post_data:
            bodies.append(json.loads(r.post_data))

    page.on("request", on_request)
    return bodies


def running_max(ours: list[list[float]], theirs: list[list[float]]) -> list[float]:
    out: list[float] = []
    m = 0.0
    for a, b in zip(ours, theirs, strict=False):
        m = max(m, abs(a[0] - b[0]), abs(a[1] - b[1]))
        out.append(m)
    return out


def chart(page: Page, run: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = page.evaluate(CHART, run)
    return out


def check_against_server(page: Page, base_url: str, run: str, body: dict[str, Any]) -> None:
    """The run's chart and notes are the server's answer to the body the page sent."""
    answer = httpx.post(f"{base_url}/api/parity", json=body, timeout=60).json()
    ours = answer["ours"]["points"]
    drawn = {t["library"]: t for t in chart(page, run)}
    available = {k: v for k, v in answer["libraries"].items() if "unavailable" not in v}
    assert set(drawn) == set(available), (drawn.keys(), answer["libraries"])
    for lib, result in available.items():
        series = running_max(ours, result["points"])
        t = drawn[lib]
        assert t["x"] == list(range(len(series))), lib  # the race has shown every step
        assert t["y"] == [v if v > 0 else None for v in series], lib  # exactly, zeros as gaps
        assert series[-1] == result["max_diff"]
        assert page.evaluate(NOTES, [run, lib]) == result["notes"]
    for lib, result in answer["libraries"].items():
        if "unavailable" in result:
            items = page.locator(f"#parity-unavailable li[data-library='{lib}']")
            texts = [t for t in items.all_inner_texts() if result["unavailable"] in t]
            assert len(texts) == 1, (lib, items.all_inner_texts())


def test_parity_panel_draws_the_servers_differences_and_notes_and_follows_settings(
    gs: Page, base_url: str
) -> None:
    sent = parity_requests(gs)
    gs.set_viewport_size({"width": 1600, "height": 1000})
    # On Beale, Adam at lr 0.05 parts from torch.optim by an ulp or two along the way.
    gs.goto(f"{base_url}/#surface=beale&steps=200&speed=400&run=adam,lr:0.05&run=lion,lr:0.001")
    gs.wait_for_function(CONTOUR_DRAWN)
    button = gs.locator("#parity-button")
    assert button.get_attribute("aria-pressed") == "false"
    assert gs.locator("#parity-card").is_hidden()  # off by default
    button.focus()
    gs.keyboard.press("Enter")  # keyboard first
    assert button.get_attribute("aria-pressed") == "true"
    gs.locator("#parity-card").wait_for(state="visible")
    # the race (200 steps) ends; the chart then covers steps 0..200
    gs.wait_for_function(f"() => ({LENGTHS})().every(n => n === 201)")
    gs.wait_for_function(f"() => ({VALUE})(['a', 'torch']) === '200'", timeout=PARITY_WAIT)
    adam = [b for b in sent if b["optimizer"] == "adam"][-1]
    assert adam["hyper"] == {"lr": 0.05} and adam["steps"] == 200
    assert adam["surface"] == "beale" and adam["seed"] == 0
    check_against_server(gs, base_url, "a", adam)
    drawn = next(t for t in chart(gs, "a") if t["library"] == "torch")["y"]
    assert drawn[0] is None and any(v is not None and v > 0 for v in drawn)  # a line on a log axis
    # torch.optim has no Lion: said once, at the top, for run b only
    gs.wait_for_function(
        "() => document.getElementById('parity-card').dataset.state === 'idle'",
        timeout=PARITY_WAIT,
    )
    lion = [b for b in sent if b["optimizer"] == "lion"][-1]
    answer = httpx.post(f"{base_url}/api/parity", json=lion, timeout=60).json()
    if all("unavailable" in v for v in answer["libraries"].values()):  # the card says so too
        remarks = gs.locator("#parity-card .parity-run[data-run='b'] .parity-remarks")
        assert "No library" in remarks.inner_text()
    torch_missing = gs.locator("#parity-unavailable li[data-library='torch']")
    assert torch_missing.count() == 1 and "(run b)" in torch_missing.inner_text()
    check_against_server(gs, base_url, "b", lion)
    # each library listed once, whatever the runs
    listed = gs.eval_on_selector_all(
        "#parity-unavailable li", "els => els.map(e => e.dataset.library + e.textContent)"
    )
    assert len(listed) == len(set(listed))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.locator("#parity-card").screenshot(path=str(SCREENSHOTS / "parity.png"))

    # A new lr on the card: compared again with it (the race restarts and plays to its end).
    box = gs.locator("#run-a-lr-num")
    box.fill("0.02")
    box.press("Enter")
    gs.wait_for_function(
        f"() => ({NOTES})(['a', 'torch']).some(t => t.includes('lr=0.02'))", timeout=PARITY_WAIT
    )
    gs.wait_for_function(f"() => ({VALUE})(['a', 'torch']) === '200'", timeout=PARITY_WAIT)
    adam = [b for b in sent if b["optimizer"] == "adam"][-1]
    assert adam["hyper"] == {"lr": 0.02}
    check_against_server(gs, base_url, "a", adam)

    # Presenter mode: the charts in the presenter's theme, larger type.
    gs.locator("#parity-title").focus()  # out of the lr box, where P is a letter
    gs.keyboard.press("p")
    gs.wait_for_function("() => document.body.classList.contains('presenting')")
    gs.wait_for_function(
        "() => { const t = document.querySelector('#parity-chart-a .xtitle');"
        " return t && parseFloat(getComputedStyle(t).fontSize) >= 18; }"
    )
    gs.locator("#parity-card").screenshot(path=str(SCREENSHOTS / "parity-presenter.png"))
    gs.keyboard.press("p")

    # Esc inside the card closes it and gives the focus back to the toggle.
    gs.locator("#parity-close").focus()
    gs.keyboard.press("Escape")
    gs.locator("#parity-card").wait_for(state="hidden")
    assert button.get_attribute("aria-pressed") == "false"
    assert gs.evaluate("() => document.activeElement.id") == "parity-button"


def test_parity_follows_the_live_race_and_fits_a_phone(gs: Page, base_url: str) -> None:
    sent = parity_requests(gs)
    gs.set_viewport_size({"width": 390, "height": 844})
    gs.goto(
        f"{base_url}/#surface=himmelblau&steps=3000&speed=120&run=adam,lr:0.01&run=rmsprop,lr:0.005"
    )
    gs.wait_for_function(CONTOUR_DRAWN)
    gs.click("#parity-button")
    gs.locator("#parity-card").wait_for(state="visible")
    # the race goes on past the first steps compared: the chart follows it
    gs.wait_for_function(
        "() => { const d = document.getElementById('parity-chart-a')?.data;"
        " return d && d[0] && d[0].x.length > 300; }",
        timeout=PARITY_WAIT,
    )
    gs.keyboard.press("Space")  # pause
    gs.wait_for_function("() => document.getElementById('play').dataset.playing === 'false'")
    # paused, the chart ends at the step the race shows, for both runs
    gs.wait_for_function(
        f"""() => {{ const n = ({LENGTHS})();
            return ['a', 'b'].every((id, i) => {{
                const d = document.getElementById(`parity-chart-${{id}}`)?.data;
                return d && d[0] && d[0].x[d[0].x.length - 1] === n[i] - 1; }}); }}""",
        timeout=PARITY_WAIT,
    )
    steps = [b["steps"] for b in sent if b["optimizer"] == "adam"]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), steps  # only ever further
    assert all(s <= 3000 for s in steps) and len(steps) <= 6, steps  # doubling, not per frame
    shown = gs.evaluate(f"() => ({LENGTHS})()[0] - 1")
    adam = [b for b in sent if b["optimizer"] == "adam"][-1]
    answer = httpx.post(f"{base_url}/api/parity", json=adam, timeout=60).json()
    for lib, result in answer["libraries"].items():
        if "unavailable" in result:
            continue
        series = running_max(answer["ours"]["points"], result["points"])[: shown + 1]
        t = next(t for t in chart(gs, "a") if t["library"] == lib)
        assert t["y"] == [v if v > 0 else None for v in series]
    gs.locator("#parity-card").scroll_into_view_if_needed()
    wait_until(
        lambda: gs.evaluate("() => document.documentElement.scrollWidth") <= 390,
        what="the page to fit 390 px",
    )
    box = gs.locator("#parity-chart-a").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    gs.screenshot(path=str(SCREENSHOTS / "parity-phone.png"))
