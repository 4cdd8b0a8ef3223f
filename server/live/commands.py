"""Client commands on the websocket: validate, act on the session's race, queue the reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, StrictInt

from server.engine import Race
from server.errors import FieldError
from server.live.network_stream import NetworkStream
from server.live.public_url import public_base
from server.live.state import Clock
from server.live.streams import Stream, SurfaceStream
from server.problems.factory import build_problem
from server.problems.nn.problem import NetworkProblem
from server.runs import build_run, check_hyper, check_schedule
from server.schemas import Number, ProblemSpec, RunId, RunSpec, Strict

if TYPE_CHECKING:
    from server.live.session import Session

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


class StepMsg(Strict):
    type: Literal["step"]
    n: StrictInt = Field(default=1, ge=1, le=MAX_STEP_N)


class SpeedMsg(Strict):
    type: Literal["speed"]
    steps_per_second: Number = Field(gt=0)


class RoomMsg(Strict):
    type: Literal["room"]
    action: Literal["open", "close"]


class BareMsg(Strict):
    type: Literal["pause", "resume", "reset"]


def _race(session: Session) -> Race:
    if session.race is None:
        raise FieldError("type", "No race yet: send a start message first.")
    return session.race


def _check_speed(session: Session, sps: float) -> float:
    limit = session.settings.max_steps_per_second
    if sps > limit:
        raise FieldError(
            "steps_per_second", f"steps_per_second {sps:g} is above the limit {limit:g}"
        )
    return float(sps)


def start(session: Session, msg: dict[str, Any]) -> None:
    m = StartMsg.model_validate(msg)
    settings = session.settings
    if len(m.runs) > settings.max_runs:
        raise FieldError("runs", f"At most {settings.max_runs} runs in a race (got {len(m.runs)}).")
    if m.max_steps > settings.max_steps:
        raise FieldError(
            "max_steps", f"max_steps {m.max_steps} is above the limit {settings.max_steps}"
        )
    sps = _check_speed(session, m.steps_per_second)
    ids = [r.id for r in m.runs]
    for i, run_id in enumerate(ids):
        if run_id in ids[:i]:
            raise FieldError(f"runs[{i}].id", f"Run id '{run_id}' is used twice.")
    try:
        built = build_problem(m.problem)
    except FieldError as exc:
        raise exc.within("problem") from None
    network = built.problem if isinstance(built.problem, NetworkProblem) else None
    init = network.init_params(m.seed) if network is not None else None  # shared by all runs
    configs = []
    for i, spec in enumerate(m.runs):
        try:
            configs.append(build_run(spec, built, start=init))
        except FieldError as exc:
            raise exc.within(f"runs[{i}]") from None
    race = Race(built.problem, configs, seed=m.seed, max_steps=m.max_steps)
    session.built = built
    session.steps_per_second = sps
    session.clock = Clock.PAUSED if m.paused else Clock.RUNNING
    stream: Stream = SurfaceStream(race)
    extra: dict[str, Any] = {}
    if network is not None:
        stream = NetworkStream(race, network, torch=bool(built.info.get("torch")))
        extra = stream.ack()
    session.begin(stream)
    session.description = describe_start(m, sps)
    session.describe("start")
    session.reply({"type": "ack", "of": "start", "runs": race.ids, "step": 0, **extra})
    session.frame_now()
    session.status()


def set_(session: Session, msg: dict[str, Any]) -> None:
    m = SetMsg.model_validate(msg)
    race = _race(session)
    try:
        i = race.index_of(m.run)
    except KeyError:
        raise FieldError(
            "run", f"No run '{m.run}' in this race (runs: {', '.join(race.ids)})."
        ) from None
    config = race.configs[i]
    hyper = check_hyper(config.optimizer, {**config.hyper, **m.hyper}) if m.hyper else None
    schedule = check_schedule(m.schedule) if "schedule" in m.model_fields_set else None
    assert session.stream is not None
    step = session.stream.set(m.run, hyper, schedule, m.noise)
    _describe_set(session, i, m)
    session.reply({"type": "ack", "of": "set", "run": m.run, "step": step})


def pause(session: Session, msg: dict[str, Any]) -> None:
    BareMsg.model_validate(msg)
    race = _race(session)
    if session.clock is Clock.RUNNING:
        session.clock = Clock.PAUSED
    session.reply({"type": "ack", "of": "pause", "step": race.step})
    session.status()


def resume(session: Session, msg: dict[str, Any]) -> None:
    BareMsg.model_validate(msg)
    race = _race(session)
    if session.clock is Clock.PAUSED:
        session.clock = Clock.RUNNING
        session.restart_clock()
    session.reply({"type": "ack", "of": "resume", "step": race.step})
    session.status()


def step(session: Session, msg: dict[str, Any]) -> None:
    m = StepMsg.model_validate(msg)
    race = _race(session)
    if session.clock is Clock.RUNNING:
        session.clock = Clock.PAUSED
    session.reply({"type": "ack", "of": "step", "n": m.n, "step": race.step + 1})
    session.request_steps(m.n)


def reset(session: Session, msg: dict[str, Any]) -> None:
    BareMsg.model_validate(msg)
    _race(session)
    assert session.stream is not None
    session.stream.reset()
    session.clock = Clock.PAUSED
    session.begin(session.stream)
    session.describe("reset")
    session.reply({"type": "ack", "of": "reset", "step": 0})
    session.frame_now()
    session.status()


def speed(session: Session, msg: dict[str, Any]) -> None:
    m = SpeedMsg.model_validate(msg)
    session.steps_per_second = _check_speed(session, m.steps_per_second)
    session.restart_clock()
    if session.description is not None:
        session.description["steps_per_second"] = session.steps_per_second
        session.describe("speed")
    session.reply({"type": "ack", "of": "speed", "steps_per_second": session.steps_per_second})


def room(session: Session, msg: dict[str, Any]) -> None:
    m = RoomMsg.model_validate(msg)
    if m.action == "open":
        if session.room is None:
            base = public_base(
                session.ws.headers.get("host", "127.0.0.1"),
                session.ws.url.scheme == "wss",
                session.settings,
            )
            session.room = session.rooms.open(base, session.reply)
            session.reply(session.room.info())
            session.describe("open")  # a race in progress: viewers see it from this step on
        else:
            session.reply(session.room.info())
    elif session.room is not None:
        session.rooms.close(session.room)
        session.reply({"type": "room", "code": session.room.code, "closed": True})
        session.room = None


def describe_start(m: StartMsg, steps_per_second: float) -> dict[str, Any]:
    """The race as a room's viewers need it: the problem and every run's settings."""
    return {
        "problem": m.problem.model_dump(mode="json", exclude_none=True),
        "runs": [run.model_dump(mode="json") for run in m.runs],
        "seed": m.seed,
        "max_steps": m.max_steps,
        "steps_per_second": steps_per_second,
    }


def _describe_set(session: Session, index: int, m: SetMsg) -> None:
    """Record an accepted ``set`` in the race's description and publish it."""
    if session.description is None:
        return
    runs: list[dict[str, Any]] = session.description["runs"]
    run = dict(runs[index])
    if m.hyper:
        run["hyper"] = {**run["hyper"], **m.hyper}
    if "schedule" in m.model_fields_set:
        run["schedule"] = m.schedule
    if m.noise is not None:
        run["noise"] = m.noise
    runs[index] = run
    session.describe("set", run=m.run)


HANDLERS: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "room": room,
    "start": start,
    "set": set_,
    "pause": pause,
    "resume": resume,
    "step": step,
    "reset": reset,
    "speed": speed,
}


def dispatch(session: Session, msg: object) -> None:
    if not isinstance(msg, dict):
        raise FieldError("", 'A message must be a JSON object with a "type".')
    kind = msg.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise FieldError(
            "type", f"Unknown message type {kind!r}; expected one of: {', '.join(HANDLERS)}."
        )
    handler(session, msg)
