"""A whole map is the same, bit for bit, whatever blocks of rows it is computed in."""

from __future__ import annotations

import pytest

from server.analysis import basin as basin_module
from server.analysis.basin import basin
from server.analysis.requests import BasinRequest


def test_blocks_of_rows_give_the_same_map(monkeypatch: pytest.MonkeyPatch) -> None:
    body = BasinRequest(
        surface="himmelblau",
        optimizer="momentum",
        hyper={"lr": 0.02},
        n=20,
        steps=150,
        domain=((-6.0, 6.0), (-6.0, 6.0)),
    )
    monkeypatch.setattr(basin_module, "CACHE_CELLS", 10**6)
    whole = basin(body)
    monkeypatch.setattr(basin_module, "CACHE_CELLS", 60)  # blocks of 3 rows, the last of 2
    blocks = basin(body)
    assert blocks["minimum"] == whole["minimum"]
    assert blocks["steps"] == whole["steps"]
    cells = [v for row in whole["steps"] for v in row]
    assert all(v is None or type(v) is int for v in cells)
    kinds = {m for row in whole["minimum"] for m in row}
    assert -2 in kinds and kinds & {0, 1, 2, 3}  # diverged cells and reached minima both
