"""The page's URL hash read in Python: hashes written by hand exactly as state.js writes them."""

from __future__ import annotations

import pytest

from server.errors import FieldError
from server.export.state import (
    DEFAULT_RUNS,
    ExportState,
    RunState,
    format_hash,
    js_number,
    parse_hash,
    read_number,
    unesc,
)

# As formatHash writes them (FIELDS order: surface, p, expr, domain, start, seed, steps, ...).
PAGE_HASHES = [
    "surface=rosenbrock&seed=0&steps=2000&run=adam,lr:0.05&run=momentum,lr:0.001",
    "surface=quadratic&p=kappa:10,angle:0.5&start=-2,1.5&seed=7&steps=500"
    "&run=sgd,lr:0.01,sched:step,sched.step_size:100,sched.gamma:0.5"
    "&run=adam,lr:0.05,beta1:0.8,amsgrad:true,noise:0.2",
    "surface=custom&expr=x%5E2%20%2B%203*y%5E2&domain=-4,4,-2,2&seed=3&steps=300"
    "&speed=120&run=rmsprop,lr:0.01,sched:cosine,sched.T_max:300",
]


@pytest.mark.parametrize("text", PAGE_HASHES)
def test_a_page_hash_round_trips(text: str) -> None:
    state = parse_hash("#" + text)
    assert format_hash(state) == text
    assert parse_hash(format_hash(state)) == state


def test_fields_are_read_as_the_page_reads_them() -> None:
    s = parse_hash("#" + PAGE_HASHES[1])
    assert s.surface == "quadratic" and s.params == {"kappa": 10.0, "angle": 0.5}
    assert s.start == (-2.0, 1.5) and s.seed == 7 and s.steps == 500
    assert s.runs[0] == RunState(
        "sgd", {"lr": 0.01}, {"step_size": 100.0, "gamma": 0.5, "name": "step"}, 0.0
    )
    assert s.runs[1].hyper == {"lr": 0.05, "beta1": 0.8, "amsgrad": True}
    assert s.runs[1].noise == 0.2
    custom = parse_hash(PAGE_HASHES[2])
    assert custom.custom and custom.expr == "x^2 + 3*y^2"
    assert custom.domain == ((-4.0, 4.0), (-2.0, 2.0)) and custom.speed == 120


def test_defaults_are_the_pages() -> None:
    s = parse_hash("")
    assert s == ExportState()
    assert (s.surface, s.seed, s.steps, s.speed, s.start) == ("rosenbrock", 0, 2000, 60, None)
    assert s.runs == DEFAULT_RUNS
    assert DEFAULT_RUNS[0] == RunState("adam", {"lr": 0.05})
    assert DEFAULT_RUNS[1] == RunState("momentum", {"lr": 0.0005})
    # unknown keys and parts without a value are ignored, as the page ignores them
    assert parse_hash("#theme=dark&=x&junk&surface=booth").surface == "booth"


def test_urls_and_a_leading_hash_are_accepted() -> None:
    url = "http://127.0.0.1:8000/embed?x=1#surface=booth&steps=10"
    assert (
        parse_hash(url)
        == parse_hash("surface=booth&steps=10")
        == parse_hash("#surface=booth&steps=10")
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("mode=network&net=spiral", "mode"),
        ("mode=regression", "mode"),
        ("mode=banana", "mode"),
        ("seed=abc", "seed"),
        ("seed=1.5", "seed"),
        ("steps=0", "steps"),
        ("steps=-3", "steps"),
        ("start=1", "start"),
        ("domain=1,0,0,1", "domain"),
        ("p=kappa:big", "p.kappa"),
        ("run=adam,lr:0.1,noise:-1", "run[0].noise"),
        ("run=adam&run=sgd,lr", "run[1]"),
        ("run=sgd,sched.gamma:0.5", "run[0].sched"),
        ("surface=custom", "expr"),
        ("view=sideways", "view"),
        ("speed=0", "speed"),
    ],
)
def test_invalid_values_name_the_hash_field(text: str, field: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_hash(text)
    assert err.value.field == field


def test_limits() -> None:
    with pytest.raises(FieldError) as err:
        parse_hash("steps=30000", max_steps=20000)
    assert err.value.field == "steps" and "20000" in err.value.message
    with pytest.raises(FieldError) as err:
        parse_hash("&".join(["run=sgd"] * 9))
    assert err.value.field == "run"


def test_javascript_numbers_and_text() -> None:
    assert read_number(" 1e3 ") == 1000 and read_number("0x10") == 16 and read_number(".5") == 0.5
    assert read_number("Infinity") is None and read_number("nan") is None
    assert read_number("") is None and read_number("1_000") is None and read_number("1e999") is None
    assert unesc("a+b%20c") == "a b c" and unesc("100%") == "100%"
    cases = {0.05: "0.05", 1e-7: "1e-7", 1e21: "1e+21", 2.0: "2", 1e-6: "0.000001", -3.25: "-3.25"}
    cases |= {1e16: "10000000000000000", 123.456: "123.456", 1.5e-10: "1.5e-10"}
    for value, text in cases.items():
        assert js_number(value) == text
