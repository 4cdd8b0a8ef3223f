"""A formula with no finite value on its domain is refused at the problem build, so every door
(websocket, REST, CLI, export) refuses it with the same message (issue #11, item 8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.__main__ import main

from .conftest import session

INFINITE = ["9**9**9", "x + 10^400", "1/0 + 0*y", "log(-1 - x^2)"]


@pytest.mark.parametrize("formula", INFINITE)
def test_rest_refuses_formulas_without_a_finite_value(client: TestClient, formula: str) -> None:
    for path, body in [
        ("/api/trajectory", {"expression": formula, "optimizer": "adam", "steps": 5}),
        ("/api/expression/grid", {"expression": formula, "n": 20}),
    ]:
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        text = r.text
        assert formula in text and "everywhere on [-3, 3] x [-3, 3]" in text, text


def test_formulas_finite_somewhere_are_kept(client: TestClient) -> None:
    for formula in ["log(x)", "sqrt(x) + y^2", "1/x"]:
        r = client.post("/api/trajectory", json={"expression": formula, "steps": 3})
        assert r.status_code == 200, (formula, r.text)


def test_websocket_start_refuses_it_and_stays_usable(client: TestClient) -> None:
    with session(client) as ws:
        ws.send_json(
            {
                "type": "start",
                "problem": {"expression": "9**9**9"},
                "runs": [{"id": "a", "optimizer": "adam"}],
            }
        )
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["field"] == "problem.expression", msg
        assert "9**9**9 is inf everywhere" in msg["message"]
        ws.send_json(
            {
                "type": "start",
                "problem": {"surface": "booth"},
                "runs": [{"id": "a", "optimizer": "adam"}],
            }
        )
        assert ws.receive_json()["type"] == "ack"


def test_cli_exits_non_zero_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--expression", "9**9**9", "--format", "csv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "9**9**9 is inf everywhere" in captured.err
    state = "#surface=custom&expr=9**9**9&run=adam,lr:0.05"
    assert main(["export", "--state", state, "--format", "csv"]) == 2
    assert "9**9**9 is inf everywhere" in capsys.readouterr().err


def test_a_formula_that_ends_early_points_at_its_operator(client: TestClient) -> None:
    for formula, position, shown in [("x+", 1, "'+'"), ("sin(x)*", 6, "'*'"), ("x^", 1, "'^'")]:
        r = client.post("/api/expression/grid", json={"expression": formula, "n": 20})
        assert r.status_code == 422
        body = r.json()
        assert body["field"] == "expression" and body["position"] == position, body
        assert f"{shown} needs something after it" in body["message"], body
