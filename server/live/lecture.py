"""A session's side of a lecture room: the race recorded for late viewers, the room it publishes
to, and the question it asked. This is the broker's :class:`~server.live.broker.Presenter`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.errors import FieldError
from server.live import commands
from server.live.broker import Broker, Publication
from server.live.history import PathHistory
from server.live.questions import Question, Tally

NEW_RACE = ('{"type":"race","of":"start"', '{"type":"race","of":"reset"')


class Lecture:
    def __init__(
        self, broker: Broker, history_bytes: int, reply: Callable[[dict[str, Any]], None]
    ) -> None:
        self.broker = broker
        self.reply = reply
        self.history = PathHistory(history_bytes)  # the race from step 0, for late viewers
        self.room: Publication | None = None
        self.question: Question | None = None
        self._tally = Tally(reply)

    async def open(self, base_url: str, code: str | None) -> bool:
        """Open the room (or reclaim `code`); reply with its info, or with the refusal."""
        try:
            self.room = await self.broker.open(self, base_url, code)
        except FieldError as exc:
            self.reply({"type": "error", **exc.to_json()})
            return False
        self.reply(self.room.info())
        return True

    def close_room(self) -> None:
        if self.room is not None:
            self.room.close()
            self.reply({"type": "room", "code": self.room.code, "closed": True})
            self.room = None

    def publish(self, text: str) -> None:
        """Record a public message for late viewers and send it to the room, if one is open."""
        new_race = text.startswith(NEW_RACE)
        if new_race:
            self.history.clear()
        self.history.add_text(text)
        if self.room is not None:
            self.room.publish(text, new_race)

    def publish_frame(self, runs: dict[str, Any], text: str) -> None:
        """A frame: recorded compactly (merged with its neighbours) and sent to the room."""
        self.history.add_frame(runs, text)
        if self.room is not None:
            self.room.publish(text, False)

    def ask(self, intent: commands.Ask) -> None:
        if self.room is None:
            raise FieldError("type", "Open a room first: questions go to its viewers.")
        if intent.kind is not None:
            number = self.question.number + 1 if self.question else 1
            self.question = Question(number, intent.kind, intent.prompt)
            self._tally.question = self.question
            self.reply(self.question.message())
            return
        question = self.question
        if question is None:
            raise FieldError("action", "No question yet: send an ask with a kind first.")
        question.open = False  # a reveal closes the answers too: the class has seen them
        if intent.action == "close":
            self.reply({"type": "ask", "action": "close", "id": question.number})
        else:
            self.reply({**question.tally(), "type": "ask", "action": "reveal"})

    @property
    def asking(self) -> bool:
        return self.question is not None and self.question.open

    def answer(self, viewer: str, value: object) -> None:
        """A viewer's answer to the room's question (the broker calls this)."""
        if self.question is not None and self.question.answer(viewer, value):
            self._tally.changed()

    def release(self) -> None:
        """The session ended: close the room and let go of the recorded race."""
        self._tally.close()
        self._tally.question = self.question = None
        self.history.clear()
        if self.room is not None:
            self.room.close()
            self.room = None
