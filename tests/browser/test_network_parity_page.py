"""The parity panel of a network race in real Chromium: per run, each library's largest weight
difference from ours step by step, and its notes, exactly as POST /api/parity/network answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.sync_api import Page, Request

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_networks import step_reached
from tests.browser.test_parity_page import CHART, NOTES, PARITY_WAIT, VALUE, chart

STEPS = 120
HASH = (
    "#mode=network&net=moons,n:100,noise:0.1,hidden:8-6,act:tanh,batch:20,torch:0"
    f"&seed=2&steps={STEPS}&speed=200&run=adam,lr:0.02&run=rmsprop,lr:0.01"
)


def network_requests(page: Page) -> list[dict[str, Any]]:
    """Every POST /api/parity/network body the page sends, from now on."""
    bodies: list[dict[str, Any]] = []

    def on_request(r: Request) -> None:
        if r.url.endswith("/api/parity/network") and r.post_data:
            bodies.append(json.loads(r.post_data))

    page.on("request", on_request)
    return bodies


def running_max(diff: list[float]) -> list[float]:
    out, m = [], 0.0
    for d in diff:
        m = max(m, d)
        out.append(m)
    return out


def check_run(page: Page, base_url: str, run: str, body: dict[str, Any]) -> dict[str, Any]:
    """The run's chart, numbers and notes are the server's answer to the body the page sent."""
    answer: dict[str, Any] = httpx.post(
        f"{base_url}/api/parity/network", json=body, timeout=120
    ).json()
    available = {k: v for k, v in answer["libraries"].items() if "unavailable" not in v}
    drawn = {t["library"]: t for t in chart(page, run)}
    assert set(drawn) == set(available), (drawn.keys(), answer["libraries"])
    for lib, result in available.items():
        series = running_max(result["diff"])
        assert len(series) == STEPS + 1 and series[-1] == result["max_diff"]
        assert drawn[lib]["x"] == list(range(STEPS + 1)), lib
        assert drawn[lib]["y"] == [v if v > 0 else None for v in series], lib
        value = page.locator(
            f"#parity-card .parity-run[data-run='{run}'] .parity-lib[data-library='{lib}'] "
            ".parity-value"
        )
        text = value.inner_text()
        if result["max_diff"] == 0:
            assert text.startswith("identical so far"), text
        else:
            assert float(value.get_attribute("data-max-diff") or "nan") == result["max_diff"]
            assert text.startswith("largest difference so far"), text
        assert f"steps 0–{STEPS}" in text, text
        assert page.evaluate(NOTES, [run, lib]) == result["notes"]
    return answer


def test_network_parity_panel_shows_each_librarys_weight_difference_and_notes(
    gs: Page, base_url: str
) -> None:
    sent = network_requests(gs)
    gs.set_viewport_size({"width": 1600, "height": 1100})
    gs.goto(f"{base_url}/{HASH}")
    button = gs.locator("#parity-button")
    button.wait_for(state="visible")  # offered in a network race too
    button.click()
    gs.locator("#parity-card").wait_for(state="visible")
    assert "our backprop gradient" in gs.locator("#parity-about").inner_text()
    step_reached(gs, STEPS)
    for run in ("a", "b"):
        gs.wait_for_function(
            f"() => ({VALUE})(['{run}', 'torch']) === '{STEPS}'", timeout=PARITY_WAIT
        )
    gs.wait_for_function(
        "() => document.getElementById('parity-card').dataset.state === 'idle'",
        timeout=PARITY_WAIT,
    )
    adam = [b for b in sent if b["optimizer"] == "adam"][-1]
    assert adam["steps"] == STEPS and adam["seed"] == 2 and adam["hyper"] == {"lr": 0.02}
    assert adam["network"]["hidden"] == [8, 6] and adam["network"]["batch_size"] == 20
    assert "torch" not in adam["network"]
    answer = check_run(gs, base_url, "a", adam)
    for lib in ("torch", "optax", "keras"):  # Adam: all three step the weights as ours
        assert answer["libraries"][lib]["max_diff"] < 1e-9, lib
    rmsprop = [b for b in sent if b["optimizer"] == "rmsprop"][-1]
    answer = check_run(gs, base_url, "b", rmsprop)
    reason = answer["libraries"]["keras"]["unavailable"]  # √(v + epsilon): no Keras counterpart
    keras = gs.locator("#parity-unavailable li[data-library='keras']")
    assert keras.count() == 1 and reason in keras.inner_text() and "(run b)" in keras.inner_text()
    assert gs.evaluate(CHART, "b") and gs.locator("#basin-card").is_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.locator("#parity-card").screenshot(path=str(SCREENSHOTS / "parity-network.png"))
