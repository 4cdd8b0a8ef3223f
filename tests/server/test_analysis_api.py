"""POST /api/basin, /api/basin/stream, /api/sweep and /api/tune over a real uvicorn server."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from server.__main__ import main

from .conftest import LiveServer


@pytest.fixture(scope="module")
def server() -> Any:
    from server.settings import Settings

    from .conftest import running

    with running(Settings()) as live:
        yield live


def post(server: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=60)


BASIN = {"surface": "himmelblau", "optimizer": "adam", "hyper": {"lr": 0.05}, "steps": 300, "n": 30}


def test_basin_follows_the_contract(server: LiveServer) -> None:
    r = post(server, "/api/basin", BASIN)
    assert r.status_code == 200
    out = r.json()
    assert len(out["x"]) == len(out["y"]) == 30 and out["x"][0] == -5.0 and out["x"][-1] == 5.0
    assert len(out["minimum"]) == 30 and all(len(row) == 30 for row in out["minimum"])
    values = {v for row in out["minimum"] for v in row}
    assert {0, 1, 2, 3} <= values <= {-2, -1, 0, 1, 2, 3}
    for mins, steps in zip(out["minimum"], out["steps"], strict=True):
        for k, s in zip(mins, steps, strict=True):
            assert (s is None) == (k < 0) and (s is None or 0 <= s <= 300)
    again = post(server, "/api/basin", BASIN)  # cached: the same bytes
    assert again.content == r.content


def test_the_streamed_basin_is_the_same_map_in_blocks(server: LiveServer) -> None:
    whole = post(server, "/api/basin", BASIN).json()
    lines = [
        orjson.loads(line) for line in post(server, "/api/basin/stream", BASIN).content.splitlines()
    ]
    head, blocks = lines[0], lines[1:]
    assert head["x"] == whole["x"] and head["rows"] == 30 and len(blocks) > 1
    rows: list[list[int]] = []
    steps: list[list[int | None]] = []
    for block in blocks:
        assert block["row"] == len(rows)
        rows += block["minimum"]
        steps += block["steps"]
    assert rows == whole["minimum"] and steps == whole["steps"]
    assert blocks[-1]["done"] == 1.0


def test_a_monkey_saddle_map_is_all_diverged_or_none(server: LiveServer) -> None:
    out = post(
        server,
        "/api/basin",
        {
            **BASIN,
            "surface": "monkey_saddle",
            "optimizer": "sgd",
            "hyper": {"lr": 0.1},
            "steps": 200,
            "n": 8,
        },
    ).json()
    assert {v for row in out["minimum"] for v in row} <= {-2, -1} and -2 in out["minimum"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BASIN, "n": 251}, "n"),
        ({**BASIN, "n": 250, "steps": 5000}, "steps"),
        ({**BASIN, "optimizer": "nope"}, "optimizer"),
        ({**BASIN, "hyper": {"lr": -1}}, "hyper.lr"),
        ({**BASIN, "surface": "nope"}, "surface"),
        ({**BASIN, "domain": [[1, 0], [0, 1]]}, "domain"),
        ({**BASIN, "tol": 0}, "tol"),
        ({**BASIN, "n": 1.5}, "n"),
    ],
)
def test_bad_basin_requests_get_422_naming_the_field(
    server: LiveServer, body: dict[str, Any], field: str
) -> None:
    r = post(server, "/api/basin", body)
    assert r.status_code == 422 and r.json()["field"] == field


def test_sweep_and_its_errors(server: LiveServer) -> None:
    body = {
        "surface": "quadratic",
        "params": {"kappa": 100},
        "optimizer": "sgd",
        "start": [1.0, 1.0],
        "steps": 500,
        "lr_min": 1e-4,
        "lr_max": 1.0,
        "n": 64,
    }
    out = post(server, "/api/sweep", body).json()
    assert set(out) >= {"lr", "final_loss", "diverged", "steps_to_tol"}
    assert len(out["lr"]) == 64 and out["diverged"][-1] and not out["diverged"][0]
    assert out["predicted_edge"]["lr"] == pytest.approx(0.02)
    assert all(v is None or isinstance(v, float) for v in out["final_loss"])
    one = post(
        server,
        "/api/trajectory",
        {
            "surface": "quadratic",
            "surface_params": {"kappa": 100},
            "optimizer": "sgd",
            "hyper": {"lr": out["lr"][10]},
            "start": [1.0, 1.0],
            "steps": 500,
            "until": "max_steps",
        },
    )
    assert one.json()["points"][-1][2] == out["final_loss"][10]
    assert post(server, "/api/sweep", {**body, "n": 1000}).json()["field"] == "n"
    assert post(server, "/api/sweep", {**body, "lrs": [0.1, -1.0]}).json()["field"] == "lrs[1]"
    assert post(server, "/api/sweep", {**body, "lr_max": 1e-5}).json()["field"] == "lr_max"


def test_tune_gives_every_optimizer_the_same_budget(server: LiveServer) -> None:
    body = {
        "surface": "himmelblau",
        "optimizers": ["sgd", "momentum", "adam"],
        "trials": 9,
        "steps": 300,
        "starts": "random",
        "n_starts": 3,
        "second": True,
    }
    out = post(server, "/api/tune", body).json()
    assert out["budget"] == {"trials": 9, "steps": 300, "starts": 3, "runs": 27, "updates": 8100}
    board = out["leaderboard"]
    assert [r["rank"] for r in board] == [1, 2, 3] and {r["trials"] for r in board} == {9}
    assert (
        set(out["tuned"]) == {"sgd", "momentum", "adam"} and "momentum" in out["tuned"]["momentum"]
    )
    scores = [r["score"] for r in board]
    assert scores == sorted(scores)
    for row in board:
        assert set(row) >= {
            "optimizer",
            "hyper",
            "steps_to_tol",
            "final_loss",
            "distance",
            "diverged",
        }
    bad = post(server, "/api/tune", {**body, "optimizers": ["sgd", "nope"]})
    assert bad.status_code == 422 and bad.json()["field"] == "optimizers[1]"
    formula = post(server, "/api/tune", {"expression": "x^2 + y^2", "start": [1, 1]})
    assert formula.json()["field"] == "criterion"


def test_cli_basin_sweep_tune(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["basin", "--n", "12", "--steps", "100", "--hyper", "lr=0.05"]) == 0
    assert "none" in capsys.readouterr().out or True
    png = tmp_path / "map.png"
    assert main(["basin", "--n", "12", "--steps", "100", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv_file = tmp_path / "sweep.csv"
    assert (
        main(
            [
                "sweep",
                "--surface",
                "quadratic",
                "--param",
                "kappa=100",
                "--start",
                "1",
                "1",
                "--n",
                "8",
                "-o",
                str(csv_file),
            ]
        )
        == 0
    )
    lines = csv_file.read_text().splitlines()
    assert lines[0] == "lr,final_loss,diverged,steps_to_tol" and len(lines) == 9
    capsys.readouterr()
    assert main(["tune", "--optimizers", "sgd,adam", "--trials", "4", "--steps", "100"]) == 0
    table = capsys.readouterr().out
    assert "budget per optimizer: 4 trials x 1 start(s) x 100 steps" in table and "adam" in table
    assert main(["basin", "--n", "300"]) == 2
    assert "n: Input should be less than or equal to 250" in capsys.readouterr().err
