"""The exported HTML, opened from disk with every network request blocked, draws and animates."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Route

STATE = "#surface=rosenbrock&seed=0&steps=300&run=adam,lr:0.05&run=momentum,lr:0.0005"


def test_exported_html_plays_offline(
    context: BrowserContext, base_url: str, tmp_path: Path
) -> None:
    url = base_url
    r = httpx.get(f"{url}/api/export", params={"state": STATE, "format": "html"}, timeout=60)
    assert r.status_code == 200
    file = tmp_path / "gradscape-rosenbrock.html"
    file.write_bytes(r.content)

    blocked: list[str] = []
    errors: list[str] = []

    def block(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", block)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    page.goto(file.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#surface .contourlayer path").count() > 10  # the filled contours
    assert page.locator("#paths .scatterlayer .trace").count() == 3  # two paths and the heads
    assert page.locator("#counter").inner_text() == "step 0 / 300"
    assert "a · Adam lr=0.05" in page.locator("#legend").inner_text()

    page.keyboard.press("ArrowRight")
    assert page.locator("#counter").inner_text() == "step 1 / 300"
    page.keyboard.press("Shift+ArrowRight")
    assert page.locator("#slider").input_value() == "11"

    line = page.locator("#paths .scatterlayer .trace path.js-line").first
    before = line.get_attribute("d") or ""
    page.locator("#play").click()
    page.wait_for_function("Number(document.getElementById('slider').value) > 40")
    page.keyboard.press(" ")  # pause
    shown = int(page.locator("#slider").input_value())
    assert page.locator("#counter").inner_text() == f"step {shown} / 300"
    after = line.get_attribute("d") or ""
    assert after != before and len(after) > len(before)  # the path grew with the steps
    page.keyboard.press("End")
    assert page.locator("#counter").inner_text() == "step 300 / 300"
    page.screenshot(path=str(tmp_path / "export.png"), full_page=True)
    print("screenshot:", tmp_path / "export.png")
    assert not blocked, f"the file asked the network for {blocked}"
    assert not errors, f"console errors: {errors}"
