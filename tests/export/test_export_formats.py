"""Exported races: the same points as the live stream, and the CSV, JSON, HTML and GIF files."""

from __future__ import annotations

import csv
import io

import numpy as np
import orjson
import pytest
from PIL import Image

from server.errors import FieldError
from server.export import compute, export_state, parse_hash
from server.export.gif import frame_steps

RACE = (
    "#surface=rosenbrock&seed=5&steps=400"
    "&run=adam,lr:0.05&run=momentum,lr:0.0005,noise:0.3"
    "&run=sgd,lr:0.001,sched:step,sched.step_size:50,sched.gamma:0.5&run=sgd,lr:0.01"
)
FORMULA = "#surface=custom&expr=x%5E2%20%2B%203*y%5E2&start=1,1&seed=1&steps=200&run=adam,lr:0.1,noise:0.5"


def test_progress_is_reported_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    compute(
        parse_hash("surface=booth&steps=1200&run=sgd,lr:0.01"),
        max_steps=20_000,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 1200) and calls[-1] == (1200, 1200)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) >= 3


def test_csv_has_one_row_per_point() -> None:
    file = export_state(parse_hash(RACE), "csv", max_steps=20_000)
    rows = list(csv.reader(io.StringIO(file.content.decode())))
    assert rows[0] == ["run", "optimizer", "step", "x", "y", "loss"]
    result = compute(parse_hash(RACE), max_steps=20_000)
    assert len(rows) == 1 + sum(len(r.points) for r in result.runs)
    a = [r for r in rows[1:] if r[0] == "a"]
    assert a[0][:5] == ["a", "adam", "0", "-1.5", "1.5"] and a[-1][2] == "400"
    assert float(a[-1][3]) == result.runs[0].points[-1, 0]
    assert file.filename == "gradscape-rosenbrock.csv" and file.media_type.startswith("text/csv")


def test_json_has_the_state_runs_and_no_non_finite_number() -> None:
    file = export_state(parse_hash(RACE), "json", max_steps=20_000)
    text = file.content.decode()
    assert "NaN" not in text and "Infinity" not in text
    doc = orjson.loads(file.content)
    assert doc["hash"] == RACE[1:]
    assert doc["state"]["seed"] == 5 and doc["state"]["start"] == [-1.5, 1.5]
    runs = {r["id"]: r for r in doc["runs"]}
    assert runs["b"]["noise"] == 0.3 and runs["b"]["hyper"]["momentum"] == 0.9
    assert runs["c"]["schedule"] == {"name": "step", "step_size": 50, "gamma": 0.5}
    assert runs["d"]["status"] == "diverged" and len(runs["d"]["points"]) == runs["d"]["steps"] + 1
    assert runs["d"]["stop_step"] < 400 and runs["a"]["stop_step"] == 400
    assert np.isfinite(np.array(runs["d"]["points"])).all()


def test_html_is_one_self_contained_file() -> None:
    file = export_state(parse_hash(FORMULA), "html", max_steps=20_000)
    text = file.content.decode()
    assert file.media_type.startswith("text/html") and file.filename == "gradscape-custom.html"
    # data, the room answers' slot (empty), plotly.js, the player
    assert text.count("</script>") == 4
    assert '<script type="application/json" id="class-answers">null</script>' in text
    head = text.split("<script>", 1)[0].lower()
    for foreign in ("http://", "https://", "src=", "cdn"):
        assert foreign not in head
    assert "<script src" not in text and '<link rel="stylesheet"' not in text
    assert "seed 1" in text and "200 steps" in text
    assert "#surface=custom&amp;expr=x%5E2%20%2B%203*y%5E2" in text


def test_html_data_cannot_close_its_script_element() -> None:
    state = parse_hash("surface=custom&expr=x%5E2%3C%2Fscript%3E&steps=5")
    with pytest.raises(FieldError) as err:  # the formula is refused before any HTML exists
        export_state(state, "html", max_steps=20_000)
    assert err.value.field == "expr"
    from server.export.html import script_json

    assert "</script>" not in str(script_json({"a": "</script><b>"}))


def test_gif_decodes_with_the_expected_frames() -> None:
    state = parse_hash(
        "surface=himmelblau&steps=2000&"
        + "&".join(f"run=sgd,lr:{0.001 * (i + 1)}" for i in range(8))
    )
    file = export_state(state, "gif", max_steps=20_000)
    image = Image.open(io.BytesIO(file.content))
    assert image.format == "GIF" and image.size == (480, 400) and image.n_frames == 100
    short = export_state(
        parse_hash("surface=booth&steps=20&run=adam,lr:0.5"), "gif", max_steps=20_000
    )
    assert Image.open(io.BytesIO(short.content)).n_frames == 21
    first, last = Image.open(io.BytesIO(short.content)), Image.open(io.BytesIO(short.content))
    last.seek(last.n_frames - 1)
    assert np.asarray(first.convert("RGB")).tolist() != np.asarray(last.convert("RGB")).tolist()


def test_frame_steps_cover_the_race() -> None:
    assert frame_steps(0) == [0]
    assert frame_steps(5) == [0, 1, 2, 3, 4, 5]
    steps = frame_steps(2000)
    assert len(steps) == 100 and steps[0] == 0 and steps[-1] == 2000


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("surface=nowhere", "surface"),
        ("surface=quadratic&p=kappa:-5", "p.kappa"),
        ("surface=quadratic&p=bogus:1", "p.bogus"),
        ("surface=custom&expr=x%2B%2B", "expr"),
        ("run=adam,lr:-1", "run[0].hyper.lr"),
        ("run=nothing", "run[0].optimizer"),
        ("run=sgd,sched:nope", "run[0].schedule.name"),
        ("run=adam,lr:fast", "run[0].hyper.lr"),
        ("steps=30000", "steps"),
    ],
)
def test_bad_races_name_the_field(text: str, field: str) -> None:
    with pytest.raises(FieldError) as err:
        compute(parse_hash(text), max_steps=20_000)
    assert err.value.field == field, err.value.message
