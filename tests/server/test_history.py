"""The compact history of a race: merged frames carry exactly the points of the frames."""

from __future__ import annotations

import numpy as np
import orjson

from server.jsonenc import dumps_text
from server.live import history
from server.live.history import PathHistory


def frame(run_steps: dict[str, tuple[int, int]], rows: bool = False) -> dict[str, object]:
    runs: dict[str, object] = {}
    for run, (step, n) in run_steps.items():
        k = np.arange(step, step + n, dtype=np.float64)
        cols = [k / 3.0, -k / 7.0, np.exp(-k / 11.0), np.sqrt(k + 0.1)]
        x, y, loss, gnorm = (tuple(float(v) for v in c) for c in cols) if rows else cols
        runs[run] = {"step": step, "x": x, "y": y, "loss": loss, "gnorm": gnorm}
    return runs


def record(h: PathHistory, runs: dict[str, object]) -> None:
    h.add_frame(runs, dumps_text({"type": "frame", "runs": runs}))  # type: ignore[arg-type]


def joined(texts: list[str]) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for text in texts:
        msg = orjson.loads(text)
        if msg["type"] != "frame":
            continue
        for run, part in msg["runs"].items():
            mine = out.setdefault(run, {"x": [], "y": [], "loss": [], "gnorm": []})
            assert part["step"] == len(mine["x"])
            for k in mine:
                mine[k].extend(part[k])
    return out


def test_frames_merge_into_few_and_keep_every_point_and_message_in_order() -> None:
    h = PathHistory(limit=1 << 24)
    h.add_text('{"type":"race","of":"start"}')
    sent = ['{"type":"race","of":"start"}']
    step = 0
    for i in range(300):
        n = 1 + i % 3
        steps = {"a": (step, n)} if i > 200 else {"a": (step, n), "b": (step, n)}  # b stopped
        runs = frame(steps, rows=i % 2 == 0)  # Python floats and numpy arrays, as the engine
        record(h, runs)
        sent.append(dumps_text({"type": "frame", "runs": runs}))
        step += n
        if i == 150:
            h.add_text('{"type":"ack","of":"set","run":"a","step":1}')
            sent.append('{"type":"ack","of":"set","run":"a","step":1}')
    texts = h.encoded()
    assert len(texts) == 4  # race, frames, ack, frames
    assert orjson.loads(texts[2])["type"] == "ack"
    assert joined(texts) == joined(sent)
    assert h.encoded() == texts  # encoding again gives the same text


def test_long_races_close_segments_and_a_gap_starts_a_new_one() -> None:
    h = PathHistory(limit=1 << 24)
    step = 0
    while step < 3 * history.SEGMENT_STEPS:
        record(h, frame({"a": (step, 10)}))
        step += 10
    assert len(h.encoded()) == 3
    record(h, frame({"a": (step + 5, 1)}))  # not contiguous: kept, in its own segment
    assert len(h.encoded()) == 4


def test_a_race_beyond_the_limit_is_marked_truncated_and_no_longer_recorded() -> None:
    h = PathHistory(limit=10_000)
    h.add_text("x" * 100)
    for i in range(100):
        record(h, frame({"a": (10 * i, 10)}))
    assert h.truncated and h.encoded() == [] and h.nbytes == 0
    h.clear()
    assert not h.truncated
