"""The Networks and Regression modes in real Chromium, against the real server (with torch)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from .conftest import SCREENSHOTS

NET_HASH = (
    "#mode=network&net=spiral,n:200,noise:0.1,hidden:12-8,act:tanh,batch:full,torch:1,arms:2"
    "&seed=0&steps=600&speed=150&run=adam,lr:0.02&run=sgd,lr:0.5"
)
REG_HASH = (
    "#mode=regression&reg=linear,n:50,noise:0.5,l2:0,seed:0"
    "&seed=0&steps=400&speed=40&run=adam,lr:0.05&run=sgd,lr:0.02"
)

# Traces of a plot div, by their meta.kind (and meta.run).
TRACES = """([id, kind]) => (document.getElementById(id).data || [])
    .filter(t => t.meta && t.meta.kind === kind)
    .map(t => ({run: t.meta.run, x: Array.from(t.x || []), y: Array.from(t.y || []),
                z: t.z ? Array.from(t.z, r => Array.from(r)) : null}))"""
BOUNDARY_Z = """() => { const d = document.getElementById('boundary').data;
    return d && d[0] && d[0].z ? JSON.stringify(d[0].z) : null; }"""
PATH_LENGTHS = """() => (document.getElementById('contour').data || [])
    .filter(t => t.meta && t.meta.kind === 'path').map(t => t.x.length)"""


def traces(page: Page, plot: str, kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = page.evaluate(TRACES, [plot, kind])
    return out


def step_reached(page: Page, step: int, timeout: float = 30_000) -> None:
    page.wait_for_function(
        """(n) => { const m = /step (\\d+)/.exec(document.getElementById('stepcount').textContent);
                    return m && Number(m[1]) >= n; }""",
        arg=step,
        timeout=timeout,
    )


def test_network_boundary_forms_torch_matches_and_paths_share_the_landscape(
    gs: Page, base_url: str
) -> None:
    gs.goto(f"{base_url}/{NET_HASH}")
    expect(gs.locator("#mode-network")).to_have_attribute("aria-pressed", "true")
    expect(gs.locator("#net-dataset")).to_have_value("spiral")
    expect(gs.locator("#net-hidden")).to_have_value("12,8")
    # Newton needs a Hessian: not offered for networks
    options = gs.locator("#run-a-optimizer option").all_inner_texts()
    assert options and not any("Newton" in o for o in options), options
    # the boundary heatmap is drawn, with the data on top, and changes as training proceeds
    gs.wait_for_function(f"() => ({BOUNDARY_Z})() !== null")
    first = gs.evaluate(BOUNDARY_Z)
    assert len(traces(gs, "boundary", "train")[0]["x"]) == 160  # 80% of 200 points
    step_reached(gs, 150)
    gs.wait_for_function(f"(z) => ({BOUNDARY_Z})() !== z", arg=first)
    later = json.loads(gs.evaluate(BOUNDARY_Z))
    early = json.loads(first)
    assert len(later) == 40 and len(later[0]) == 40
    moved = max(
        abs(a - b) for ra, rb in zip(early, later, strict=True) for a, b in zip(ra, rb, strict=True)
    )
    assert moved > 0.2, moved
    expect(gs.locator("#net-info")).to_contain_text("2-12-8-1 tanh network")
    # the PyTorch twin is drawn over our curve and ends on it
    gs.wait_for_function(
        """() => (document.getElementById('net-loss-chart').data || [])
            .filter(t => t.meta && t.meta.kind === 'torch' && t.y.length > 100).length === 2"""
    )
    ours = {t["run"]: t["y"] for t in traces(gs, "net-loss-chart", "train")}
    twins = {t["run"]: t["y"] for t in traces(gs, "net-loss-chart", "torch")}
    assert set(twins) == {"a~torch", "b~torch"}
    for run, twin in twins.items():
        mine = ours[run.removesuffix("~torch")]
        k = min(len(twin), len(mine)) - 1
        assert k > 100 and twin[k] is not None and mine[k] is not None
        assert twin[k] == pytest.approx(mine[k], abs=1e-8), (run, k, twin[k], mine[k])
        assert mine[k] < mine[0], "the loss went down"
    dashes = gs.evaluate(
        """() => document.getElementById('net-loss-chart').data
            .filter(t => t.meta && t.meta.kind === 'torch').map(t => t.line.dash)"""
    )
    assert dashes == ["dash", "dash"]
    # accuracy curves for both runs, between 0 and 1
    acc = traces(gs, "acc-chart", "train")
    assert len(acc) == 2 and all(0 <= v <= 1 for t in acc for v in t["y"] if v is not None)
    # both runs' paths on one landscape: the contour underneath, two growing paths on top
    gs.wait_for_function(
        "() => document.getElementById('contour-bg').data?.[0]?.type === 'contour'"
    )
    bg = gs.evaluate("() => document.getElementById('contour-bg').data[0]")
    assert len(bg["x"]) >= 3 and len(bg["z"]) == len(bg["y"])
    gs.wait_for_function(
        f"() => ({PATH_LENGTHS})().length === 2 && ({PATH_LENGTHS})().every(n => n > 50)"
    )
    paths = traces(gs, "contour", "path")
    assert all(p["x"][0] == 0 and p["y"][0] == 0 for p in paths), "both start at the common start"
    assert paths[0]["x"][-1] != paths[1]["x"][-1], "Adam and SGD take different paths"
    # the hash round-trips the network through a reload
    written = unquote(gs.evaluate("() => location.hash"))
    assert "mode=network" in written and "net=spiral,n:200,noise:0.1,hidden:12-8" in written
    gs.reload()
    expect(gs.locator("#net-hidden")).to_have_value("12,8")
    expect(gs.locator("#net-n")).to_have_value("200")
    expect(gs.locator("#mode-network")).to_have_attribute("aria-pressed", "true")
    assert unquote(gs.evaluate("() => location.hash")) == written


def test_network_settings_restart_and_torch_missing_note(gs: Page, base_url: str) -> None:
    """Where torch is missing the page says how to add it (the ack rewritten in flight)."""

    def handler(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            m = json.loads(text)
            if m.get("type") == "ack" and m.get("of") == "start" and "torch" in m:
                m["torch"] = "unavailable: pip install torch==2.13.0"
                m.pop("twins", None)
                text = json.dumps(m)
            ws.send(text)

        server.on_message(from_server)

    gs.route_web_socket("**/ws", handler)
    gs.goto(f"{base_url}/#mode=network&steps=300&speed=200")
    note = gs.locator("#torch-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(
        "PyTorch is not installed: pip install torch==2.13.0 to compare with torch.optim"
    )
    gs.wait_for_function(f"() => ({BOUNDARY_Z})() !== null")
    # a new data set from the panel: a new race on it, recorded in the link
    gs.select_option("#net-dataset", "moons")
    gs.wait_for_function("() => location.hash.includes('net=moons')")
    expect(gs.locator("#net-info")).to_contain_text("Two moons")
    gs.locator("#net-hidden").fill("99")
    gs.locator("#net-hidden").press("Enter")
    expect(gs.locator("#net-hidden-err")).to_contain_text("1 to 64")
    assert "hidden:16-16" in gs.evaluate("() => location.hash")


def test_regression_data_and_fitted_line_move_with_the_path(gs: Page, base_url: str) -> None:
    gs.goto(f"{base_url}/{REG_HASH}")
    expect(gs.locator("#mode-regression")).to_have_attribute("aria-pressed", "true")
    gs.wait_for_function("() => document.getElementById('regression-data').data?.length === 3")
    ref = httpx.post(
        f"{base_url}/api/regression",
        json={
            "regression": {"model": "linear", "n": 50, "noise": 0.5, "l2": 0, "seed": 0},
            "n": 20,
        },
    ).json()
    data = traces(gs, "regression-data", "data")[0]
    assert data["x"] == ref["data"]["x"] and data["y"] == ref["data"]["y"]
    # the (w, b) contour with its minimum, paths from the server's start
    assert gs.evaluate("() => document.getElementById('contour-bg').layout.xaxis.title.text") == "w"
    gs.wait_for_function(
        f"() => ({PATH_LENGTHS})().length === 2 && ({PATH_LENGTHS})().every(n => n > 3)"
    )
    path = traces(gs, "contour", "path")[0]
    assert [path["x"][0], path["y"][0]] == pytest.approx(ref["start"])
    # each run's fitted line is y = w x + b at the head of its path, and moves with it
    fit_before = traces(gs, "regression-data", "fit")[0]["y"]
    gs.wait_for_function(
        """(y0) => JSON.stringify(Array.from(document.getElementById('regression-data').data[1].y))
                   !== JSON.stringify(y0)""",
        arg=fit_before,
    )
    gs.evaluate("() => document.getElementById('play').click()")
    expect(gs.locator("#play")).to_have_attribute("data-playing", "false")
    gs.wait_for_timeout(300)
    fit = traces(gs, "regression-data", "fit")[0]
    head = traces(gs, "contour", "path")[0]
    w, b = head["x"][-1], head["y"][-1]
    assert fit["y"] == pytest.approx([w * x + b for x in fit["x"]], rel=1e-9, abs=1e-9)
    # logistic regression from the panel: class labels, sigmoid fits in [0, 1]
    gs.select_option("#reg-model", "logistic")
    gs.wait_for_function("() => location.hash.includes('reg=logistic')")
    gs.wait_for_function(
        """() => { const d = document.getElementById('regression-data').data;
                   return d && d[1] && d[1].y.length > 2 && Array.from(d[0].y).every(v => v === 0 || v === 1); }"""
    )
    assert all(0 <= v <= 1 for v in traces(gs, "regression-data", "fit")[0]["y"])


def test_mode_switch_is_history_and_screenshots(gs: Page, base_url: str) -> None:
    gs.set_viewport_size({"width": 1920, "height": 1080})
    gs.goto(f"{base_url}/")
    gs.wait_for_function(f"() => ({PATH_LENGTHS})().length === 2")
    gs.click("#mode-network")
    gs.wait_for_function("() => location.hash.includes('mode=network')")
    expect(gs.locator("#boundary")).to_be_visible()
    expect(gs.locator("#surface-panel")).to_be_hidden()
    expect(gs.locator("#run-a-optimizer")).to_have_value("adam")
    expect(gs.locator("#run-b-optimizer")).to_have_value("sgd")
    step_reached(gs, 400)
    gs.wait_for_function(
        """() => (document.getElementById('net-loss-chart').data || [])
            .some(t => t.meta && t.meta.kind === 'torch' && t.y.length > 300)"""
    )
    gs.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gs.screenshot(path=str(SCREENSHOTS / "networks.png"))
    assert gs.evaluate("() => document.scrollingElement.scrollWidth - innerWidth") <= 0
    gs.click("#mode-regression")
    gs.wait_for_function("() => location.hash.includes('mode=regression')")
    gs.wait_for_function(
        f"() => ({PATH_LENGTHS})().length === 2 && ({PATH_LENGTHS})().every(n => n > 60)"
    )
    gs.wait_for_timeout(300)
    gs.screenshot(path=str(SCREENSHOTS / "regression.png"))
    # back: the network again; back again: the surface race, as it was
    gs.go_back()
    expect(gs.locator("#mode-network")).to_have_attribute("aria-pressed", "true")
    gs.go_back()
    expect(gs.locator("#mode-surface")).to_have_attribute("aria-pressed", "true")
    expect(gs.locator("#surface-select")).to_have_value("rosenbrock")
    gs.wait_for_function(f"() => ({PATH_LENGTHS})().length === 2 && ({PATH_LENGTHS})()[0] > 5")
    assert "mode=" not in gs.evaluate("() => location.hash")
