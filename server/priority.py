"""Background threads that yield the CPU to the event loop.

Linux's scheduler shares a process's CPU time among its threads (and, with autogroup, among the
processes of one session), so a thread computing a basin map takes its time from the event loop
that paces every live session. A niceness of 10 on the worker thread only gives the event loop
thread precedence: while the event loop waits (for the GIL, the network or its timer) the worker
still gets every cycle it leaves.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

BACKGROUND_NICENESS = 10


def lower_this_thread(niceness: int = BACKGROUND_NICENESS) -> None:
    """Make the calling thread (only it) ``niceness`` steps nicer; Linux only, best effort."""
    if not sys.platform.startswith("linux"):
        return  # elsewhere setpriority would renice the whole process
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
