"""The page's URL-hash state (static/js/state.js), read and written in Python.

The hash is ``key=value`` parts joined by ``&``; ``run`` repeats once per run. Each field is read
the way the page's codec reads it (JavaScript ``Number`` for numbers, ``decodeURIComponent`` for
text) and has the page's default when absent, so a link exported gives the race the page shows.
Where the page would silently keep a default for a value it cannot read, this raises a
:class:`~server.errors.FieldError` naming the hash field instead: an export should not quietly
compute something else. Keys the page does not know are ignored, as the page ignores them.

Surface races (a named surface or a custom formula) and network races (``mode=network`` with its
``net=`` field, server/export/net_state.py: MLPs, the digits CNN, the sequence RNN) are described
here; a regression hash raises a FieldError on ``mode``. Only surface races export as files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from server.errors import FieldError
from server.export.jsvalues import esc, js_number, read_number, unesc
from server.export.net_state import DEFAULT_NET, NetState, format_net, parse_net
from server.export.tune_state import TuneState, format_tune, parse_tune

CUSTOM = "custom"
MAX_RUNS = 8
RUN_IDS = "abcdefgh"
SCHED_PREFIX = "sched."
NO_SCHEDULE = "none"  # ``sched:none`` in a change: back to a constant learning rate
MAX_CHANGES = 256  # the page keeps at most this many changes in a link
MAX_SEED = 2**32 - 1

Scalar = float | bool | str
Domain = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class RunState:
    """One run as the hash writes it: ``optimizer,name:value,...,noise:s,sched:name,sched.p:v``."""

    optimizer: str
    hyper: Mapping[str, Scalar] = field(default_factory=dict)
    schedule: Mapping[str, Scalar] | None = None  # {"name": ..., <param>: ...}
    noise: float = 0.0


@dataclass(frozen=True)
class ChangeState:
    """A live change, ``chg=<run>,<step>,<items as in a run>``: update number ``step`` (its
    acked step) is the first computed with it. ``schedule`` None means back to a constant rate;
    a change that leaves the schedule alone has ``schedule_set`` False."""

    run: str
    step: int
    hyper: Mapping[str, Scalar] = field(default_factory=dict)
    schedule: Mapping[str, Scalar] | None = None
    schedule_set: bool = False
    noise: float | None = None

    def to_json(self) -> dict[str, object]:
        """The change as in a ``start`` message's run (without ``run``)."""
        out: dict[str, object] = {"step": self.step}
        if self.hyper:
            out["hyper"] = dict(self.hyper)
        if self.schedule_set:
            out["schedule"] = dict(self.schedule) if self.schedule is not None else None
        if self.noise is not None:
            out["noise"] = self.noise
        return out


DEFAULT_RUNS: tuple[RunState, ...] = (
    RunState("adam", {"lr": 0.05}),
    RunState("momentum", {"lr": 0.001}),
)
# a network hash without runs gets the network mode's first race (state.js DEFAULT_RUNS_BY_MODE)
NETWORK_RUNS: tuple[RunState, ...] = (RunState("adam", {"lr": 0.02}), RunState("sgd", {"lr": 0.5}))


@dataclass(frozen=True)
class ExportState:
    """A race: what a hash fixes. Defaults are the page's (state.js FIELDS)."""

    mode: str = "surface"  # or "network" (then ``net`` is the problem and there is no start)
    surface: str = "rosenbrock"  # a surface name, or CUSTOM for the formula ``expr``
    params: Mapping[str, float] = field(default_factory=dict)
    expr: str = ""
    domain: Domain | None = None  # of a custom formula's plot; None: the formula's default
    start: tuple[float, float] | None = None  # None: the surface's default start
    seed: int = 0
    steps: int = 2000
    speed: float = 60.0
    view: str = "contour"
    runs: tuple[RunState, ...] = DEFAULT_RUNS
    changes: tuple[ChangeState, ...] = ()
    tune: TuneState | None = None  # "Tune all"'s settings (surface races), once used
    net: NetState = DEFAULT_NET

    def run_changes(self, index: int) -> list[dict[str, object]]:
        """The ``changes`` of run ``index`` in a ``start`` message."""
        return [c.to_json() for c in self.changes if c.run == run_id(index)]

    @property
    def custom(self) -> bool:
        return self.surface == CUSTOM

    @property
    def name(self) -> str:
        """A file-name friendly name of the surface ("custom" for a formula)."""
        return re.sub(r"[^A-Za-z0-9_-]+", "_", self.surface)[:40] or "race"


def run_id(index: int) -> str:
    """Run ids by position, as the page gives them (the colours follow the same order)."""
    return RUN_IDS[index] if index < len(RUN_IDS) else f"r{index}"


# --- values ------------------------------------------------------------------------------


def _read_scalar(text: str) -> Scalar:
    if text in ("true", "false"):
        return text == "true"
    v = read_number(text)
    return unesc(text) if v is None else v


def _write_scalar(v: Scalar) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return esc(v)
    return js_number(v)


# --- fields --------------------------------------------------------------------------------


def _number(key: str, text: str, what: str = "a number") -> float:
    v = read_number(text)
    if v is None:
        raise FieldError(key, f"{key}={text!r} is not {what}")
    return v


def _count(key: str, text: str, largest: int) -> int:
    v = read_number(text)
    if v is None or v != int(v) or v < 0:
        raise FieldError(key, f"{key}={text!r} is not a whole number >= 0")
    if v > largest:
        raise FieldError(key, f"{key}={text} is above the limit {largest}")
    return int(v)


def _point(key: str, text: str) -> tuple[float, float]:
    parts = [read_number(t) for t in text.split(",")]
    if len(parts) != 2 or parts[0] is None or parts[1] is None:
        raise FieldError(key, f"{key}={text!r} is not a point x,y")
    return parts[0], parts[1]


def _box(key: str, text: str) -> Domain:
    v = [read_number(t) for t in text.split(",")]
    if len(v) != 4 or any(n is None for n in v):
        raise FieldError(key, f"{key}={text!r} is not x0,x1,y0,y1")
    x0, x1, y0, y1 = (float(n) for n in v if n is not None)
    if not (x0 < x1 and y0 < y1):
        raise FieldError(key, f"{key}={text!r} needs x0 < x1 and y0 < y1")
    return (x0, x1), (y0, y1)


def _params(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in text.split(","):
        if item == "":
            continue
        k, _, v = item.partition(":")
        name = unesc(k)
        num = read_number(v) if v else None
        if not name or num is None:
            raise FieldError(f"p.{name}" if name else "p", f"p: {item!r} is not name:number")
        out[name] = num
    return out


@dataclass
class _Items:
    hyper: dict[str, Scalar]
    sched: dict[str, Scalar]
    sched_name: str
    noise: float | None


def _items(where: str, items: list[str]) -> _Items:
    """A run's or a change's ``name:value`` items (hyperparameters, noise, sched, sched.*)."""
    out = _Items({}, {}, "", None)
    for item in items:
        colon = item.find(":")
        if colon <= 0:
            raise FieldError(where, f"{where}: {item!r} is not name:value")
        key, raw = unesc(item[:colon]), item[colon + 1 :]
        if key == "noise":
            v = read_number(raw)
            if v is None or v < 0:
                raise FieldError(f"{where}.noise", f"{where}.noise={raw!r} is not a number >= 0")
            out.noise = v
        elif key == "sched":
            out.sched_name = unesc(raw)
        elif key.startswith(SCHED_PREFIX):
            out.sched[key[len(SCHED_PREFIX) :]] = _read_scalar(raw)
        else:
            out.hyper[key] = _read_scalar(raw)
    if out.sched and (not out.sched_name or out.sched_name == NO_SCHEDULE):
        raise FieldError(f"{where}.sched", f"{where}: schedule parameters without sched:<name>")
    return out


def _run(index: int, text: str) -> RunState:
    where = f"run[{index}]"
    head, *rest = text.split(",")
    optimizer = unesc(head)
    if not optimizer:
        raise FieldError(where, f"{where}: {text!r} names no optimizer")
    it = _items(where, rest)
    given = it.sched_name and it.sched_name != NO_SCHEDULE
    schedule = {**it.sched, "name": it.sched_name} if given else None
    return RunState(optimizer, it.hyper, schedule, it.noise or 0.0)


def _change(index: int, text: str, runs: int) -> ChangeState:
    where = f"chg[{index}]"
    head, *rest = text.split(",")
    run = unesc(head)
    if run not in [run_id(i) for i in range(runs)]:
        raise FieldError(where, f"{where}: {run!r} is not a run of this race")
    if not rest:
        raise FieldError(f"{where}.step", f"{where}: {text!r} has no step")
    step = read_number(rest[0])
    if step is None or step != int(step) or step < 1:
        raise FieldError(f"{where}.step", f"{where}: step {rest[0]!r} is not a whole number >= 1")
    it = _items(where, rest[1:])
    if not (it.hyper or it.sched_name or it.noise is not None):
        raise FieldError(where, f"{where}: {text!r} changes nothing")
    given = it.sched_name and it.sched_name != NO_SCHEDULE
    schedule = {**it.sched, "name": it.sched_name} if given else None
    return ChangeState(run, int(step), it.hyper, schedule, bool(it.sched_name), it.noise)


def _split_hash(text: str) -> str:
    """The hash text of ``#...``, ``...`` or a full URL with a hash."""
    text = text.strip()
    if "://" in text.split("#", 1)[0]:
        return urlsplit(text).fragment
    return text[1:] if text.startswith("#") else text


def parse_hash(text: str, *, max_steps: int | None = None, max_runs: int = MAX_RUNS) -> ExportState:
    """Read a hash (with or without ``#``, or a URL ending in one) into an ExportState.

    Raises FieldError naming the hash field (``seed``, ``p.kappa``, ``run[1].noise``, ...) for a
    value the page could not have written, and on ``mode`` for a regression race.
    """
    found: dict[str, list[str]] = {}
    for part in _split_hash(text).split("&"):
        eq = part.find("=")
        if eq <= 0:
            continue
        found.setdefault(part[:eq], []).append(part[eq + 1 :])

    def last(key: str) -> str | None:
        texts = found.get(key)
        return texts[-1] if texts else None

    mode = last("mode")
    values: dict[str, object] = {}
    if mode == "regression":
        raise FieldError("mode", "mode=regression races cannot be read here yet")
    if mode == "network":
        values["mode"] = mode
        values["runs"] = NETWORK_RUNS
        if (v := last("net")) is not None:
            values["net"] = parse_net(v)
    elif mode is not None and mode != "surface":
        raise FieldError("mode", f"mode={mode!r} is unknown (surface, network or regression)")
    if (v := last("surface")) is not None:
        values["surface"] = unesc(v)
    if (v := last("p")) is not None:
        values["params"] = _params(v)
    if (v := last("expr")) is not None:
        values["expr"] = unesc(v)
    if (v := last("domain")) is not None and v != "":
        values["domain"] = _box("domain", v)
    if (v := last("start")) is not None and v != "":
        values["start"] = _point("start", v)
    if (v := last("seed")) is not None:
        values["seed"] = _count("seed", v, MAX_SEED)
    if (v := last("steps")) is not None:
        steps = _count("steps", v, max_steps if max_steps is not None else 10**9)
        if steps < 1:
            raise FieldError("steps", "steps must be at least 1")
        values["steps"] = steps
    if (v := last("speed")) is not None:
        speed = _number("speed", v)
        if speed <= 0:
            raise FieldError("speed", f"speed={v} must be above 0")
        values["speed"] = speed
    if (v := last("view")) is not None:
        if v not in ("contour", "surface"):
            raise FieldError("view", f"view={v!r} is not contour or surface")
        values["view"] = v
    if (texts := found.get("run")) is not None:
        if len(texts) > max_runs:
            raise FieldError("run", f"At most {max_runs} runs in a race (got {len(texts)}).")
        values["runs"] = tuple(_run(i, t) for i, t in enumerate(texts))
    if (texts := found.get("chg")) is not None:
        if len(texts) > MAX_CHANGES:
            raise FieldError("chg", f"At most {MAX_CHANGES} live changes (got {len(texts)}).")
        runs = len(values.get("runs", DEFAULT_RUNS))  # type: ignore[arg-type]
        values["changes"] = tuple(_change(i, t, runs) for i, t in enumerate(texts))
    if mode != "network" and (v := last("tune")) is not None:
        values["tune"] = parse_tune(v)
    state = ExportState(**values)  # type: ignore[arg-type]
    if state.mode == "surface" and state.custom and not state.expr:
        raise FieldError("expr", "surface=custom needs a formula in expr")
    return state


def format_hash(state: ExportState) -> str:
    """The hash the page writes for ``state`` (without ``#``): ``formatHash`` of state.js."""
    if state.mode == "network":  # no surface, start or view: the network is the problem
        parts = ["mode=network", f"net={format_net(state.net)}"]
    else:
        parts = _surface_parts(state)
    parts += [f"seed={state.seed}", f"steps={state.steps}"]
    if state.speed != 60:
        parts.append(f"speed={js_number(state.speed)}")
    if state.mode != "network" and state.view != "contour":
        parts.append(f"view={state.view}")
    for r in state.runs:
        items = [esc(r.optimizer), *_write_items(r.hyper, r.noise or None, r.schedule, False)]
        parts.append("run=" + ",".join(items))
    for c in state.changes:
        items = [esc(c.run), str(c.step)]
        items += _write_items(c.hyper, c.noise, c.schedule, c.schedule_set)
        parts.append("chg=" + ",".join(items))
    if state.mode != "network" and state.tune is not None:
        parts.append("tune=" + format_tune(state.tune))
    return "&".join(parts)


def _surface_parts(state: ExportState) -> list[str]:
    parts = [f"surface={esc(state.surface)}"]
    if state.params:
        parts.append("p=" + ",".join(f"{esc(k)}:{js_number(v)}" for k, v in state.params.items()))
    if state.expr:
        parts.append(f"expr={esc(state.expr)}")
    if state.domain is not None:
        parts.append("domain=" + ",".join(js_number(v) for pair in state.domain for v in pair))
    if state.start is not None:
        parts.append(f"start={js_number(state.start[0])},{js_number(state.start[1])}")
    return parts


def _write_items(
    hyper: Mapping[str, Scalar],
    noise: float | None,
    schedule: Mapping[str, Scalar] | None,
    schedule_set: bool,
) -> list[str]:
    items = [f"{esc(k)}:{_write_scalar(v)}" for k, v in hyper.items()]
    if noise is not None:
        items.append(f"noise:{js_number(noise)}")
    if schedule:
        params = {k: v for k, v in schedule.items() if k != "name"}
        items.append(f"sched:{esc(str(schedule['name']))}")
        items += [f"{SCHED_PREFIX}{esc(k)}:{_write_scalar(v)}" for k, v in params.items()]
    elif schedule_set:
        items.append(f"sched:{NO_SCHEDULE}")
    return items
