"""How one of our runs is written in another library: the calls, their keywords, what is set per step.

A ``Plan`` is pure data (no library is imported to build one): the runners in this package
execute it, the parity notes vary it, and the export scripts print it. Keyword names and values
are the library's own; ``ours`` names the Gradscape hyperparameter a keyword comes from.

Per-step keywords are set before update number ``t`` (1-based, ``t = k + 1`` for the update that
produces point ``k + 1``) from ``lr_t``, the rate our schedule gives that update
(``learning_rate(schedule, lr, t - 1)``). Their ``text`` is a Python expression in ``t``,
``lr_t`` and ``math`` that equals ``value(t, lr_t)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

Value = float | bool | None


@dataclass(frozen=True)
class PerStep:
    """A keyword whose value changes every update: ``value(t, lr_t)``; ``text`` says the same."""

    text: str
    value: Callable[[int, float], float] = field(compare=False)
    base: float
    """The constant it is derived from (the rate, or our ``eps``), for the notes' comparisons."""


@dataclass(frozen=True)
class Arg:
    """One keyword argument of a library call."""

    name: str
    value: Value | PerStep
    ours: str | None = None
    """Our hyperparameter it comes from; None for a setting the mapping fixes (``eps_in_sqrt``)."""

    @property
    def per_step(self) -> bool:
        return isinstance(self.value, PerStep)


@dataclass(frozen=True)
class Call:
    """One library call: ``optax.adam(...)``, ``optax.add_decayed_weights(...)``,
    ``keras.optimizers.Adam(...)``."""

    name: str
    args: tuple[Arg, ...]

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def constant_kwargs(self) -> dict[str, Value]:
        """The keywords with a fixed value (the per-step ones are left out)."""
        return {a.name: a.value for a in self.args if not isinstance(a.value, PerStep)}

    def kwargs_at(self, t: int, lr_t: float) -> dict[str, Value]:
        """Every keyword with its value for update ``t``."""
        return {
            a.name: a.value.value(t, lr_t) if isinstance(a.value, PerStep) else a.value
            for a in self.args
        }

    def with_arg(self, name: str, value: Value | PerStep) -> Call:
        """The same call with keyword ``name`` set to ``value`` (added if absent)."""
        args = tuple(replace(a, value=value) if a.name == name else a for a in self.args)
        if all(a.name != name for a in self.args):
            args = (*args, Arg(name, value))
        return replace(self, args=args)

    def without_arg(self, name: str) -> Call:
        """The same call with keyword ``name`` left to the library's default."""
        return replace(self, args=tuple(a for a in self.args if a.name != name))

    def source(self) -> str:
        """``name(k=v, ...)`` as code; per-step keywords are written as their ``text``."""
        parts = []
        for a in self.args:
            shown = a.value.text if isinstance(a.value, PerStep) else repr(a.value)
            parts.append(f"{a.name}={shown}")
        return f"{self.name}({', '.join(parts)})"


@dataclass(frozen=True)
class Plan:
    """Our optimizer ``optimizer`` with ``hyper`` as calls of ``library``.

    optax: ``calls`` are chained in order (``optax.chain`` when there are several) and the
    result's updates are added to the parameters. keras: one optimizer class; ``l2`` (our coupled
    ``weight_decay``) is added to the gradient, ``l2 * θ``, as an L2 penalty ``(l2 / 2)‖θ‖²`` in the
    loss would (``keras.regularizers.L2(l2 / 2)``), because Keras' ``weight_decay`` is decoupled.
    """

    library: str
    optimizer: str
    calls: tuple[Call, ...]
    l2: float = 0.0
    why: tuple[str, ...] = ()
    """Plain-words reasons for the mapping's less obvious choices (shown as notes)."""

    @property
    def per_step(self) -> tuple[str, ...]:
        """Names of the keywords set before every update."""
        return tuple(a.name for c in self.calls for a in c.args if a.per_step)

    def replace_call(self, index: int, call: Call) -> Plan:
        calls = list(self.calls)
        calls[index] = call
        return replace(self, calls=tuple(calls))

    def source(self) -> str:
        """The calls as one line of code (``optax.chain(...)`` for several)."""
        parts = [c.source() for c in self.calls]
        return parts[0] if len(parts) == 1 else f"optax.chain({', '.join(parts)})"


@dataclass(frozen=True)
class Unavailable:
    """No exact counterpart: ``reason`` says why in plain words."""

    reason: str


def traced(arg: Arg, static: frozenset[str] = frozenset()) -> bool:
    """Whether a runner passes ``arg`` as a traced number (a float, per-step or constant) rather
    than baking it into the compiled step (flags, ``None``, and the names in ``static``)."""
    if arg.name in static:
        return False
    return isinstance(arg.value, PerStep) or (
        isinstance(arg.value, float) and not isinstance(arg.value, bool)
    )


TRACED = "<traced>"
"""A traced value's place in a skeleton: not None, which a keyword may also be (optax.sgd's
momentum=None, its default, is another step than a traced momentum)."""


def skeleton(plan: Plan, static: frozenset[str] = frozenset()) -> tuple[object, ...]:
    """``plan`` with its traced values left out: plans with one skeleton share a compiled step."""
    return tuple(
        (c.name, tuple((a.name, TRACED if traced(a, static) else a.value) for a in c.args))
        for c in plan.calls
    )


def rate(lr: float, scheduled: bool) -> float | PerStep:
    """The ``learning_rate`` keyword: the constant ``lr``, or our schedule's rate each update."""
    if not scheduled:
        return lr
    return PerStep("lr_t", lambda t, lr_t: lr_t, lr)


def eps_hat(eps: float, beta2: float) -> PerStep:
    """Keras' ``epsilon`` that equals torch's ``eps``: Keras adds it to ``√v`` before ``v``'s bias
    correction, so ``ε̂_t = eps · √(1 − β₂ᵗ)`` gives ``√v̂_t + eps`` exactly."""
    return PerStep(
        f"{eps!r} * math.sqrt(1 - {beta2!r} ** t)",
        lambda t, lr_t: eps * math.sqrt(1.0 - beta2**t),
        eps,
    )


def eps_over_correction(eps: float, beta2: float) -> PerStep:
    """optax's ``eps`` that equals torch RAdam's: torch adds ``eps`` to ``√v`` (uncorrected),
    optax to ``√v̂``; ``eps / √(1 − β₂ᵗ)`` gives the same denominator."""
    return PerStep(
        f"{eps!r} / math.sqrt(1 - {beta2!r} ** t)",
        lambda t, lr_t: eps / math.sqrt(1.0 - beta2**t),
        eps,
    )


def signature_defaults(parameters: Mapping[str, inspect.Parameter]) -> dict[str, Value]:
    """The float, bool and None keyword defaults of a signature's parameters."""
    return {
        name: p.default
        for name, p in parameters.items()
        if p.default is not inspect.Parameter.empty
        and (p.default is None or isinstance(p.default, float | int | bool))
    }
