"""The "see inside" views in real Chromium: the code panel, the internals overlay, backprop."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_page import CONTOUR_DRAWN


def open_race(page: Page, base_url: str, hash_: str) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{base_url}/{hash_}")
    page.wait_for_function(CONTOUR_DRAWN)


def test_code_panel_shows_rule_our_numpy_and_torch_with_live_values(
    gs: Page, base_url: str
) -> None:
    open_race(gs, base_url, "#surface=rosenbrock&steps=300&run=adam,lr:0.05&run=momentum,lr:0.0005")
    gs.click("#run-a-code")
    panel = gs.locator("#code-panel")
    panel.wait_for(state="visible")
    gs.wait_for_function(
        "() => document.querySelectorAll('#code-panel .code-rule .katex').length >= 3"
    )
    ours = panel.locator(".code-col").first.locator("pre.code").first.inner_text()
    assert ours.startswith("def update(")
    assert 'hyper["lr"] = 0.05' in ours  # the current value beside the code that reads it
    torch = panel.locator(".torch-code").inner_text()
    assert "torch.optim.Adam([p], lr=0.05, betas=(0.9, 0.999)" in torch
    assert "loss.backward()" in torch and "optimizer.step()" in torch
    assert panel.locator(".tok-kw").count() > 5  # highlighted
    assert "adam.py" in panel.locator(".code-where").first.inner_text()
    gs.screenshot(path=str(SCREENSHOTS / "code-panel.png"))

    # Changing lr on the card updates the values shown and the PyTorch code.
    box = gs.locator("#run-a-lr-num")
    box.fill("0.02")
    box.press("Enter")
    gs.wait_for_function(
        "() => document.querySelector('#code-panel .torch-code').textContent.includes('lr=0.02')"
    )
    assert 'hyper["lr"] = 0.02' in panel.locator(".code-col pre.code").first.inner_text()

    # Another run: momentum's SGD; Esc closes.
    gs.click("#run-b-code")
    gs.wait_for_function(
        "() => document.querySelector('#code-panel .torch-code')?.textContent.includes('torch.optim.SGD([p], lr=0.0005, momentum=0.9')"
    )
    gs.keyboard.press("Escape")
    panel.wait_for(state="hidden")


def test_code_panel_in_presenter_mode_and_networks_layers(gs: Page, base_url: str) -> None:
    open_race(gs, base_url, "#surface=himmelblau&steps=200&present=1&run=rmsprop,lr:0.01")
    gs.click("#run-a-code")
    gs.wait_for_function("() => document.querySelectorAll('#code-panel .katex').length >= 3")
    size = gs.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('#code-panel pre.code')).fontSize)"
    )
    assert size >= 18, size  # readable from the back of a hall
    gs.screenshot(path=str(SCREENSHOTS / "code-panel-presenter.png"))
    gs.goto(f"{base_url}/#mode=network&steps=50&speed=100&run=adam,lr:0.01")
    gs.wait_for_selector("#run-a-code")
    gs.click("#run-a-code")
    gs.wait_for_selector("#code-panel .layer-code[data-layer='linear']")
    layer = gs.locator("#code-panel .layer-code[data-layer='linear']")
    assert "torch.nn.Linear" in layer.inner_text()
    assert layer.locator("pre.code").count() == 2  # forward and backward side by side


def test_backprop_steps_forward_backward_update_with_chain_rule(gs: Page, base_url: str) -> None:
    open_race(gs, base_url, "#mode=network&steps=40&speed=100&run=sgd,lr:0.1")
    gs.click("#backprop-button")
    gs.wait_for_selector("#bp-graph .bp-unit.loss")
    phase = gs.locator("#bp-phase")
    assert "Step 1 of 7" in phase.inner_text()  # 2-3-1: inputs, 2 forward, loss, 2 backward, update
    assert gs.locator("#bp-graph .bp-unit.hidden").count() == 3
    assert gs.locator("#bp-graph .bp-hit").count() == 9
    units = gs.locator("#bp-graph .bp-unit.hidden").first
    assert "?" in (units.text_content() or "")
    gs.click("#bp-next")
    assert "z " in (units.text_content() or "") and " a " in (
        units.text_content() or ""
    )  # forward values of layer 1
    gs.locator("#bp-graph .bp-hit[data-w='0-1-0']").dispatch_event("click")
    assert "press Next" in gs.inner_text("#bp-chain")
    for _ in range(4):  # output, loss, backward output, backward layer 1
        gs.locator("#backprop-view").press("ArrowRight")
    assert "Backward: layer 1" in phase.inner_text()
    assert "∂L/∂z" in (units.text_content() or "")
    chain = gs.inner_text("#bp-chain")
    assert "∂L/∂W1[2,1] = ∂L/∂z1[2] · x1 =" in chain
    assert "tanh′(z1[2])" in chain
    # the numbers shown are the server's, which tests/inside/test_backprop.py checks against torch
    graph = gs.evaluate(
        "() => fetch('/api/backprop', {method: 'POST', headers: {'content-type': 'application/json'},"
        " body: JSON.stringify({network: {dataset: 'spiral', n: 40, noise: 0.1, hidden: [3],"
        " activation: 'tanh', arms: 2}, seed: 0, sample: 0, hyper: {lr: 0.5}})}).then(r => r.json())"
    )
    grad = next(c for c in graph["chains"] if (c["layer"], c["i"], c["j"]) == (0, 1, 0))["grad"]
    assert f"{grad:.3g}".rstrip("0") in chain.replace("−", "-")
    gs.screenshot(path=str(SCREENSHOTS / "backprop.png"))
    gs.locator("#backprop-view").press("ArrowRight")
    assert "The update" in phase.inner_text()
    assert "update:" in gs.inner_text("#bp-chain")
    assert "after:" in (gs.locator("#bp-graph .bp-unit.loss").text_content() or "")
    gs.click("#bp-next")  # next example, with the updated weights
    gs.wait_for_function("() => document.getElementById('bp-sample').value === '1'")
    gs.wait_for_function(
        "() => /Step 1 of 7/.test(document.getElementById('bp-phase').textContent)"
    )


OVERLAY_RUNS = "() => document.querySelectorAll('.internals-layer .internals-run').length"


def arrow(page: Page, run: str, kind: str) -> list[float]:
    out: list[float] = page.evaluate(
        """([run, kind]) => {
            const l = document.querySelector(`.internals-run[data-run="${run}"] [data-kind="${kind}"]`);
            return l ? ['x1', 'y1', 'x2', 'y2'].map(k => Number(l.getAttribute(k))) : [];
        }""",
        [run, kind],
    )
    return out


def test_internals_overlay_follows_steps_and_explains_them(gs: Page, base_url: str) -> None:
    sent = []
    gs.on("websocket", lambda ws: ws.on("framesent", lambda p: sent.append(p)))
    open_race(
        gs,
        base_url,
        "#surface=rosenbrock&steps=300&speed=30&run=momentum,lr:0.0005&run=adam,lr:0.05&run=sgd,lr:0.0005",
    )
    assert gs.locator(".internals-layer").is_hidden()  # off by default
    gs.keyboard.press("Space")  # pause
    gs.wait_for_function("() => document.getElementById('play').dataset.playing === 'false'")
    gs.click("#internals-button")
    assert any('"internals"' in p and '"on":true' in p.replace(" ", "") for p in sent)
    gs.wait_for_function(f"() => ({OVERLAY_RUNS})() === 3")
    readout = gs.locator("#internals-readout")
    assert "Momentum follows the velocity" in readout.inner_text()
    assert "effective lr" in readout.inner_text()
    assert "Plain gradient descent" in readout.inner_text()
    assert len(arrow(gs, "a", "moment")) == 4 and arrow(gs, "c", "moment") == []
    before = readout.locator("li[data-run='a'] strong").inner_text()
    step_arrow = arrow(gs, "a", "step")
    gs.locator("#contour").click(position={"x": 5, "y": 5}, trial=True)
    gs.keyboard.press("ArrowRight")  # one step with the keyboard: the overlay moves with it
    gs.wait_for_function(
        "b => document.querySelector(\"#internals-readout li[data-run='a'] strong\").textContent !== b",
        arg=before,
    )
    moved = arrow(gs, "a", "step")
    assert moved[:2] != step_arrow[:2]  # drawn at the new point
    gs.screenshot(path=str(SCREENSHOTS / "internals.png"))
    gs.click("#internals-button")
    assert gs.locator(".internals-layer").is_hidden()
    assert any('"on":false' in p.replace(" ", "") for p in sent)


def test_eight_runs_with_the_overlay_still_draw_every_frame(
    page: Page, watch: object, base_url: str
) -> None:
    """The browser timing test's race (8 runs, 30 frames a second) with the overlay on; rates are
    printed, not asserted (the machine is shared)."""
    from tests.browser.test_page import COUNT_PLOTLY_CALLS, EIGHT_RUNS

    page.add_init_script(COUNT_PLOTLY_CALLS)
    runs = EIGHT_RUNS
    open_race(page, base_url, f"#surface=rosenbrock&seed=0&steps=1200&speed=240&{runs}")
    page.click("#internals-button")
    page.wait_for_function(f"() => ({OVERLAY_RUNS})() >= 6")
    page.evaluate(
        """() => { window.__overlayDraws = 0; const layer = document.querySelector('.internals-layer');
        new MutationObserver(() => window.__overlayDraws++).observe(layer, {childList: true}); }"""
    )
    start = page.evaluate("() => window.__plotlyCalls['contour:extendTraces'].n")
    page.wait_for_function(
        "() => /step 1200/.test(document.getElementById('stepcount').textContent)", timeout=60_000
    )
    calls = page.evaluate("() => window.__plotlyCalls['contour:extendTraces']")
    draws = page.evaluate("() => window.__overlayDraws")
    stamps = calls["at"][start:]
    span = (stamps[-1] - stamps[0]) / 1000
    n = len(stamps)
    print(
        f"\n8 runs, overlay on: {n} contour updates in {span:.1f} s ({n / span:.1f}/s), "
        f"{draws} overlay redraws, mean extendTraces {calls['ms'] / calls['n']:.1f} ms"
    )
    assert n > 10 and draws >= n // 2  # the arrows keep up with the paths
