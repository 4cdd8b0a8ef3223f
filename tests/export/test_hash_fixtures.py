"""server/export/state.py against the shared fixture of page hashes (tests/fixtures/hashes.json),
which the browser test of static/js/state.js reads too."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from server.export.net_state import NetState
from server.export.state import ExportState, format_hash, parse_hash

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "hashes.json").read_text()
)["cases"]


def net_json(net: NetState) -> dict[str, Any]:
    """The network in state.js's NetState shape."""
    out = asdict(net)
    out["hidden"] = list(net.hidden)
    return out


def as_json(s: ExportState) -> dict[str, Any]:
    """The state in the fixture's shape (state.js's AppState: its surface-mode fields, and for a
    network race its mode and net)."""
    network = {"mode": s.mode, "net": net_json(s.net)} if s.mode == "network" else {}
    return {
        **network,
        "surface": s.surface,
        "params": dict(s.params),
        "expr": s.expr,
        "domain": [list(p) for p in s.domain] if s.domain is not None else None,
        "start": list(s.start) if s.start is not None else None,
        "seed": s.seed,
        "steps": s.steps,
        "speed": s.speed,
        "view": s.view,
        "runs": [
            {
                "optimizer": r.optimizer,
                "hyper": dict(r.hyper),
                "schedule": dict(r.schedule) if r.schedule is not None else None,
                "noise": r.noise,
            }
            for r in s.runs
        ],
        "changes": [{"run": c.run, **c.to_json()} for c in s.changes],
        **({"tune": s.tune.to_page()} if s.tune is not None else {}),
    }


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_fixture_hash_decodes_to_its_state_and_back(case: dict[str, Any]) -> None:
    state = parse_hash(case["hash"])
    assert as_json(state) == case["state"]
    assert format_hash(state) == case["hash"]
    for other in case["also"]:
        assert as_json(parse_hash(other)) == case["state"], other


def test_the_fixture_covers_the_timeline_and_every_network_model() -> None:
    assert any(c["state"]["changes"] for c in CASES)
    models = {parse_hash(c["hash"]).net.model for c in CASES if c["state"].get("mode")}
    assert models >= {"cnn", "rnn"}
