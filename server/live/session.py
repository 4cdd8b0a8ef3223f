"""One websocket session: a receive loop that handles commands; frames paced by the ticker.

The receive loop never sends: it queues replies. Everything goes out in order through one queue
(replies, then the frame of new points, then events), so a client sees a ``set`` acked before any
point computed with the change. The app's ticker (:mod:`server.live.ticker`) advances the race and
sends its frame 30 times a second; a producer task handles the rest (replies, ``step``, heavy
streams in the worker thread). A send that has to wait for the client gets a timeout, and until
it completes the race does not advance: a stalled client costs no memory beyond the race's own
points, and its next frame is simply fuller. A client that stops reading is closed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.engine import Chunk, Race, Stop
from server.errors import FieldError
from server.inside.live import Internals, InternalsTap
from server.jsonenc import dumps_text
from server.live import commands
from server.live.broker import Broker, InProcessBroker
from server.live.clock import RaceClock
from server.live.explain import stop_event
from server.live.heavypace import HeavyPace
from server.live.lecture import Lecture
from server.live.network_stream import NetworkStream
from server.live.outbox import Outbox
from server.live.public_url import public_base
from server.live.state import CloseCode
from server.live.streams import Stream, SurfaceStream
from server.live.ticker import ticker_for
from server.live.wire import Gate, SessionClosed, close_quietly, hello, refusal
from server.problems.factory import Built
from server.settings import Settings
from server.timeline import Timeline

_ids = itertools.count(1)
PUBLIC = {"race", "frame", "event", "status", "ack", "ask"}  # what room viewers also get
TASK_PREFIX = "gradscape-session-"
log = logging.getLogger("gradscape.session")


class Session:
    def __init__(self, ws: WebSocket, settings: Settings, broker: Broker | None = None) -> None:
        self.ws = ws
        self.settings = settings
        self.lecture = Lecture(broker or InProcessBroker(), settings.room_history_bytes, self.reply)
        self.id = next(_ids)
        self.stream: Stream | None = None
        self.built: Built | None = None
        self.description: dict[str, Any] | None = None  # the race, for a room's viewers
        self.timeline = Timeline()  # live changes still to replay (a start with ``changes``)
        self.clock = RaceClock(_loop_time, settings.frames_per_second)
        # None: send the pending frame here; False: for the room and its history only
        self._outbox: list[tuple[dict[str, Any], bool] | None] = []
        self._stops: list[Stop] = []
        self._requested = 0  # steps asked for with a ``step`` message, done by the producer
        self._lock = asyncio.Lock()  # held while a heavy stream advances in a thread
        self._announce_done = False
        self._wake = asyncio.Event()
        self._tick_due = False  # a heavy stream's frame is due
        self.pace = HeavyPace()  # how many steps a heavy stream advances per frame
        self._out = Outbox(
            ws.send_text, settings.send_timeout, f"{TASK_PREFIX}{self.id}-send", self._wake.set
        )
        self._gate = Gate(settings)
        self.internals = InternalsTap()  # the opt-in internals overlay
        self.tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the accepted websocket until either side ends it; always clean up."""
        self.reply(hello(self.settings))
        self.tasks = [
            asyncio.create_task(self._receive_loop(), name=f"{TASK_PREFIX}{self.id}-receive"),
            asyncio.create_task(self._produce(), name=f"{TASK_PREFIX}{self.id}-produce"),
        ]
        ticker = ticker_for(self.settings.frames_per_second)
        ticker.add(self)
        code: int = CloseCode.NORMAL
        reason = ""
        try:
            done, _ = await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if isinstance(exc, SessionClosed):
                    code, reason = exc.code, exc.reason
                elif exc is not None and not isinstance(exc, WebSocketDisconnect):
                    raise exc
        finally:
            ticker.discard(self)
            if self._out.sending is not None:
                self.tasks.append(self._out.sending)
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.stream = None
            self.lecture.release()
            # A session is full of reference cycles (callbacks to its own methods) that only a
            # full collection frees, and those are rare here (server/__main__.py): let go of
            # everything big now, so what waits for the collector is a few small objects.
            self.built = self.description = None
            self._outbox.clear()
            self._stops.clear()
            await close_quietly(self.ws, code, reason)

    # -- receiving -------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await asyncio.wait_for(
                    self.ws.receive(), timeout=self.settings.idle_timeout
                )
            except TimeoutError:
                if self.clock.running:
                    continue
                raise SessionClosed(CloseCode.GOING_AWAY, "idle for too long") from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            async with self._lock:
                intent = self.handle_raw(
                    text.encode() if text is not None else message.get("bytes") or b""
                )
                if isinstance(intent, commands.Room):
                    await self._room(intent)

    def handle_raw(self, data: bytes) -> commands.Intent | None:
        """Handle one client message; every refusal becomes an ``error`` reply. A room
        command is returned instead, for the receive loop to carry out (it awaits the broker)."""
        admitted, msg = self._gate.admit(data)
        if not admitted:
            if msg is not None:
                self.error("", msg)
            return None
        try:
            intent = commands.parse(self, msg)
            if isinstance(intent, commands.Room):
                return intent
            self._apply(intent)
        except (FieldError, ValidationError) as exc:
            self.reply(refusal(exc, msg))
        except Exception:  # a bug of ours: keep the session, say so, log the trace
            log.exception("session %s: message failed", self.id)
            self.error("", "The server failed on this message (an internal error, logged).")
        return None

    # -- replies and frames ----------------------------------------------------------------

    def reply(self, message: dict[str, Any], to_client: bool = True) -> None:
        """Queue a message; ``to_client=False``: for the room and its history only."""
        self._outbox.append((message, to_client))
        self._wake.set()

    def frame_now(self) -> None:
        """Send the points collected so far right after the replies queued before this call."""
        self._outbox.append(None)
        self._wake.set()

    def error(self, field: str, message: str) -> None:
        self.reply({"type": "error", "message": message, "field": field})

    def status(self) -> None:
        step = self.race.step if self.race else 0
        self.reply(
            {
                "type": "status",
                "state": self.clock.state.value,
                "step": step,
                "steps_per_second": self.clock.steps_per_second,
            }
        )

    def describe(self, of: str, **extra: Any) -> None:
        """Record (and, while a room is open, send and publish) the race's description: what
        viewers need to draw it, with every run's current settings."""
        if self.description is not None and self.race is not None:
            step = self.race.step
            message = {"type": "race", "of": of, **self.description, "step": step, **extra}
            self.reply(message, to_client=self.lecture.room is not None)

    @property
    def race(self) -> Race | None:
        return self.stream.race if self.stream is not None else None

    # -- carrying out commands ------------------------------------------------------------

    def _apply(self, intent: commands.Intent) -> None:
        step = self.race.step if self.race is not None else 0
        match intent:
            case commands.Start():
                self.built = intent.built
                self.clock.start(intent.steps_per_second, intent.paused)
                self._begin(intent.stream)
                self.timeline = intent.timeline
                self.description = intent.description
                self.describe("start")
                self.reply(intent.ack)
                self.frame_now()
                self.status()
            case commands.Set():
                assert self.stream is not None
                acked = self.stream.set(intent.run, intent.hyper, intent.schedule, intent.noise)
                if self.description is not None:
                    runs: list[dict[str, Any]] = self.description["runs"]
                    runs[intent.index] = intent.described(runs[intent.index], acked)
                    self.describe("set", run=intent.run)
                self.reply({"type": "ack", "of": "set", "run": intent.run, "step": acked})
            case commands.Pause():
                self.clock.pause()
                self.reply({"type": "ack", "of": "pause", "step": step})
                self.status()
            case commands.Resume():
                self.clock.resume(step)
                self.reply({"type": "ack", "of": "resume", "step": step})
                self.status()
            case commands.Step():
                self.clock.pause()
                self.reply({"type": "ack", "of": "step", "n": intent.n, "step": step + 1})
                self._requested += intent.n
                self._wake.set()
            case commands.Reset():
                assert self.stream is not None
                self.timeline.fold(self.stream.set)  # restart as the run cards show it
                if self.description is not None:
                    commands.fold_description(self.description)
                self.stream.reset()
                self.clock.reset()
                self._begin(self.stream)
                self.describe("reset")
                self.reply({"type": "ack", "of": "reset", "step": 0})
                self.frame_now()
                self.status()
            case commands.Clip():
                assert isinstance(self.stream, NetworkStream)
                first = self.stream.set_clip(intent.max_norm)
                self.reply(
                    {"type": "ack", "of": "clip", "max_norm": intent.max_norm, "step": first}
                )
            case Internals():
                self.reply(self.internals.toggle(intent.on, self.race))
            case commands.Ask():
                self.lecture.ask(intent)
            case commands.Speed():
                self.clock.set_speed(intent.steps_per_second, step)
                if self.description is not None:
                    self.description["steps_per_second"] = intent.steps_per_second
                    self.describe("speed")
                sps = intent.steps_per_second
                self.reply({"type": "ack", "of": "speed", "steps_per_second": sps})

    async def _room(self, intent: commands.Room) -> None:
        lecture = self.lecture
        if intent.action == "close":
            lecture.close_room()
        elif lecture.room is not None:
            self.reply(lecture.room.info())
        else:
            host, secure = self.ws.headers.get("host", "127.0.0.1"), self.ws.url.scheme == "wss"
            opened = await lecture.open(public_base(host, secure, self.settings), intent.code)
            if opened and lecture.history.truncated:  # too long to keep: from here on
                self.describe("open")

    def _begin(self, stream: Stream | None) -> None:
        """Stream from step 0: a new race (start) or the same one again (reset)."""
        self.stream = stream
        self._stops.clear()
        self._requested = 0
        self._announce_done = False
        self.pace.reset()
        if stream is not None:
            stream.restart()

    def plan(self, now: float) -> tuple[Race, int] | None:
        """The ticker's first call: replies out, then the race and the steps due at loop time
        ``now``, which the ticker advances together with every other session's.

        A heavy stream is advanced by the producer in the worker thread instead; a client that
        has not taken the last message yet is skipped (its next frame will be fuller).
        """
        stream = self.stream
        if stream is None or not self.clock.running or self._out.failure is not None:
            return None
        if stream.heavy or self._lock.locked():
            self._tick_due = True
            self._wake.set()
            return None
        if self._out.sending is not None:
            return None
        self._flush()
        n = self.clock.due(stream.race.step, now)
        if not isinstance(stream, SurfaceStream):  # a light stream the ticker cannot batch
            self._advance_light(n)
            self._send_frame()
            return None
        n = self.timeline.prepare(stream.race, stream.set, n)  # never past a change step
        return stream.race, n  # even 0: the race keeps its place among those stepped together

    def ticked(self, chunks: dict[str, Chunk], stops: list[Stop]) -> None:
        """The ticker's second call, right after the first: the planned steps are done; send
        their frame."""
        stream = self.stream
        if not isinstance(stream, SurfaceStream):
            return
        stream.accept(chunks)
        self._advanced(stream, stops)
        self._send_frame()

    def failed(self) -> None:
        """The ticker could not advance this race (it logged why): stop the race."""
        self._stop_race()

    async def _produce(self) -> None:
        """Everything not paced by the ticker: replies, ``step`` requests, heavy streams."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            failure = self._out.failure
            if failure is not None:
                if isinstance(failure, TimeoutError):
                    raise SessionClosed(CloseCode.POLICY_VIOLATION, "client is not reading")
                raise failure
            self._flush()
            if self._requested:
                n, self._requested = self._requested, 0
                await self._advance(n)
                self._flush()  # a start applied while the advance waited: its ack goes first
                self._send_frame()
                self.status()
                self._flush()
            if self._tick_due and self._out.sending is None:  # a stalled client: no new frames
                self._tick_due = False
                race = self.race
                if self.clock.running and race is not None:
                    await self._advance(self.pace.cap(self.clock.due(race.step, loop.time())))
                    self._flush()
                    self._send_frame()

    def _advance_light(self, n: int) -> None:
        stream = self.stream
        if stream is None or n <= 0:
            return
        try:
            stops = self.timeline.advance(stream, stream.set, n)
        except Exception:
            self._race_failed()
            return
        self._advanced(stream, stops)

    async def _advance(self, n: int) -> None:
        stream = self.stream
        if stream is None or n <= 0:
            return
        if not stream.heavy:
            self._advance_light(n)
            return
        try:
            async with self._lock:
                advance = functools.partial(self.timeline.advance, stream, stream.set, n)
                stops = await self.pace.run(advance, n)
        except Exception:
            self._race_failed()
            return
        self._advanced(stream, stops)

    def _advanced(self, stream: Stream, stops: list[Stop]) -> None:
        if stream is not self.stream:  # a start or reset replaced it meanwhile
            return
        self._stops.extend(stops)
        if stream.race.done and self.clock.finish():
            self._announce_done = True

    def _race_failed(self) -> None:
        """A bug of ours: stop this race, keep the session, log the trace."""
        log.exception("session %s: advancing the race failed", self.id)
        self._stop_race()

    def _stop_race(self) -> None:
        self.error("", "The race stopped on an internal error (logged); start it again.")
        self.stream = None
        self.clock.stop()

    def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            for item in batch:
                if item is None:
                    self._send_frame()
                    continue
                message, to_client = item
                public = message["type"] in PUBLIC
                if to_client:
                    self._emit(dumps_text(message), public=public)
                elif public:
                    self.lecture.publish(dumps_text(message))

    def _send_frame(self) -> None:
        stream = self.stream
        if stream is not None:
            runs = stream.take_frame()
            if runs is not None:
                text = dumps_text({"type": "frame", "runs": runs})
                self.lecture.publish_frame(runs, text)
                self._out.put(text)
                internals = self.internals.after_frame(self.race)
                if internals is not None:
                    self._out.put(internals)
            for message in stream.take_messages():
                self._emit(dumps_text(message))
        if self._stops:
            stops, self._stops = self._stops, []
            for stop in stops:
                assert self.stream is not None and self.built is not None
                self._emit(dumps_text(stop_event(stop, self.stream, self.built)))
        if self._announce_done:
            self._announce_done = False
            self.status()
            self._flush()

    def _emit(self, text: str, public: bool = True) -> None:
        """Send one message now, or queue it behind a send still waiting for the client.

        Public messages are also recorded for late viewers and published to the session's room.
        """
        if public:
            self.lecture.publish(text)
        self._out.put(text)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
