"""The page's first digits race (static/js/deepstate.js and runstate.js defaults: all 1,797
digits, batch 64, conv 8 filters 3x3, Adam lr 0.02 against SGD lr 0.5, seed 0) passes 97%
held-out accuracy within STEPS steps, counted in steps, not seconds: bench/deep_live_bench.py
shows how many steps a second the page gets (16 at load 4, 6 at load 9 with the twins on)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import session
from .test_ws_deep import Msg, send, series, until

STEPS = 110  # both runs pass 97% by step 94 of this race
PAGE_DIGITS: Msg = {
    "model": "cnn",
    "dataset": "digits",
    "n": 1797,
    "batch_size": 64,
    "filters": 8,
    "kernel": 3,
    "stride": 1,
    "padding": 1,
    "pool": 2,
    "torch": False,  # the twins' weights equal ours (tests/server/test_ws_deep*.py)
}
PAGE_RUNS = [
    {"id": "a", "optimizer": "adam", "hyper": {"lr": 0.02}, "schedule": None, "noise": 0},
    {"id": "b", "optimizer": "sgd", "hyper": {"lr": 0.5}, "schedule": None, "noise": 0},
]


def test_the_pages_digits_race_passes_97_percent_held_out(client: TestClient) -> None:
    start = {
        "type": "start",
        "problem": {"network": PAGE_DIGITS},
        "runs": PAGE_RUNS,
        "seed": 0,
        "max_steps": STEPS,
        "steps_per_second": 2000,
    }
    with session(client) as ws:
        send(ws, start)
        seen: list[Msg] = []
        until(ws, lambda m: m["type"] == "status" and m["state"] == "done", seen)
    got = series(seen)
    for run in ("a", "b"):
        accuracy = got[run]["test_acc"]
        assert len(accuracy) == STEPS + 1
        assert accuracy[0] < 0.3  # chance is 0.1: the race starts untrained
        assert max(accuracy) >= 0.97, (run, max(accuracy))
