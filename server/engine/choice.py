"""Which execution mode advances a group: the one small decision, and the switch that turns
the compiled modes off (``GRADSCAPE_FASTPATH=off``: everything on numpy arrays)."""

from __future__ import annotations

import os
from typing import Literal

from server.engine.arrays import ArraysStepper
from server.engine.columns import ColumnsStepper
from server.engine.config import FAST_ROWS
from server.engine.rows import RowsStepper
from server.engine.stepper import Context, GroupState, Kind, Stepper
from server.fastpath import ScalarStep

Mode = Literal["auto", "arrays", "rows", "columns"]
"""``auto``: rows for groups of up to FAST_ROWS runs, columns above, arrays where the update
does not compile; any other value forces that mode wherever the update compiles."""
FASTPATH_VARIABLE = "GRADSCAPE_FASTPATH"


def default_mode() -> Mode:
    """``arrays`` when ``GRADSCAPE_FASTPATH`` is ``off`` (or 0, false, no), else ``auto``."""
    value = os.environ.get(FASTPATH_VARIABLE, "on").strip().lower()
    return "arrays" if value in {"off", "0", "false", "no"} else "auto"


def kind_for(mode: Mode, fast: ScalarStep | None, runs: int) -> Kind:
    """The mode of a group of ``runs`` runs whose compiled update is ``fast`` (None: none)."""
    if fast is None or mode == "arrays":
        return "arrays"
    if mode == "auto":
        return "rows" if runs <= FAST_ROWS else "columns"
    return mode


def stepper_for(kind: Kind, group: GroupState, ctx: Context, fast: ScalarStep | None) -> Stepper:
    if kind == "arrays" or fast is None:
        return ArraysStepper(group, ctx)
    if kind == "rows":
        return RowsStepper(group, ctx, fast)
    return ColumnsStepper(group, ctx, fast)
