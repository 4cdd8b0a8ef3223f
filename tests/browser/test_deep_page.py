"""The digits CNN and the sequence RNN in the Networks mode, in real Chromium against the real
server: what the page shows is checked against the messages the server sent it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocket, expect

from .conftest import SCREENSHOTS
from .test_networks import step_reached, traces

Msg = dict[str, Any]
CNN_HASH = (
    "#mode=network&net=digits,n:300,batch:32,torch:1,filters:6,kernel:3,stride:1,padding:1,pool:2"
    "&seed=0&steps=150&speed=2000&run=sgd,lr:0.1&run=adam,lr:0.01"
)
RNN_HASH = (
    "#mode=network&net=adding,n:100,batch:32,torch:0,hidden:8,steps:12,scale:1,clip:none"
    "&seed=0&steps=4000&speed=40&run=sgd,lr:0.1&run=adam,lr:0.01"
)
PAINTED = """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let inked = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250) inked++;
    return inked / (d.length / 4); }"""
# What the digits view shows, read at once (each round trip is slow on a loaded machine).
DIGITS_SHOWN = """(painted) => { const ink = eval(painted);
    const all = (s) => Array.from(document.querySelectorAll(s));
    return {
      filters: all('#deep-filters figure').map(f => JSON.parse(f.dataset.values)),
      filterInk: ink(document.querySelector('#deep-filters canvas')),
      cells: all('#deep-confusion tbody tr').map(r => Array.from(r.querySelectorAll('td'), td => td.textContent)),
      accuracy: document.getElementById('deep-accuracy').textContent,
      predicted: all('#deep-samples figure').map(d => Number(d.dataset.predicted)),
      verdicts: all('#deep-samples .verdict').map(v => v.textContent),
      digitInk: ink(document.querySelector('#deep-samples canvas')),
    }; }"""

SEQ_LOOKS = """() => { const g = document.getElementById('seq-grads');
    return {font: g.layout.font.size, line: g.data[0].line.width}; }"""


class Wire:
    """The server's messages to the page, and the page's to the server, as sent."""

    def __init__(self, page: Page) -> None:
        self.received: list[Msg] = []
        self.sent: list[Msg] = []
        page.on("websocket", self.attach)

    def attach(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda data: self.received.append(json.loads(data)))
        ws.on("framesent", lambda data: self.sent.append(json.loads(data)))

    def of(self, kind: str) -> list[Msg]:
        return [m for m in self.received if m.get("type") == kind]

    def series(self, run: str, key: str) -> list[float]:
        """Every point of one run's `key`, by step (frames are contiguous)."""
        out: list[float] = []
        for frame in self.of("frame"):
            part = frame["runs"].get(run)
            if part and key in part:
                assert part["step"] == len(out), "frames skip or repeat steps"
                out.extend(part[key])
        return out


def wait_for(page: Page, done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the page run (and its websocket events come in) until ``done()``."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def drawn_in_full(drawn: list[dict[str, Any]], points: int = 151) -> set[str]:
    """The runs whose trace holds every point."""
    return {t["run"] for t in drawn if len(t["y"]) == points}


def fits_the_phone(page: Page) -> None:
    """Once the plots have followed the narrower window, nothing scrolls sideways."""
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390", timeout=5000)


def clip_acks(wire: Wire) -> list[Msg]:
    return [m for m in wire.received if m.get("type") == "ack" and m.get("of") == "clip"]


def last_view_of(wire: Wire, run: str) -> Msg:
    return [v for v in wire.of("view") if run in v["runs"]][-1]


def test_digits_cnn_race_shows_filters_confusion_and_predictions_from_the_server(
    gs: Page, base_url: str
) -> None:
    gs.set_viewport_size({"width": 1440, "height": 900})
    wire = Wire(gs)
    gs.goto(f"{base_url}/{CNN_HASH}")
    expect(gs.locator("#deep-figure")).to_be_visible()
    assert gs.evaluate(
        """() => [document.getElementById('net-model').value,
                  document.getElementById('net-filters').value,
                  document.getElementById('figure').offsetParent === null,
                  document.getElementById('backprop-button').offsetParent === null]"""
    ) == ["cnn", "6", True, True]
    step_reached(gs, 150, timeout=45_000)
    wait_for(gs, lambda: any(m.get("state") == "done" for m in wire.of("status")))
    dataset = wire.of("dataset")[-1]
    assert dataset["model"] == "cnn" and dataset["test_size"] == 60

    # the view shows run a at the step of the last view message that has it
    view = last_view_of(wire, "a")
    step = view["steps"]["a"]
    gs.wait_for_function(
        "(s) => document.getElementById('deep-digits').dataset.step === String(s)", arg=step
    )
    mine = view["runs"]["a"]
    shown = gs.evaluate(DIGITS_SHOWN, PAINTED)
    assert shown["filters"] == mine["filters"]
    assert shown["filterInk"] > 0.5  # coloured, not blank squares
    confusion = mine["confusion"]
    assert shown["cells"] == [[str(c) if c else "" for c in row] for row in confusion]
    right = sum(confusion[i][i] for i in range(10))
    total = sum(map(sum, confusion))
    assert total == 60
    assert shown["accuracy"] == f"held-out accuracy {100 * right / total:.1f}% ({right} of 60)"
    # the same number the accuracy chart draws: the frame's test_acc at that step
    assert abs(wire.series("a", "test_acc")[step] - right / total) < 1e-12
    labels = dataset["samples"]["labels"]
    assert shown["predicted"] == mine["predicted"] and len(labels) == 12
    marks = ["✓" if p == t else "✗" for p, t in zip(mine["predicted"], labels, strict=True)]
    assert shown["verdicts"] == [
        f"{t} → {p} {m}" for t, p, m in zip(labels, mine["predicted"], marks, strict=True)
    ]
    assert shown["digitInk"] > 0.1

    # both runs learn; each torch twin's curve lies on its run's
    for run in ("a", "b"):
        ours = wire.series(run, "train_loss")
        twin = wire.series(run + "~torch", "train_loss")
        assert len(ours) == 151 and ours[-1] < ours[0]
        assert len(twin) == 151
        assert max(abs(x - y) for x, y in zip(ours, twin, strict=True)) < 1e-8
    # the chart takes its turn at most ten times a second: wait for it to have drawn the last frame
    twins = {"a~torch", "b~torch"}
    wait_for(gs, lambda: drawn_in_full(traces(gs, "net-loss-chart", "torch")) == twins)

    gs.locator("#deep-run").select_option("b")
    theirs = last_view_of(wire, "b")["runs"]["b"]
    gs.wait_for_function(
        "(v) => document.querySelector('#deep-filters figure').dataset.values === v",
        arg=json.dumps(theirs["filters"][0], separators=(",", ":")),
    )
    gs.screenshot(path=str(SCREENSHOTS / "deep-digits.png"), full_page=True)
    gs.set_viewport_size({"width": 390, "height": 844})
    fits_the_phone(gs)
    gs.screenshot(path=str(SCREENSHOTS / "deep-digits-phone.png"), full_page=True)


def test_adding_rnn_grad_norms_per_time_step_and_live_clipping(gs: Page, base_url: str) -> None:
    gs.set_viewport_size({"width": 1440, "height": 900})
    wire = Wire(gs)
    gs.goto(f"{base_url}/{RNN_HASH}")
    expect(gs.locator("#seq-grads")).to_be_visible()
    assert gs.evaluate(
        "() => ['net-model', 'net-dataset', 'net-steps'].map(id => document.getElementById(id).value)"
    ) == ["rnn", "adding", "12"]
    step_reached(gs, 20)

    # one point per time step per run, the values of the server's latest view
    gs.wait_for_function(
        """() => (document.getElementById('seq-grads').data || [])
            .filter(t => t.meta && t.meta.kind === 'grad').length === 2"""
    )
    grads = {t["run"]: t for t in traces(gs, "seq-grads", "grad")}
    assert set(grads) == {"a", "b"}
    assert all(len(t["x"]) == 12 and t["x"] == list(range(1, 13)) for t in grads.values())
    views = [v for v in wire.of("view") if "a" in v["runs"]]
    assert any(v["runs"]["a"]["grad_norms"] == grads["a"]["y"] for v in views)
    assert gs.evaluate("() => document.getElementById('seq-grads').layout.yaxis.type") == "log"
    target = traces(gs, "seq-prediction", "target")[0]
    assert target["y"] == wire.of("dataset")[-1]["samples"]["targets"]
    assert all(len(t["y"]) == 16 for t in traces(gs, "seq-prediction", "prediction"))

    # the clip control: turned on at 1, then three notches down by keyboard, each sent and acked
    gs.locator("#clip-on").check()
    slider = gs.locator("#clip-range")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowLeft")
    expect(gs.locator("#clip-out")).to_have_text("0.501")
    status = gs.locator("#clip-status")
    expect(status).to_contain_text("‖g‖ ≤ 0.501 from update", timeout=10_000)
    clips = [m for m in wire.sent if m.get("type") == "clip"]
    assert clips[0] == {"type": "clip", "max_norm": 1} and clips[-1]["max_norm"] == 0.501
    wait_for(gs, lambda: len(clip_acks(wire)) == 4)
    acks = clip_acks(wire)
    assert len(acks) == len(clips) == 4 and acks[-1]["max_norm"] == 0.501
    first = acks[-1]["step"]
    expect(status).to_have_attribute("data-step", str(first))
    assert "clip:0.501" in gs.evaluate("() => location.hash")

    # the server clips from the acked update on: every later gradient norm is within it
    step_reached(gs, first + 20)
    for run in ("a", "b"):
        gnorm = wire.series(run, "gnorm")
        assert len(gnorm) > first + 10
        assert max(gnorm[first - 1 :]) <= 0.501 + 1e-9, run
    # and the readout beside the control says so, for both runs
    gs.wait_for_function(
        """() => { const v = Array.from(document.querySelectorAll('#clip-norms [data-run]'),
                         s => Number(s.textContent.split(' ').pop()));
                   return v.length === 2 && v.every(g => g <= 0.501); }"""
    )
    gs.screenshot(path=str(SCREENSHOTS / "deep-sequences.png"), full_page=True)

    # presenter mode redraws the sequence charts in its theme: larger type, thicker lines
    normal = gs.evaluate(SEQ_LOOKS)
    gs.evaluate("() => document.activeElement.blur()")
    gs.keyboard.press("p")
    gs.wait_for_function(
        f"(n) => {{ const l = ({SEQ_LOOKS})(); return l.font >= 1.5 * n.font && l.line >= 2 * n.line; }}",
        arg=normal,
    )
    gs.screenshot(path=str(SCREENSHOTS / "deep-sequences-presenter.png"))
    gs.keyboard.press("p")
    gs.wait_for_function(f"(n) => ({SEQ_LOOKS})().font === n.font", arg=normal)
    gs.set_viewport_size({"width": 390, "height": 844})
    fits_the_phone(gs)
    gs.screenshot(path=str(SCREENSHOTS / "deep-sequences-phone.png"), full_page=True)
