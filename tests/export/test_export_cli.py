"""`gradscape export --state ... -o FILE`: files, errors with exit code 2, the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from PIL import Image

from server.__main__ import ProgressBar, main

STATE = "#surface=himmelblau&seed=4&steps=150&run=adam,lr:0.05&run=rmsprop,lr:0.01"


@pytest.mark.parametrize("fmt", ["html", "csv", "json", "gif"])
def test_state_to_a_file(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"race.{fmt}"
    assert main(["export", "--state", STATE, "--format", fmt, "-o", str(out)]) == 0
    data = out.read_bytes()
    assert f"wrote {out}" in capsys.readouterr().err
    if fmt == "json":
        doc = orjson.loads(data)
        assert doc["state"]["seed"] == 4 and [r["optimizer"] for r in doc["runs"]] == [
            "adam",
            "rmsprop",
        ]
    elif fmt == "gif":
        assert Image.open(io.BytesIO(data)).n_frames == 100
    elif fmt == "csv":
        assert data.decode().count("\n") == 1 + 2 * 151
    else:
        assert data.startswith(b"<!doctype html>") and b"Plotly" in data


def test_format_from_the_extension_and_a_full_url(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    url = "http://127.0.0.1:8000/" + STATE
    assert main(["export", "--state", url, "-o", str(out)]) == 0
    assert out.read_text().startswith("run,optimizer,step,x,y,loss\na,adam,0,")


def test_errors_name_the_field_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--state", "#run=adam,lr:-1", "-o", str(tmp_path / "a.json")]) == 2
    assert "run[0].hyper.lr" in capsys.readouterr().err
    assert main(["export", "--state", "#mode=network", "--format", "gif"]) == 2
    assert "export supports surface races" in capsys.readouterr().err
    assert main(["export", "--format", "gif"]) == 2  # html and gif need --state
    assert "--state" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()


def test_progress_bar_draws_in_place() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    for done in (0, 500, 1200, 2000):
        bar(done, 2000)
    text = stream.getvalue()
    assert "\r[######....] 1200/2000 steps" in text
    assert text.endswith("\r[##########] 2000/2000 steps\n")
