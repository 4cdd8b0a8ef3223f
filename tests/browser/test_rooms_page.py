"""Lecture rooms in the browser: a presenter's page opens a room, a second page watches, forks."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .conftest import Watch

CODE = re.compile(r"^[A-Z2-9]{6}$")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LENGTHS = """() => (document.getElementById('contour').data || [])
    .filter(t => t.meta && t.meta.kind === 'path').map(t => t.x.length)"""
CONTOUR_DRAWN = """() => {
    const bg = document.getElementById('contour-bg');
    return !!(bg && bg.data && bg.data[0] && bg.data[0].type === 'contour'
        && bg.querySelector('.contourlayer path'));
}"""
RACE = "#surface=himmelblau&seed=0&steps=20000&speed=30&run=adam,lr:0.01&run=momentum,lr:0.001"


def watched(browser: Browser, watch: Watch) -> Page:
    """A second page (its own context, as a student's phone) with the same watch."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(15_000)
    page.on("console", watch.on_console)
    page.on("request", watch.on_request)
    page.on("websocket", lambda ws: watch.on_url(ws.url))
    page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
    return page


def longest(page: Page) -> int:
    lengths: list[int] = page.evaluate(LENGTHS)
    return max(lengths, default=0)


def test_presenter_opens_a_room_a_viewer_watches_follows_a_change_and_forks(
    gs: Page, browser: Browser, watch: Watch, base_url: str
) -> None:
    gs.goto(f"{base_url}/{RACE}")
    gs.wait_for_function(CONTOUR_DRAWN)
    gs.wait_for_function(f"() => ({LENGTHS})().length === 2")
    gs.locator("#room-button").click()
    panel = gs.locator("#room-panel")
    expect(panel).to_be_visible()
    code_el = gs.locator("#room-code")
    expect(code_el).to_have_text(CODE)
    code = code_el.inner_text()
    url = gs.locator("#room-url").inner_text()
    assert url == f"{base_url}/?room={code}"
    gs.wait_for_function(
        "() => { const i = document.getElementById('room-qr'); "
        "return i.complete && i.naturalWidth > 0; }"
    )
    expect(gs.locator("#room-viewers")).to_have_text("0 viewers")

    viewer = watched(browser, watch)
    viewer.goto(url)
    expect(gs.locator("#room-viewers")).to_have_text("1 viewer")
    expect(viewer.locator("#room-banner")).to_contain_text(f"Watching room {code} (read-only)")
    viewer.wait_for_function(CONTOUR_DRAWN)
    viewer.wait_for_function(f"() => ({LENGTHS})().length === 2")
    expect(viewer.locator("#surface-caption")).to_contain_text("Himmelblau")
    first = longest(viewer)
    viewer.wait_for_function(f"() => Math.max(...({LENGTHS})()) > {first + 10}")
    # steering is out of reach: no settings panel, no play button
    expect(viewer.locator("aside.panel")).to_be_hidden()
    expect(viewer.locator("#play")).to_be_hidden()
    expect(viewer.locator("#legend")).to_contain_text("lr=0.01")

    # the presenter drags run a's learning rate: the viewer's legend and marks follow
    slider = gs.locator("#run-a-lr-range")
    slider.focus()
    slider.press("ArrowRight")
    new_lr = gs.locator("#run-a-lr-num").input_value()
    assert float(new_lr) > 0.01
    expect(viewer.locator("#legend")).to_contain_text(f"lr={new_lr}")
    viewer.wait_for_function(
        """(lr) => ((document.getElementById('contour').data || [])
            .find(t => t.meta && t.meta.kind === 'marks') || {text: []}).text
            .some(t => t.includes('lr → ' + lr))""",
        arg=new_lr,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(SCREENSHOTS / "room-viewer.png"))
    gs.screenshot(path=str(SCREENSHOTS / "room-presenter.png"))

    # Fork: the viewer's own session, from the presenter's current settings
    viewer.locator("#room-fork").click()
    viewer.wait_for_url(f"{base_url}/#*")
    assert "room=" not in viewer.url and f"lr:{new_lr}" in viewer.url
    viewer.wait_for_function(CONTOUR_DRAWN)
    viewer.wait_for_function(f"() => ({LENGTHS})().length === 2 && Math.max(...({LENGTHS})()) > 5")
    expect(viewer.locator("#play")).to_be_visible()
    expect(viewer.locator("#room-banner")).to_have_count(0)
    expect(gs.locator("#room-viewers")).to_have_text("0 viewers")

    # the presenter closes the room; a page opened on its code says so
    late = watched(browser, watch)
    watch.allow("WebSocket")  # the refused room socket may log its close
    gs.locator("#room-close").click()
    expect(panel).to_be_hidden()
    late.goto(url)
    expect(late.locator("#room-banner")).to_contain_text(f"There is no room {code}")
    late.context.close()
    viewer.context.close()


def test_a_viewer_sees_the_presenter_end_the_room(
    gs: Page, browser: Browser, watch: Watch, base_url: str
) -> None:
    gs.goto(f"{base_url}/{RACE}")
    gs.wait_for_function(CONTOUR_DRAWN)
    gs.locator("#room-button").click()
    code_el = gs.locator("#room-code")
    expect(code_el).to_have_text(CODE)
    viewer = watched(browser, watch)
    viewer.goto(f"{base_url}/?room={code_el.inner_text()}")
    expect(gs.locator("#room-viewers")).to_have_text("1 viewer")
    gs.close()  # the presenter leaves: its session, and so the room, end
    expect(viewer.locator("#room-banner")).to_contain_text("The presenter ended the room.")
    viewer.context.close()
