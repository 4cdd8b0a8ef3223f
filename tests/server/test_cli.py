"""The command line: export computes the same path as the REST route."""

from __future__ import annotations

import orjson
import pytest

from server.__main__ import main


def test_export_prints_the_trajectory_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--optimizer", "adam", "--hyper", "lr=0.05", "--steps", "20"]) == 0
    body = orjson.loads(capsys.readouterr().out)
    assert body["status"] == "finished" and body["steps"] == 20 and len(body["points"]) == 21
    assert body["points"][0][:2] == [-1.5, 1.5]


def test_export_csv_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "export",
                "--expression",
                "x^2 + 3*y^2",
                "--start",
                "1",
                "1",
                "--steps",
                "3",
                "--optimizer",
                "sgd",
                "--hyper",
                "lr=0.1",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "step,x,y,loss" and lines[1] == "0,1.0,1.0,4.0" and len(lines) == 5
    assert main(["export", "--hyper", "lr=-1"]) == 2
    assert "Invalid learning rate: -1.0" in capsys.readouterr().err
    assert main(["export", "--surface", "nowhere"]) == 2
    assert "unknown surface" in capsys.readouterr().err
