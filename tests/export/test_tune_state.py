"""The hash's tune= field in Python (server/export/tune_state.py): what the page could not have
written is refused naming tune.<item>; a tuned race's link keeps its tuning through an export."""

from __future__ import annotations

import pytest

from server.errors import FieldError
from server.export.state import format_hash, parse_hash

RACE = "surface=himmelblau&seed=0&steps=2000&run=sgd,lr:0.01"


@pytest.mark.parametrize(
    ("tune", "field"),
    [
        ("trials:65", "tune.trials"),
        ("trials:2.5", "tune.trials"),
        ("steps:0", "tune.steps"),
        ("crit:best", "tune.crit"),
        ("tol:-1", "tune.tol"),
        ("starts:everywhere", "tune.starts"),
        ("starts:random,n:17", "tune.n"),
        ("second:maybe", "tune.second"),
        ("lo:1,hi:0.1", "tune.hi"),
        ("lo:abc", "tune.lo"),
    ],
)
def test_a_tune_item_the_page_could_not_write_names_its_field(tune: str, field: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_hash(f"{RACE}&tune={tune}")
    assert err.value.field == field
    assert err.value.message.startswith(field)


def test_items_left_out_take_the_page_defaults_and_are_written_out() -> None:
    state = parse_hash(f"{RACE}&tune=trials:8,starts:random")
    assert state.tune is not None and (state.tune.trials, state.tune.n_starts) == (8, 4)
    assert format_hash(state).endswith(
        "&tune=trials:8,steps:500,crit:steps,tol:0.001,starts:random,n:4,second:0,lo:0.0001,hi:1"
    )
    assert parse_hash(RACE).tune is None
    assert "tune=" not in format_hash(parse_hash(RACE))
