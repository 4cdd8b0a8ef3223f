"""The settings of the page's "Tune all" in the hash (``tune=``, static/js/tunestate.js).

``tune=trials:16,steps:500,crit:steps,tol:0.001,starts:current,second:0,lo:0.0001,hi:1``, with
``n:`` (the number of random starts) after ``starts:random``. An item left out takes the page's
default; one the page could not have written raises a FieldError naming ``tune.<item>``. The
settings do not change the race (its runs already hold the tuned values): a link keeps them so
that the tuning can be run again with the same budget and criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import FieldError
from server.export.jsvalues import js_number, read_number

MAX_TRIALS = 64
MAX_STEPS = 20_000
MAX_STARTS = 16


@dataclass(frozen=True)
class TuneState:
    """The page's TuneState (its defaults); names as POST /api/tune spells them."""

    trials: int = 16
    steps: int = 500
    criterion: str = "steps"  # or "final_loss"
    tol: float = 1e-3
    starts: str = "current"  # or "random"
    n_starts: int = 4
    second: bool = False
    lr_min: float = 1e-4
    lr_max: float = 1.0

    def to_page(self) -> dict[str, object]:
        """The state as state.js holds it (camelCase keys)."""
        return {
            "trials": self.trials,
            "steps": self.steps,
            "criterion": self.criterion,
            "tol": self.tol,
            "starts": self.starts,
            "nStarts": self.n_starts,
            "second": self.second,
            "lrMin": self.lr_min,
            "lrMax": self.lr_max,
        }


def _count(key: str, text: str, top: int) -> int:
    v = read_number(text)
    if v is None or v != int(v) or not 1 <= v <= top:
        raise FieldError(
            f"tune.{key}", f"tune.{key}: {text!r} is not a whole number from 1 to {top}"
        )
    return int(v)


def _positive(key: str, text: str) -> float:
    v = read_number(text)
    if v is None or v <= 0:
        raise FieldError(f"tune.{key}", f"tune.{key}: {text!r} is not a number above 0")
    return v


def _choice(key: str, text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise FieldError(f"tune.{key}", f"tune.{key}: {text!r} is not one of {', '.join(allowed)}")
    return text


def parse_tune(text: str) -> TuneState:
    items: dict[str, str] = {}
    for item in text.split(","):
        colon = item.find(":")
        if colon > 0:
            items[item[:colon]] = item[colon + 1 :]
    d = TuneState()
    second = items.get("second", "0")
    if second not in ("0", "1", "true", "false"):
        raise FieldError("tune.second", f"tune.second: {second!r} is not 0 or 1")
    state = TuneState(
        trials=_count("trials", items["trials"], MAX_TRIALS) if "trials" in items else d.trials,
        steps=_count("steps", items["steps"], MAX_STEPS) if "steps" in items else d.steps,
        criterion=_choice("crit", items.get("crit", d.criterion), ("steps", "final_loss")),
        tol=_positive("tol", items["tol"]) if "tol" in items else d.tol,
        starts=_choice("starts", items.get("starts", d.starts), ("current", "random")),
        n_starts=_count("n", items["n"], MAX_STARTS) if "n" in items else d.n_starts,
        second=second in ("1", "true"),
        lr_min=_positive("lo", items["lo"]) if "lo" in items else d.lr_min,
        lr_max=_positive("hi", items["hi"]) if "hi" in items else d.lr_max,
    )
    if not state.lr_min < state.lr_max:
        raise FieldError("tune.hi", f"tune.hi: {js_number(state.lr_max)} must be above lo")
    return state


def format_tune(t: TuneState) -> str:
    """``tuneCodec.write`` of tunestate.js."""
    items = [
        f"trials:{t.trials}",
        f"steps:{t.steps}",
        f"crit:{t.criterion}",
        f"tol:{js_number(t.tol)}",
        f"starts:{t.starts}",
        *([f"n:{t.n_starts}"] if t.starts == "random" else []),
        f"second:{1 if t.second else 0}",
        f"lo:{js_number(t.lr_min)}",
        f"hi:{js_number(t.lr_max)}",
    ]
    return ",".join(items)
