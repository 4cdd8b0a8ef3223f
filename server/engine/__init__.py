"""Advance a race: a batch of optimizer runs on one problem, one step at a time.

- :mod:`.model`: the race (runs, steps, stops, live changes, reset), with no execution strategy;
- :mod:`.stepper`: the interface of an execution mode, and what the modes share;
- :mod:`.arrays`, :mod:`.rows`, :mod:`.columns`: the modes (numpy arrays; Python floats run by
  run, by code compiled from the optimizer and surface, :mod:`server.fastpath`; that code over
  numpy columns for large groups), which give the same bits;
- :mod:`.choice`: which mode a group takes (``GRADSCAPE_FASTPATH=off``: always arrays);
- :mod:`.together`: many races (live sessions) stepped together as shared columns;
- :mod:`.chunks`, :mod:`.record`: the points an advance returns, and where they are written.
"""

from server.engine.choice import FASTPATH_VARIABLE, Mode, default_mode
from server.engine.chunks import Chunk
from server.engine.config import (
    BLOCK_VALUES,
    CONVERGED_GNORM,
    CONVERGED_STEP,
    FAST_ROWS,
    RunConfig,
    RunStatus,
    StochasticProblem,
    Stop,
    Until,
)
from server.engine.model import Race
from server.engine.together import advance_together

__all__ = [
    "BLOCK_VALUES",
    "CONVERGED_GNORM",
    "CONVERGED_STEP",
    "FASTPATH_VARIABLE",
    "FAST_ROWS",
    "Chunk",
    "Mode",
    "Race",
    "RunConfig",
    "RunStatus",
    "StochasticProblem",
    "Stop",
    "Until",
    "advance_together",
    "default_mode",
]
