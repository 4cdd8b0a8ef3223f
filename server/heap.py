"""Objects that live as long as the process are kept out of the garbage collector's walks.

A full collection visits every tracked object. After start-up most of them are modules,
classes and caches that never die, and once torch is imported (a twin, a parity check) they
number in the millions: a collection during a request then costs more than the request
(``POST /api/trajectory`` for 10,000 steps took 200 ms instead of 25 ms, bench/optim_bench.py).
"""

from __future__ import annotations

import gc
import sys

_modules_when_frozen = 0


def settle() -> None:
    """Freeze what is alive now if modules were imported since the last time (cheap otherwise)."""
    global _modules_when_frozen
    if len(sys.modules) != _modules_when_frozen:
        _modules_when_frozen = len(sys.modules)
        gc.freeze()
