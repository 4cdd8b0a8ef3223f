"""Client commands on the websocket: each message validated and turned into an intent.

A command never touches the session: :func:`parse` reads the message, checks it against the
limits and the current race, builds what a ``start`` needs, and returns an intent (a small frozen
record of what to do). The session (:mod:`server.live.session`) carries it out. So this module
depends on nothing live; the session depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field, StrictBool, StrictInt

from server.engine import Race
from server.errors import FieldError
from server.inside.live import Internals
from server.inside.live import parse as internals
from server.live.network_stream import NetworkStream
from server.live.streams import Stream, SurfaceStream
from server.optim.schedules import Schedule
from server.problems.factory import Built, build_problem
from server.problems.nn.deep import DeepProblem
from server.problems.nn.deep_config import MAX_CLIP
from server.problems.nn.problem import NetworkProblem
from server.runs import build_run, check_hyper, check_schedule
from server.schemas import Number, ProblemSpec, RunId, RunSpec, Strict
from server.settings import Settings
from server.timeline import Timeline, timeline_of

MAX_STEP_N = 10_000


class StartMsg(Strict):
    type: Literal["start"]
    problem: ProblemSpec
    runs: list[RunSpec] = Field(min_length=1, max_length=64)
    seed: StrictInt = Field(default=0, ge=0, le=2**32 - 1)
    max_steps: StrictInt = Field(default=2000, ge=1)
    steps_per_second: Number = Field(default=60.0, gt=0)
    paused: StrictBool = False


class SetMsg(Strict):
    type: Literal["set"]
    run: RunId
    hyper: dict[str, StrictBool | Number] | None = Field(default=None, max_length=16)
    schedule: dict[str, Any] | None = None
    noise: Number | None = Field(default=None, ge=0.0, le=1e3)


class ClipMsg(Strict):
    type: Literal["clip"]
    max_norm: Number | None = Field(gt=0.0, le=MAX_CLIP)


class StepMsg(Strict):
    type: Literal["step"]
    n: StrictInt = Field(default=1, ge=1, le=MAX_STEP_N)


class SpeedMsg(Strict):
    type: Literal["speed"]
    steps_per_second: Number = Field(gt=0)


ROOM_CODE = r"^[A-Za-z0-9]{4,16}$"


class RoomMsg(Strict):
    type: Literal["room"]
    action: Literal["open", "close"]
    # Reopen under this code (a presenter's page after the server restarted), if it is free.
    code: str | None = Field(default=None, pattern=ROOM_CODE)


class AskMsg(Strict):
    type: Literal["ask"]
    kind: Literal["point", "run", "diverge", "lr"] | None = None
    prompt: str = Field(default="", max_length=500)
    action: Literal["close", "reveal"] | None = None


class BareMsg(Strict):
    type: Literal["pause", "resume", "reset"]


class Context(Protocol):
    """What a command may read: the limits and the race in progress (never written here)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def race(self) -> Race | None: ...


@dataclass(frozen=True)
class Start:
    stream: Stream
    built: Built
    steps_per_second: float
    paused: bool
    description: dict[str, Any]  # the race as a room's viewers need it
    ack: dict[str, Any]  # the ``ack`` reply
    timeline: Timeline = field(default_factory=Timeline)  # live changes to replay


@dataclass(frozen=True)
class Set:
    run: str
    index: int
    hyper: dict[str, float] | None  # the run's full, checked hyperparameters
    schedule: Schedule | None
    noise: float | None
    given: dict[str, Any] = field(default_factory=dict)  # the message's own fields, as sent

    def described(self, run: dict[str, Any], step: int) -> dict[str, Any]:
        """A run's entry in the race's description with this change, acked at ``step``,
        applied (and added to its timeline)."""
        out = dict(run)
        out["changes"] = [*out.get("changes", []), {"step": step, **self.given}]
        if "hyper" in self.given:
            out["hyper"] = {**out["hyper"], **self.given["hyper"]}
        if "schedule" in self.given:
            out["schedule"] = self.given["schedule"]
        if "noise" in self.given:
            out["noise"] = self.given["noise"]
        return out


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Step:
    n: int


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class Speed:
    steps_per_second: float


@dataclass(frozen=True)
class Room:
    action: Literal["open", "close"]
    code: str | None = None


@dataclass(frozen=True)
class Clip:
    max_norm: float | None  # the RNN's gradient clipping threshold; None turns it off


@dataclass(frozen=True)
class Ask:
    kind: Literal["point", "run", "diverge", "lr"] | None  # None: an action on the question
    prompt: str = ""
    action: Literal["close", "reveal"] | None = None


Intent = Start | Set | Pause | Resume | Step | Reset | Speed | Room | Ask | Clip | Internals


def _race(ctx: Context) -> Race:
    if ctx.race is None:
        raise FieldError("type", "No race yet: send a start message first.")
    return ctx.race


def _check_speed(settings: Settings, sps: float) -> float:
    limit = settings.max_steps_per_second
    if sps > limit:
        raise FieldError(
            "steps_per_second", f"steps_per_second {sps:g} is above the limit {limit:g}"
        )
    return float(sps)


def start(ctx: Context, msg: dict[str, Any]) -> Start:
    m = StartMsg.model_validate(msg)
    settings = ctx.settings
    if len(m.runs) > settings.max_runs:
        raise FieldError("runs", f"At most {settings.max_runs} runs in a race (got {len(m.runs)}).")
    if m.max_steps > settings.max_steps:
        raise FieldError(
            "max_steps", f"max_steps {m.max_steps} is above the limit {settings.max_steps}"
        )
    sps = _check_speed(settings, m.steps_per_second)
    ids = [r.id for r in m.runs]
    for i, run_id in enumerate(ids):
        if run_id in ids[:i]:
            raise FieldError(f"runs[{i}].id", f"Run id '{run_id}' is used twice.")
    try:
        built = build_problem(m.problem)
    except FieldError as exc:
        raise exc.within("problem") from None
    network = built.problem if isinstance(built.problem, NetworkProblem | DeepProblem) else None
    init = network.init_params(m.seed) if network is not None else None  # shared by all runs
    configs = []
    for i, spec in enumerate(m.runs):
        try:
            configs.append(build_run(spec, built, start=init))
        except FieldError as exc:
            raise exc.within(f"runs[{i}]") from None
    timeline = timeline_of(m.runs, configs, m.max_steps)
    race = Race(built.problem, configs, seed=m.seed, max_steps=m.max_steps)
    stream: Stream = SurfaceStream(race)
    extra: dict[str, Any] = {}
    if network is not None:
        stream = NetworkStream(race, network, torch=bool(built.info.get("torch")))
        extra = stream.ack()
    ack = {"type": "ack", "of": "start", "runs": race.ids, "step": 0, **extra}
    return Start(stream, built, sps, m.paused, describe_start(m, sps), ack, timeline)


def set_(ctx: Context, msg: dict[str, Any]) -> Set:
    m = SetMsg.model_validate(msg)
    race = _race(ctx)
    try:
        i = race.index_of(m.run)
    except KeyError:
        raise FieldError(
            "run", f"No run '{m.run}' in this race (runs: {', '.join(race.ids)})."
        ) from None
    config = race.configs[i]
    hyper = check_hyper(config.optimizer, {**config.hyper, **m.hyper}) if m.hyper else None
    schedule = check_schedule(m.schedule) if "schedule" in m.model_fields_set else None
    given: dict[str, Any] = {}
    if m.hyper:
        given["hyper"] = m.hyper
    if "schedule" in m.model_fields_set:
        given["schedule"] = m.schedule
    if m.noise is not None:
        given["noise"] = m.noise
    return Set(m.run, i, hyper, schedule, m.noise, given)


def pause(ctx: Context, msg: dict[str, Any]) -> Pause:
    BareMsg.model_validate(msg)
    _race(ctx)
    return Pause()


def resume(ctx: Context, msg: dict[str, Any]) -> Resume:
    BareMsg.model_validate(msg)
    _race(ctx)
    return Resume()


def step(ctx: Context, msg: dict[str, Any]) -> Step:
    m = StepMsg.model_validate(msg)
    _race(ctx)
    return Step(m.n)


def reset(ctx: Context, msg: dict[str, Any]) -> Reset:
    BareMsg.model_validate(msg)
    _race(ctx)
    return Reset()


def speed(ctx: Context, msg: dict[str, Any]) -> Speed:
    m = SpeedMsg.model_validate(msg)
    return Speed(_check_speed(ctx.settings, m.steps_per_second))


def room(ctx: Context, msg: dict[str, Any]) -> Room:
    m = RoomMsg.model_validate(msg)
    return Room(m.action, m.code.upper() if m.code else None)


def clip(ctx: Context, msg: dict[str, Any]) -> Clip:
    m = ClipMsg.model_validate(msg)
    problem = _race(ctx).problem
    if not (isinstance(problem, DeepProblem) and problem.kind == "rnn"):
        raise FieldError("type", "Gradient clipping applies to RNN networks (model rnn) only.")
    return Clip(None if m.max_norm is None else float(m.max_norm))


def ask(ctx: Context, msg: dict[str, Any]) -> Ask:
    m = AskMsg.model_validate(msg)
    if (m.kind is None) == (m.action is None):
        raise FieldError("kind", 'An ask has either a "kind" (a new question) or an "action".')
    return Ask(m.kind, m.prompt, m.action)


def describe_start(m: StartMsg, steps_per_second: float) -> dict[str, Any]:
    """The race as a room's viewers need it: the problem and every run's settings."""
    return {
        "problem": m.problem.model_dump(mode="json", exclude_none=True),
        "runs": [replayable(run) for run in m.runs],
        "seed": m.seed,
        "max_steps": m.max_steps,
        "steps_per_second": steps_per_second,
    }


def replayable(run: RunSpec) -> dict[str, Any]:
    """A run of the race's description: its current settings (``hyper``, ``schedule``,
    ``noise``: every change made), and, to replay it exactly (a fork), those it started with
    (``initial``) and the timeline of its live changes (``changes``)."""
    out = run.model_dump(mode="json", exclude={"changes"})
    out["initial"] = {k: out[k] for k in ("hyper", "schedule", "noise")}
    out["changes"] = []
    for c in run.changes:
        out = Set(
            run.id,
            0,
            None,
            None,
            None,
            c.model_dump(mode="json", exclude_unset=True, exclude={"step"}),
        ).described(out, c.step)
    return out


def fold_description(description: dict[str, Any]) -> None:
    """After a reset the race starts from the current settings, with no timeline."""
    for run in description["runs"]:
        run["initial"] = {k: run[k] for k in ("hyper", "schedule", "noise")}
        run["changes"] = []


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], Intent]] = {
    "room": room,
    "start": start,
    "set": set_,
    "pause": pause,
    "resume": resume,
    "step": step,
    "reset": reset,
    "speed": speed,
    "clip": clip,  # the RNN's live gradient clipping (network_stream.NetworkStream.set_clip)
    "internals": internals,  # the internals overlay (server/inside/live.py)
    "ask": ask,  # questions in a room (server/live/questions.py)
}


def parse(ctx: Context, msg: object) -> Intent:
    """The intent of one decoded client message; a refusal raises FieldError/ValidationError."""
    if not isinstance(msg, dict):
        raise FieldError("", 'A message must be a JSON object with a "type".')
    kind = msg.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise FieldError(
            "type", f"Unknown message type {kind!r}; expected one of: {', '.join(HANDLERS)}."
        )
    return handler(ctx, msg)
