"""The server's memory: start-up objects kept out of the collector's walks, freed memory given back.

A full collection visits every tracked object. After start-up most of them are modules,
classes and caches that never die, and once torch is imported (a twin, a parity check) they
number in the millions: a collection during a request then costs more than the request
(``POST /api/trajectory`` for 10,000 steps took 200 ms instead of 25 ms, bench/optim_bench.py).

Sessions come and go by the thousand, each allocating and freeing many small blocks, and each
leaving reference cycles that only a full collection frees (rare here: server/__main__.py).
The C allocator keeps freed memory for reuse rather than returning it, so the server's RSS only
grew (bench/soak.py: +185 MB after 2,000 sessions); with a collection and ``malloc_trim`` when
the sessions close, +5 MB.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Callable
from typing import cast

TRIM_EVERY = 100
"""Closed sessions between trims while sessions stay open."""

_modules_when_frozen = 0
_closed_since_trim = 0
_trimming = False


def settle() -> None:
    """Freeze what is alive now if modules were imported since the last time (cheap otherwise)."""
    global _modules_when_frozen
    if len(sys.modules) != _modules_when_frozen:
        _modules_when_frozen = len(sys.modules)
        gc.freeze()


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)  # glibc only
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return cast(Callable[[int], int], trim)


_malloc_trim = _load_trim()


def session_closed(open_sessions: int) -> None:
    """Called as a session ends: trim when none is left, or after every ``TRIM_EVERY``."""
    global _closed_since_trim, _trimming
    _closed_since_trim += 1
    if _malloc_trim is None or _trimming:
        return
    if open_sessions and _closed_since_trim < TRIM_EVERY:
        return
    _closed_since_trim, _trimming = 0, True
    asyncio.get_running_loop().run_in_executor(None, _trim)


def _trim() -> None:
    global _trimming
    try:
        gc.collect()  # a session's reference cycles wait for a full collection
        assert _malloc_trim is not None
        _malloc_trim(0)
    finally:
        _trimming = False
