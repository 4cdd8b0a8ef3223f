"""The lecture hall in real Chromium: the embed inside another site's page, the share dialog,
and presenter mode, against the real server."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Frame, Page, expect

from .conftest import SCREENSHOTS, Server, free_port

RACE = "#surface=rosenbrock&seed=0&steps=2000&speed=60&run=adam,lr:0.05&run=momentum,lr:0.0005"
LENGTHS = """() => (document.getElementById('contour').data || [])
    .filter(t => t.meta && t.meta.kind === 'path').map(t => t.x.length)"""
CONTOUR_DRAWN = """() => { const bg = document.getElementById('contour-bg');
    return !!(bg && bg.data && bg.data[0] && bg.data[0].type === 'contour'
        && bg.querySelector('.contourlayer path')); }"""
# What a person sees of the plots' type and lines: rendered sizes, not the requested ones.
LOOKS = """() => {
    const px = (el, prop) => el ? parseFloat(getComputedStyle(el)[prop] || el.style[prop]) : 0;
    const tick = document.querySelector('#contour-bg .xtick text');
    const path = document.querySelector('#contour .scatterlayer .trace:last-child .js-line');
    const loss = document.querySelector('#loss-chart .scatterlayer .trace:last-child .js-line');
    const title = document.querySelector('#loss-chart .gtitle');
    return {
        tick: tick ? parseFloat(tick.style.fontSize) : 0,
        title: title ? parseFloat(title.style.fontSize) : 0,
        path: path ? parseFloat(path.style.strokeWidth) : 0,
        loss: loss ? parseFloat(loss.style.strokeWidth) : 0,
        page: px(document.querySelector('.stepcount'), 'fontSize'),
        background: getComputedStyle(document.body).backgroundColor,
        ink: getComputedStyle(document.body).color,
    };
}"""


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(CONTOUR_DRAWN)
    page.wait_for_function(f"() => ({LENGTHS})().length === 2 && ({LENGTHS})().every(n => n > 5)")


def step_shown(page: Page) -> int:
    text = page.locator("#stepcount").inner_text()
    match = re.match(r"step (\d+)", text)
    assert match, text
    return int(match.group(1))


# --- the embed, framed by a page of another origin ------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_site(server: Server, tmp_path: Path) -> Iterator[str]:
    """A course page on another origin (127.0.0.1, another port) with three embeds in iframes."""
    frames = [("play", 800, 500), ("none", 480, 320), ("all", 720, 460)]
    body = "\n".join(
        f'<h2>{c}</h2><iframe id="embed-{c}" src="{server.url}/embed{RACE}&amp;controls={c}" '
        f'width="{w}" height="{h}" style="border:1px solid #888" allow="fullscreen"></iframe>'
        for c, w, h in frames
    )
    head = "<meta charset='utf-8'><title>A course</title><link rel='icon' href='data:,'>"
    html = f"<!doctype html><html><head>{head}</head>"
    html += f"<body style='font-family:sans-serif;margin:16px'><h1>Week 3</h1>{body}</body></html>"
    (tmp_path / "course.html").write_text(html)
    port = free_port()
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def embed_frame(page: Page, controls: str) -> Frame:
    handle = page.locator(f"#embed-{controls}").element_handle()
    frame = handle.content_frame() if handle else None
    assert frame is not None
    frame.wait_for_function(CONTOUR_DRAWN)
    frame.wait_for_function(f"() => ({LENGTHS})().length === 2")
    return frame


def test_embed_in_another_sites_page_draws_animates_and_shows_the_asked_controls(
    gs: Page, server: Server, other_site: str
) -> None:
    gs.set_viewport_size({"width": 1000, "height": 1600})
    gs.goto(f"{other_site}/course.html")
    assert urlsplit(gs.url).port != urlsplit(server.url).port, "the host page is another origin"
    for controls in ("play", "none", "all"):
        frame = embed_frame(gs, controls)
        # the race animates: both paths keep growing
        before = frame.evaluate(LENGTHS)
        frame.wait_for_function(
            f"(b) => ({LENGTHS})().every((n, i) => n > b[i] + 20)", arg=before, timeout=20_000
        )
        # minimal chrome: no header, no settings, no charts
        for hidden in ("header.topbar", "aside.panel", ".charts", "#share-button", "#room-button"):
            expect(frame.locator(hidden)).to_be_hidden()
        # the plot fills its frame
        box = frame.evaluate(
            "() => { const r = document.getElementById('figure').getBoundingClientRect();"
            " return [r.width / innerWidth, r.height / innerHeight]; }"
        )
        assert box[0] > 0.95 and box[1] > 0.6, box
        # and a way out to the full page with the same race
        href = frame.locator("#open-full").get_attribute("href") or ""
        assert href.startswith(f"{server.url}/#surface=rosenbrock") and "run=adam" in href
        assert "controls=" not in href
    play = embed_frame(gs, "play")
    expect(play.locator("#play")).to_be_visible()
    expect(play.locator("#stepcount")).to_be_visible()
    for absent in ("#step", "#reset", "#speed", "#fullscreen", "#view-contour"):
        expect(play.locator(absent)).to_be_hidden()
    none = embed_frame(gs, "none")
    expect(none.locator(".toolbar")).to_be_hidden()
    expect(none.locator("#play")).to_be_hidden()
    every = embed_frame(gs, "all")
    for shown in ("#play", "#step", "#reset", "#speed", "#view-contour"):
        expect(every.locator(shown)).to_be_visible()
    # play/pause works inside the frame: paused, the path stops growing
    play.locator("#play").click()
    expect(play.locator("#play")).to_have_attribute("data-playing", "false")
    play.wait_for_timeout(400)
    held = play.evaluate(LENGTHS)
    play.wait_for_timeout(600)
    assert play.evaluate(LENGTHS) == held
    play.locator("#play").click()
    play.wait_for_function(f"(b) => ({LENGTHS})()[0] > b[0] + 10", arg=held)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.locator("#embed-play").screenshot(path=str(SCREENSHOTS / "embed.png"))


def test_embed_page_is_framable_from_anywhere_by_default(server: Server) -> None:
    r = httpx.get(f"{server.url}/embed")
    assert r.status_code == 200 and r.headers["content-security-policy"] == "frame-ancestors *"
    assert 'class="embed"' in r.text and "x-frame-options" not in r.headers


# --- the share dialog --------------------------------------------------------------------------


def test_share_dialog_opens_with_the_keyboard_and_shares_this_race(
    gs: Page, base_url: str, context: BrowserContext
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    open_page(gs, f"{base_url}/{RACE}")
    dialog = gs.locator("#share-dialog")
    expect(dialog).to_be_hidden()
    gs.keyboard.press("s")
    expect(dialog).to_be_visible()
    # focus lands in the dialog, on the link, and Tab stays inside the dialog
    expect(gs.locator("#share-link")).to_be_focused()
    for _ in range(6):
        gs.keyboard.press("Tab")
        assert gs.evaluate("() => !!document.activeElement.closest('#share-dialog')")
    link = gs.locator("#share-link").input_value()
    assert link == f"{base_url}/{gs.evaluate('() => location.hash')}"
    assert unquote(link).startswith(f"{base_url}/#surface=rosenbrock") and "run=momentum" in link
    # the QR code of that link, drawn by the server, has loaded
    qr = gs.locator("#share-qr")
    expect(qr).to_be_visible()
    gs.wait_for_function(
        "() => { const i = document.getElementById('share-qr');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    src = qr.get_attribute("src") or ""
    assert parse_qs(urlsplit(src).query)["text"] == [link]
    svg = httpx.get(f"{base_url}{src}")
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
    # the snippet: an iframe of /embed with the same race and the chosen controls and size
    snippet = gs.locator("#share-snippet").input_value()
    assert snippet.startswith(f'<iframe src="{base_url}/embed#surface=rosenbrock')
    assert 'width="800" height="500"' in snippet and "controls=" not in snippet
    gs.locator("input[name='embed-controls'][value='none']").check()
    gs.locator("#embed-size").select_option("responsive")
    snippet = gs.locator("#share-snippet").input_value()
    assert "&amp;controls=none" in snippet and "aspect-ratio: 16 / 10" in snippet
    framed = gs.evaluate(
        "(html) => { const t = document.createElement('template'); t.innerHTML = html;"
        " return t.content.querySelector('iframe').getAttribute('src'); }",
        snippet,
    )
    assert framed == f"{link.replace(base_url + '/', base_url + '/embed')}&controls=none"
    # copy: to the clipboard when allowed...
    gs.locator("#copy-share-link").click()
    expect(gs.locator("#share-status")).to_have_text("Copied.")
    assert gs.evaluate("() => navigator.clipboard.readText()") == link
    # ...and when the clipboard refuses, the text is selected for Ctrl+C
    gs.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject(new Error('no')); }")
    gs.locator("#copy-share-snippet").click()
    expect(gs.locator("#share-status")).to_contain_text("Selected")
    selected = gs.evaluate(
        "() => { const t = document.getElementById('share-snippet');"
        " return document.activeElement === t && t.selectionEnd - t.selectionStart === t.value.length; }"
    )
    assert selected
    # exports: the server's files for this state, and the plots as images by Plotly
    state = gs.evaluate("() => location.hash.slice(1)")
    names = {f: f"-{f}.py" for f in ("numpy", "torch", "jax", "keras")} | {"ipynb": ".ipynb"}
    for fmt in ("html", "csv", "json", "gif", "numpy", "torch", "jax", "keras", "ipynb"):
        a = gs.locator(f"#export-{fmt}")
        assert a.get_attribute("download") == f"gradscape-race{names.get(fmt, '.' + fmt)}"
        query = parse_qs(urlsplit(a.get_attribute("href") or "").query)
        assert query == {"state": [unquote(state)], "format": [fmt]}
    gs.locator("#export-links").scroll_into_view_if_needed()
    gs.screenshot(path=str(SCREENSHOTS / "share-exports.png"))
    with gs.expect_download() as script:
        gs.locator("#export-numpy").click()
    assert script.value.suggested_filename == "gradscape-rosenbrock-numpy.py"  # the server names it
    code = Path(script.value.path()).read_text()
    assert (
        code.startswith('"""Gradscape race, reproduced with numpy alone.')
        and "import server" not in code
    )
    with gs.expect_download() as png:
        gs.get_by_role("button", name="Loss chart as PNG").click()
    assert png.value.suggested_filename == "gradscape-loss.png"
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with gs.expect_download() as svg_download:
        gs.get_by_role("button", name="Contour as SVG").click()
    image = Path(svg_download.value.path()).read_text()
    assert svg_download.value.suggested_filename == "gradscape-contour.svg"
    assert "contourlayer" in image and image.count("js-line") >= 2, "surface and paths together"
    # Esc closes, and the keys work on the race again
    gs.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    gs.keyboard.press("?")
    expect(gs.locator("#keys-dialog")).to_be_visible()
    expect(gs.locator("#keys-dialog")).to_contain_text("Page Down")
    gs.keyboard.press("Escape")
    expect(gs.locator("#keys-dialog")).to_be_hidden()


def test_share_dialog_in_networks_mode_offers_images_not_surface_files(
    gs: Page, base_url: str
) -> None:
    gs.goto(f"{base_url}/#mode=network")
    expect(gs.locator("#conn")).to_have_attribute("data-state", "open")
    gs.keyboard.press("s")
    expect(gs.locator("#share-dialog")).to_be_visible()
    # an MLP exports its losses and the code that trains it, not the surface files
    expect(gs.locator("#export-links")).to_be_visible()
    for fmt in ("html", "json", "gif", "jax", "keras"):
        expect(gs.locator(f"#export-{fmt}")).to_be_hidden()
    for fmt in ("csv", "numpy", "torch", "ipynb"):
        expect(gs.locator(f"#export-{fmt}")).to_be_visible()
    href = gs.locator("#export-torch").get_attribute("href") or ""
    assert unquote(href).startswith("/api/export?state=mode=network&net=spiral")
    r = httpx.get(f"{base_url}{href}", timeout=60)
    assert r.status_code == 200 and "torch.nn.Sequential(" in r.text
    expect(gs.locator("#export-note")).to_contain_text("loss per step")
    expect(gs.locator("#export-images button").first).to_be_visible()


# --- presenter mode --------------------------------------------------------------------------


def test_presenter_mode_large_type_thick_lines_contrast_and_clicker(
    gs: Page, base_url: str
) -> None:
    gs.set_viewport_size({"width": 1920, "height": 1080})
    open_page(gs, f"{base_url}/{RACE}")
    gs.wait_for_function("() => document.querySelector('#loss-chart .scatterlayer .js-line')")
    normal = gs.evaluate(LOOKS)
    assert normal["path"] > 0 and normal["tick"] > 0 and normal["loss"] > 0, normal
    expect(gs.locator("#readout")).to_be_hidden()
    gs.keyboard.press("p")
    expect(gs.locator("body")).to_have_class(re.compile(r"\bpresenting\b"))
    expect(gs.locator("#present-button")).to_have_attribute("aria-pressed", "true")
    assert "present=1" in gs.evaluate("() => location.hash")
    gs.wait_for_function(
        f"(n) => {{ const l = ({LOOKS})(); return l.path >= 2 * n.path && l.loss >= 2 * n.loss"
        " && l.tick >= 1.5 * n.tick; }",
        arg=normal,
    )
    big = gs.evaluate(LOOKS)
    assert big["title"] >= 1.5 * normal["title"] and big["page"] >= 1.2 * normal["page"], big
    assert big["background"] == "rgb(255, 255, 255)" and big["ink"] == "rgb(0, 0, 0)", big
    # no hover needed: each run's step and loss as text
    expect(gs.locator("#legend")).to_be_hidden()
    readout = gs.locator("#readout")
    expect(readout).to_be_visible()
    expect(readout.locator("li")).to_have_count(2)
    expect(readout.locator("li").first).to_contain_text(re.compile(r"Adam.*step \d+.*f = "))
    # the clicker: Page Up pauses (and plays), Page Down takes ten steps
    gs.keyboard.press("PageUp")
    expect(gs.locator("#play")).to_have_attribute("data-playing", "false")
    settled = -1
    for _ in range(30):
        gs.wait_for_timeout(250)
        now = step_shown(gs)
        if now == settled:
            break
        settled = now
    gs.keyboard.press("PageDown")
    gs.wait_for_function(
        "(k) => document.getElementById('stepcount').textContent.startsWith(`step ${k} `)",
        arg=settled + 10,
    )
    expect(readout.locator("li").first).to_contain_text(f"step {settled + 10}")
    gs.wait_for_timeout(400)
    assert step_shown(gs) == settled + 10, "one press, ten steps, then still"
    gs.keyboard.press("PageUp")
    expect(gs.locator("#play")).to_have_attribute("data-playing", "true")
    gs.wait_for_function(f"() => ({LENGTHS})()[0] > {settled + 30}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.screenshot(path=str(SCREENSHOTS / "presenter.png"))
    overflow = gs.evaluate("() => document.scrollingElement.scrollWidth - innerWidth")
    assert overflow <= 0
    # the mode is in the link: a reload keeps it, and P turns it off again
    gs.reload()
    gs.wait_for_function(CONTOUR_DRAWN)
    expect(gs.locator("body")).to_have_class(re.compile(r"\bpresenting\b"))
    gs.wait_for_function(f"(n) => ({LOOKS})().path >= 2 * n.path", arg=normal)
    gs.keyboard.press("p")
    expect(gs.locator("body")).not_to_have_class(re.compile(r"\bpresenting\b"))
    assert "present" not in gs.evaluate("() => location.hash")
    gs.wait_for_function(f"(n) => ({LOOKS})().path === n.path", arg=normal)
