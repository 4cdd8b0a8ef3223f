"""The page's URL hash read in Python: hashes written by hand exactly as state.js writes them."""

from __future__ import annotations

import pytest

from server.errors import FieldError
from server.export.compute import compute
from server.export.files import FORMATS, NETWORK_FORMATS, export_hash
from server.export.net_state import NetState, network_problem
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
from server.problems.factory import build_network
from server.problems.nn.deep_config import DeepConfig

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
    assert DEFAULT_RUNS[1] == RunState("momentum", {"lr": 0.001})
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


# --- network races: the net= field of MLPs, the digits CNN and the sequence RNN --------------

NETWORK_HASHES = [
    "mode=network&net=spiral,n:200,noise:0.1,hidden:12-8,act:tanh,batch:full,torch:1,arms:3"
    "&seed=0&steps=300&run=adam,lr:0.02",
    "mode=network&net=digits,n:1797,batch:64,torch:1,filters:8,kernel:3,stride:1,padding:1,pool:2"
    "&seed=4&steps=600&speed=200&run=sgd,lr:0.1&run=adam,lr:0.01",
    "mode=network&net=adding,n:1000,batch:32,torch:0,hidden:16,steps:30,scale:1.5,clip:0.5"
    "&seed=1&steps=400&run=momentum,lr:0.05&chg=a,120,lr:0.01",
    "mode=network&net=sine_seq,n:500,noise:0.05,batch:16,torch:1,hidden:8,steps:25,ahead:4,"
    "scale:1,clip:none&seed=0&steps=2000&run=rmsprop,lr:0.003",
]


@pytest.mark.parametrize("text", NETWORK_HASHES)
def test_a_network_hash_round_trips(text: str) -> None:
    state = parse_hash("#" + text)
    assert state.mode == "network"
    assert format_hash(state) == text
    assert parse_hash(format_hash(state)) == state


def test_cnn_and_rnn_fields_are_read_as_the_page_reads_them() -> None:
    cnn = parse_hash(NETWORK_HASHES[1]).net
    assert (cnn.model, cnn.dataset, cnn.n, cnn.batch, cnn.torch) == (
        "cnn",
        "digits",
        1797,
        64,
        True,
    )
    assert (cnn.filters, cnn.kernel, cnn.stride, cnn.padding, cnn.pool) == (8, 3, 1, 1, 2)
    rnn = parse_hash(NETWORK_HASHES[2])
    assert (rnn.net.model, rnn.net.units, rnn.net.length, rnn.net.scale) == ("rnn", 16, 30, 1.5)
    assert rnn.net.clip == 0.5 and rnn.net.torch is False
    assert rnn.changes[0].step == 120 and rnn.changes[0].hyper == {"lr": 0.01}
    sine = parse_hash(NETWORK_HASHES[3]).net
    assert (sine.noise, sine.ahead, sine.clip) == (0.05, 4, None)


def test_network_defaults_are_the_pages() -> None:
    bare = parse_hash("mode=network")
    assert bare.net == NetState() and bare.net.model == "mlp"
    assert [r.optimizer for r in bare.runs] == ["adam", "sgd"]
    digits = parse_hash("mode=network&net=digits").net
    assert (digits.n, digits.batch, digits.filters) == (1797, 64, 8)
    adding = parse_hash("mode=network&net=adding").net
    assert (adding.n, adding.batch, adding.units, adding.length, adding.clip) == (
        1000,
        32,
        16,
        20,
        None,
    )
    # a network race has no surface, start or view: they are not written
    written = format_hash(parse_hash("mode=network&net=digits&start=1,2&view=surface"))
    assert "start=" not in written and "view=" not in written and "surface=" not in written


@pytest.mark.parametrize("text", NETWORK_HASHES)
def test_the_network_of_a_hash_is_what_the_server_builds(text: str) -> None:
    net = parse_hash(text).net
    problem = network_problem(net)
    assert problem["torch"] == net.torch
    built = build_network(problem)
    config = built.problem.config
    if net.model == "mlp":
        assert (config.dataset, config.n, config.hidden) == (net.dataset, net.n, net.hidden)
        return
    assert isinstance(config, DeepConfig)
    assert (config.model, config.dataset, config.n, config.batch_size) == (
        net.model,
        net.dataset,
        net.n,
        net.batch,
    )
    if net.model == "cnn":
        assert (config.filters, config.kernel, config.pool) == (net.filters, net.kernel, net.pool)
    else:
        assert (config.hidden, config.steps, config.clip) == (net.units, net.length, net.clip)
        assert config.recurrent_scale == net.scale


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("mode=network&net=banana", "net"),
        ("mode=network&net=digits,filters:x", "net.filters"),
        ("mode=network&net=digits,padding:-1", "net.padding"),
        ("mode=network&net=adding,clip:0", "net.clip"),
        ("mode=network&net=adding,clip:-2", "net.clip"),
        ("mode=network&net=adding,steps:1", "net.steps"),
        ("mode=network&net=sine_seq,scale:0", "net.scale"),
        ("mode=network&net=spiral,act:swish", "net.act"),
        ("mode=network&net=spiral,hidden:99", "net.hidden"),
        ("mode=network&net=spiral,batch:0", "net.batch"),
        ("mode=network&net=spiral,n", "net"),
    ],
)
def test_bad_network_items_name_their_field(text: str, field: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_hash(text)
    assert err.value.field == field


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_cnn_race_is_read_but_not_exported(fmt: str) -> None:
    state = parse_hash(NETWORK_HASHES[1])
    with pytest.raises(FieldError) as err:
        compute(state, max_steps=10_000)
    assert err.value.field == "mode"
    with pytest.raises(FieldError) as err:
        export_hash(NETWORK_HASHES[1], fmt, max_steps=10_000)
    # the MLP's code exports refuse the CNN on its net; the replayed files refuse networks
    assert err.value.field == ("net" if fmt in NETWORK_FORMATS else "mode")
