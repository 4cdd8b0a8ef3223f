"""A lecture room survives a server restart: the presenter's page reopens it under its code and
the viewer's page comes back into it with the whole path; each page shows one status at a time."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .conftest import Server, Watch, free_port
from .test_rooms_page import CODE, CONTOUR_DRAWN, LENGTHS, longest, watched

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
RACE = "#surface=himmelblau&seed=0&steps=20000&speed=30&run=adam,lr:0.01&run=momentum,lr:0.001"
STATUSES = """() => [...document.querySelectorAll('#conn, #banner, #room-banner, #toast')]
    .filter(n => n.offsetParent !== null && n.textContent.trim()).map(n => n.textContent.trim())"""


def test_a_room_survives_a_server_restart_with_one_status_at_a_time(
    page: Page, browser: Browser, watch: Watch
) -> None:
    server = Server(free_port())
    server.start()
    try:
        watch.allow("WebSocket connection")  # the restart breaks both sockets on purpose
        watch.allow("ERR_CONNECTION_REFUSED")
        page.set_default_timeout(20_000)
        page.on("websocket", lambda ws: watch.on_url(ws.url))
        page.goto(f"{server.url}/{RACE}")
        page.wait_for_function(CONTOUR_DRAWN)
        page.locator("#room-button").click()
        code_el = page.locator("#room-code")
        expect(code_el).to_have_text(CODE)
        code = code_el.inner_text()

        viewer = watched(browser, watch)
        viewer.set_default_timeout(40_000)
        viewer.goto(f"{server.url}/?room={code}")
        banner = viewer.locator("#room-banner")
        expect(banner).to_have_text(f"Watching room {code} (read-only)Fork")
        viewer.wait_for_function(f"() => ({LENGTHS})().length === 2")
        viewer.wait_for_function(f"() => Math.max(...({LENGTHS})()) > 20")

        server.stop()
        expect(banner).to_have_attribute("data-state", "reconnecting")
        assert len(viewer.evaluate(STATUSES)) == 1, viewer.evaluate(STATUSES)
        viewer.screenshot(path=str(RESULTS / "room-viewer-reconnecting.png"))
        server.start()

        # The presenter's page restarts its race and reopens the room under the same code;
        # the viewer's page comes back into it and draws the path again from step 0.
        expect(page.locator("#room-code")).to_have_text(code, timeout=20_000)
        expect(banner).to_have_attribute("data-state", "live", timeout=30_000)  # backoff <= 10 s
        expect(banner).to_contain_text(f"Watching room {code}")
        viewer.wait_for_function(f"() => Math.max(...({LENGTHS})()) > 10")
        assert len(viewer.evaluate(STATUSES)) == 1, viewer.evaluate(STATUSES)
        expect(page.locator("#room-viewers")).to_have_text("1 viewer", timeout=10_000)
        first_x = viewer.evaluate(
            "() => document.getElementById('contour').data"
            ".filter(t => t.meta && t.meta.kind === 'path')[0].x[0]"
        )
        mine = page.evaluate(
            "() => document.getElementById('contour').data"
            ".filter(t => t.meta && t.meta.kind === 'path')[0].x[0]"
        )
        assert first_x == mine  # the whole path, from the start point
        assert longest(viewer) > 10
        viewer.screenshot(path=str(RESULTS / "room-viewer-back.png"))
        page.screenshot(path=str(RESULTS / "room-presenter-back.png"))

        # The presenter closes the room: the viewer says so, once, and stops trying.
        page.locator("#room-close").click()
        expect(banner).to_have_attribute("data-state", "ended")
        expect(banner).to_contain_text("The presenter ended the room.")
        assert len(viewer.evaluate(STATUSES)) == 1
        viewer.context.close()
    finally:
        server.stop()
