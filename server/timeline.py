"""The live changes of a race, replayed at the steps they were acked.

A steered race is its start settings plus a timeline: for each run, the ``set`` changes it got and
the acked step of each (``{"step": k, "hyper": {...}}``, also ``schedule`` and ``noise``). Update
number ``k`` is the first one computed with the change, exactly as the live ``set`` acked at ``k``
made it: the change is applied with the stream's own ``set`` when the race stands at step
``k - 1``, and no advance crosses a pending change step in one go (:meth:`Timeline.advance`,
:meth:`Timeline.clip`). Replaying a link, a fork, a reconnect or an export this way gives the live
run's points bit for bit.

Knows nothing of the web: the session and the exporter hand it their race and ``set``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from server.engine import Race, RunConfig, Stop
from server.errors import FieldError
from server.optim.schedules import Schedule
from server.runs import check_hyper, check_schedule
from server.schemas import ChangeSpec, RunSpec

SetFn = Callable[[str, Mapping[str, float] | None, Schedule | None, float | None], int]


@dataclass(frozen=True)
class Change:
    """One checked change of one run: what a live ``set`` acked at ``step`` handed the race."""

    run: str
    step: int
    hyper: Mapping[str, float] | None  # every hyperparameter, as check_hyper returns them
    schedule: Schedule | None
    noise: float | None


class Advancing(Protocol):
    race: Race

    def advance(self, n: int) -> list[Stop]: ...


def check_changes(config: RunConfig, changes: Sequence[ChangeSpec], max_steps: int) -> list[Change]:
    """Validate one run's timeline (fields relative to the run: ``changes[1].hyper.lr``).

    Steps start at 1, never decrease and stay within ``max_steps + 1`` (a change acked after
    the race's last update moves no point, but a reset folds it in like the others); each change's
    hyperparameters are checked on top of the run's settings at that point, as ``set`` does.
    """
    out: list[Change] = []
    hyper: Mapping[str, float] = config.hyper
    last = 1
    for j, c in enumerate(changes):
        where = f"changes[{j}]"
        if c.step < last:
            raise FieldError(
                f"{where}.step",
                f"{where}.step {c.step} comes before the previous change's step {last}"
                if j
                else f"{where}.step must be at least 1 (the first update)",
            )
        if c.step > max_steps + 1:  # max_steps + 1: a set after the last update (no point)
            raise FieldError(
                f"{where}.step",
                f"{where}.step {c.step} is beyond max_steps {max_steps} "
                "(or max_steps + 1, for a change made after the last update)",
            )
        if not (c.hyper or "schedule" in c.model_fields_set or c.noise is not None):
            raise FieldError(where, f"{where} changes nothing (give hyper, schedule or noise)")
        last = c.step
        try:
            new_hyper = check_hyper(config.optimizer, {**hyper, **c.hyper}) if c.hyper else None
            schedule = check_schedule(c.schedule) if "schedule" in c.model_fields_set else None
        except FieldError as exc:
            raise exc.within(where) from None
        if new_hyper is not None:
            hyper = new_hyper
        out.append(Change(config.id, c.step, new_hyper, schedule, c.noise))
    return out


class Timeline:
    """The pending changes of a race, in the order they apply."""

    def __init__(self, changes: Sequence[Change] = ()) -> None:
        # stable: changes of one step keep the order they were given (and acked) in
        self.pending = sorted(changes, key=lambda c: c.step)

    def __bool__(self) -> bool:
        return bool(self.pending)

    def apply_due(self, race: Race, set_: SetFn) -> None:
        """Apply every change whose update is the race's next one."""
        while self.pending and self.pending[0].step <= race.step + 1:
            c = self.pending.pop(0)
            if c.step <= race.step:  # its step is behind the race: a bug of the caller
                raise RuntimeError(
                    f"change of run {c.run} at step {c.step} missed (at {race.step})"
                )
            set_(c.run, c.hyper, c.schedule, c.noise)

    def clip(self, race: Race, n: int) -> int:
        """``n``, or fewer so that the advance stops right before the next change applies."""
        if not self.pending:
            return n
        return max(0, min(n, self.pending[0].step - 1 - race.step))

    def prepare(self, race: Race, set_: SetFn, n: int) -> int:
        """Before a step of ``n`` updates taken elsewhere (the ticker): apply what is due now
        and return how many of the ``n`` may be taken before the next change."""
        self.apply_due(race, set_)
        return self.clip(race, n)

    def advance(self, stream: Advancing, set_: SetFn, n: int) -> list[Stop]:
        """``stream.advance(n)``, split at the change steps, each change applied in between."""
        stops: list[Stop] = []
        race = stream.race
        target = min(race.step + n, race.max_steps)
        while race.step < target and not race.done:
            self.apply_due(race, set_)
            stops += stream.advance(self.clip(race, target - race.step))
        return stops

    def fold(self, set_: SetFn) -> None:
        """Apply every pending change now (a reset: the race restarts with the settings the
        run cards show, every change made) and forget them."""
        for c in self.pending:
            set_(c.run, c.hyper, c.schedule, c.noise)
        self.pending = []


def timeline_of(specs: Sequence[RunSpec], configs: Sequence[RunConfig], max_steps: int) -> Timeline:
    """The timeline of a ``start`` message's runs (errors name ``runs[i].changes[j]...``)."""
    changes: list[Change] = []
    for i, (spec, config) in enumerate(zip(specs, configs, strict=True)):
        try:
            changes += check_changes(config, spec.changes, max_steps)
        except FieldError as exc:
            raise exc.within(f"runs[{i}]") from None
    return Timeline(changes)
