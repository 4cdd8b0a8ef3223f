"""Asking a room in the browser: the presenter asks "where will momentum end?" at step 0 on
Himmelblau, a phone taps the contour (and keeps its answer through a reload), a class of sockets
answers around two minima, the presenter sees the tally and the heat of the taps, then reveals:
the class sees the answers and the race runs over them."""

from __future__ import annotations

import random
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .conftest import Watch
from .test_rooms_page import CONTOUR_DRAWN, LENGTHS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RACE = "#surface=himmelblau&seed=0&steps=300&speed=60&run=momentum,lr:0.002&run=adam,lr:0.05"
TO_SCREEN = """([x, y]) => {
    const gd = document.getElementById('contour');
    gd.scrollIntoView({block: 'center'});
    const f = gd._fullLayout, r = gd.getBoundingClientRect();
    return [r.left + f.xaxis._offset + f.xaxis.l2p(x), r.top + f.yaxis._offset + f.yaxis.l2p(y)];
}"""
HEAT_AT = """([x, y]) => {
    const c = document.getElementById('answer-layer');
    if (!c || c.hidden) return 0;
    const gd = document.getElementById('contour'), f = gd._fullLayout, k = c.width / f.xaxis._length;
    const px = Math.round(f.xaxis.l2p(x) * k), py = Math.round(f.yaxis.l2p(y) * k);
    return c.getContext('2d').getImageData(px, py, 1, 1).data[3];
}"""
CLASS = """async ({code, n}) => {
    const url = location.origin.replace('http', 'ws') + '/ws/room/' + code;
    window.classSockets = await Promise.all(Array.from({length: n}, () => new Promise((ok, bad) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ok(ws);
        ws.onerror = bad;
    })));
}"""
ANSWER = """(points) => window.classSockets.forEach(
    (ws, i) => ws.send(JSON.stringify({type: 'answer', value: points[i]})))"""


def class_taps(n: int) -> list[list[float]]:
    """Two thirds of a class near the minimum (3, 2), the rest near (-2.81, 3.13)."""
    rng = random.Random(7)
    centres = [(3.0, 2.0)] * (2 * n // 3) + [(-2.805, 3.131)] * (n - 2 * n // 3)
    return [[x + rng.gauss(0, 0.3), y + rng.gauss(0, 0.3)] for x, y in centres]


def tap(page: Page, x: float, y: float) -> None:
    sx, sy = page.evaluate(TO_SCREEN, [x, y])
    page.mouse.click(sx, sy)


def test_class_predicts_where_momentum_ends_then_the_race_reveals_it(
    gs: Page, browser: Browser, watch: Watch, base_url: str, tmp_path: Path
) -> None:
    gs.set_viewport_size({"width": 1920, "height": 1080})
    gs.goto(f"{base_url}/{RACE}")
    gs.wait_for_function(CONTOUR_DRAWN)
    gs.wait_for_function(f"() => ({LENGTHS})().length === 2")
    gs.locator("#reset").click()  # step 0, paused
    gs.locator("#room-button").click()
    expect(gs.locator("#room-code")).to_have_text(re.compile(r"^[A-Z2-9]{6}$"))
    code = gs.locator("#room-code").inner_text()
    gs.keyboard.press("p")  # presenter mode, as on a projector

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    phone.set_default_timeout(15_000)
    phone.on("console", watch.on_console)
    phone.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
    phone.goto(f"{base_url}/?room={code}")
    phone.wait_for_function(CONTOUR_DRAWN)
    expect(phone.locator("#answer-card")).to_be_hidden()
    room = browser.new_context().new_page()  # the rest of the class: sockets of the origin
    room.goto(f"{base_url}/healthz")
    n = 30
    room.evaluate(CLASS, {"code": code, "n": n})
    expect(gs.locator("#room-viewers")).to_have_text(f"{n + 1} viewers")

    gs.locator("#ask-open").click()  # the room panel's question form, folded until wanted
    gs.locator("#ask-kind").select_option("point")
    gs.locator("#ask-send").click()
    expect(gs.locator("#ask-status")).to_have_text("0 answers")
    expect(gs.locator("#ask-question")).to_have_text(
        "Q1: Where will SGD with momentum end? Tap the contour."
    )
    prompt = phone.locator("#answer-prompt")
    expect(prompt).to_have_text("Where will SGD with momentum end? Tap the contour.")

    # the phone taps near (-3.78, -3.28), thinks again and taps near (3, 2): one answer, the last
    tap(phone, -3.7, -3.2)
    tap(phone, 3.1, 2.1)
    expect(phone.locator("#answer-status")).to_contain_text("Your answer: (3.1")
    room.evaluate(ANSWER, class_taps(n))
    expect(gs.locator("#ask-status")).to_have_text(f"{n + 1} answers")
    expect(gs.locator("#ask-open")).to_have_text(f"Q1 · {n + 1} answers")
    rows = gs.locator("#ask-tally .tally-row")
    expect(rows).to_have_count(4)  # one bar per listed minimum of Himmelblau
    counts = [int(c) for c in rows.evaluate_all("rs => rs.map(r => r.dataset.count)")]
    assert sorted(counts, reverse=True) == [21, 10, 0, 0]
    assert gs.evaluate(HEAT_AT, [3.0, 2.0]) > 0 and gs.evaluate(HEAT_AT, [3.6, -1.85]) == 0
    # before the reveal a viewer sees only its own tap, never the class's
    expect(phone.locator("#answer-tally .tally-row")).to_have_count(0)
    assert phone.evaluate(HEAT_AT, [-2.805, 3.131]) == 0

    # the phone reloads (a dropped connection, a locked screen): its answer still counts once
    phone.reload()
    phone.wait_for_function(CONTOUR_DRAWN)
    expect(phone.locator("#answer-status")).to_contain_text("Your answer: (3.1")
    phone.wait_for_timeout(800)  # a replaced answer would have changed the tally by now
    expect(gs.locator("#ask-status")).to_have_text(f"{n + 1} answers")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.screenshot(path=str(SCREENSHOTS / "question-presenter.png"))
    phone.screenshot(path=str(SCREENSHOTS / "question-phone.png"))

    # reveal: the class sees the tally and the heat, and the race runs over the answers
    gs.locator("#ask-reveal").click()
    expect(phone.locator("#answer-tally .tally-row")).to_have_count(4)
    expect(gs.locator("#ask-close")).to_be_disabled()  # a reveal ends the answering
    expect(phone.locator("#answer-status")).to_contain_text(f"The class answered ({n + 1})")
    phone.wait_for_function(f"({HEAT_AT})([-2.805, 3.131]) > 0")
    gs.wait_for_function(f"() => Math.min(...({LENGTHS})()) > 200")
    assert gs.evaluate(HEAT_AT, [3.0, 2.0]) > 0  # the answers stay under the true path
    phone.wait_for_function(f"() => Math.min(...({LENGTHS})()) > 200")
    gs.screenshot(path=str(SCREENSHOTS / "question-revealed.png"))
    phone.screenshot(path=str(SCREENSHOTS / "question-phone-revealed.png"))

    # the presenter's view exported with the race: the file draws the taps under the paths
    gs.keyboard.press("s")
    with gs.expect_download() as download:
        gs.locator("#export-html-answers").click()
    assert download.value.suggested_filename == "gradscape-race-answers.html"
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    exported = browser.new_context().new_page()
    exported.goto(file.as_uri())
    exported.wait_for_selector("body[data-ready='1']")
    expect(exported.locator("#question")).to_contain_text(
        f"Asked the class: Where will SGD with momentum end? Tap the contour. ({n + 1} answers"
    )
    expect(exported.locator("#question li").first).to_have_text("near (3, 2): 21")
    taps = exported.evaluate(
        "() => document.getElementById('surface').data.find(t => t.name === 'answers').x.length"
    )
    assert taps == n + 1
    exported.screenshot(path=str(SCREENSHOTS / "question-export.png"))
    exported.context.close()
    gs.keyboard.press("Escape")

    # "which wins?": the phone picks a run by its name; the presenter's bars count it
    gs.locator("#ask-kind").select_option("run")
    gs.locator("#ask-send").click()
    phone.get_by_role("button", name="b · Adam").click()
    expect(gs.locator("#ask-status")).to_have_text("1 answer")
    bars = gs.locator("#ask-tally .tally-row")
    expect(bars.nth(1)).to_have_attribute("data-count", "1")
    gs.locator("#ask-close").click()
    expect(phone.locator("#answer-status")).to_contain_text("Answers are closed. Yours: b · Adam.")
    expect(phone.get_by_role("button", name="a · SGD with momentum")).to_be_disabled()

    # "which learning rate?": a log slider; the presenter's histogram has one bar of one
    gs.locator("#ask-kind").select_option("lr")
    gs.locator("#ask-send").click()
    phone.locator("#answer-lr").fill("-1.3")
    expect(phone.locator(".answer-lr-value")).to_have_text("lr = 0.0501")
    phone.locator("#answer-lr-send").click()
    expect(gs.locator("#ask-status")).to_have_text("1 answer")
    expect(gs.locator("#ask-tally .tally-row")).to_have_count(1)
    expect(gs.locator("#ask-tally .tally-label")).to_have_text("0.0316–0.1")

    # "will it diverge?": yes or no; the viewer sees the class's answer at the reveal
    gs.locator("#ask-kind").select_option("diverge")
    gs.locator("#ask-send").click()
    phone.get_by_role("button", name="No", exact=True).click()
    expect(gs.locator("#ask-status")).to_have_text("1 answer")
    gs.locator("#ask-reveal").click()
    expect(phone.locator("#answer-tally .tally-count")).to_have_text(["0", "1"])
    room.evaluate("() => window.classSockets.forEach(ws => ws.close())")
    for page in (phone, room):
        page.context.close()
